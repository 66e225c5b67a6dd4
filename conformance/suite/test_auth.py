"""Section B of the protocol contract: authentication (AUTH)."""

from __future__ import annotations

import secrets

import pytest

from conformance.client import CLAUDE_CODE_VARIABLE, credential_headers
from conformance.expect import answered, check, fail, not_applicable
from conformance.requests import ENDPOINTS, message_body

WRONG_KEY = "cgc-wrong-" + secrets.token_hex(8)  # a credential no gateway issued


@pytest.mark.req("AUTH-1")
def test_declared_credential_header_accepted(gateway, auth, model, marker):
    if not auth.declared:
        fail("AUTH-1", f"the valid key was refused in both headers (probe statuses {auth.probe_statuses})",
             "HTTP 200 with the valid key in Authorization: Bearer or in x-api-key")
    for header in auth.declared:
        exchange = answered(gateway.call("messages", model, marker, credentials=header, label=f"valid key in {header} alone"), "AUTH-1")
        check(exchange.status == 200, "AUTH-1", f"valid key in {header} (the header this gateway reads) answered {exchange.summary()}",
              f"HTTP 200 with the valid key in {header}")


@pytest.mark.req("AUTH-1")
def test_same_key_in_both_headers_accepted(gateway, model, marker):
    # apiKeyHelper sends its value in both headers at once (connect#rotate-credentials-with-apikeyhelper).
    exchange = answered(gateway.call("messages", model, marker, credentials="both", label="same valid key in both headers"), "AUTH-1")
    check(exchange.status == 200, "AUTH-1", f"the same valid key in Authorization: Bearer and x-api-key answered {exchange.summary()}",
          "HTTP 200 when both headers carry the same valid key (what apiKeyHelper sends)")


@pytest.mark.req("AUTH-9")
@pytest.mark.parametrize("header", ["bearer", "x-api-key"])
def test_credential_accepted_in_either_header_alone(gateway, model, marker, header):
    exchange = answered(gateway.call("messages", model, marker, credentials=header, label=f"valid key in {header} alone"), "AUTH-9")
    check(exchange.status == 200, "AUTH-9",
          f"the valid key in {header} alone answered {exchange.summary()}: developers who set "
          f"{CLAUDE_CODE_VARIABLE[header]} are refused", f"HTTP 200 with the valid key in {header} alone")


@pytest.mark.req("AUTH-2")
@pytest.mark.parametrize("valid_in", ["bearer", "x-api-key"])
def test_conflicting_credentials_resolved(gateway, auth, model, marker, valid_in):
    # Both ANTHROPIC_AUTH_TOKEN and ANTHROPIC_API_KEY set: both headers, different values (capture a2).
    if valid_in == "bearer":
        headers = credential_headers("both", gateway.token, other_key=WRONG_KEY)
    else:
        headers = credential_headers("both", WRONG_KEY, other_key=gateway.token)
    exchange = answered(gateway.post_messages(message_body(model, marker), credentials=headers,
                                              label=f"valid key in {valid_in}, another value in the other header"), "AUTH-2")
    if exchange.status == 200:
        return
    observed = f"valid key in {valid_in} with a different value in the other header answered {exchange.summary()}"
    if exchange.status == 400 or exchange.status >= 500:
        fail("AUTH-2", observed + " (the worst form: rejected merely because both headers are present)")
    documented_winner = auth.declared[0] if len(auth.declared) == 1 else None
    check(exchange.status == 401 and documented_winner is not None and valid_in != documented_winner, "AUTH-2", observed,
          "HTTP 200, or 401 only when the valid key sits in the header the gateway does not read")


def why_not_authenticated(endpoint, endpoints) -> str:
    """Empty when AUTH-3 applies to the endpoint, else the reason it does not."""
    if endpoint == "count_tokens" and not endpoints.count_tokens_served:
        return "count_tokens is not served"
    if endpoint == "models" and not endpoints.models_served:
        return "/v1/models is not served"
    if endpoint == "models" and not endpoints.models_authenticated:
        return "/v1/models is served without a credential (AUTH-4 allows it)"
    return ""


@pytest.mark.req("AUTH-3")
@pytest.mark.parametrize("credential", ["missing", "wrong"])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_bad_credential_gets_401(gateway, auth, endpoints, model, marker, endpoint, credential):
    if reason := why_not_authenticated(endpoint, endpoints):
        not_applicable(reason)
    credentials = "none" if credential == "missing" else credential_headers(auth.mode, WRONG_KEY)
    exchange = answered(gateway.call(endpoint, model, marker, credentials=credentials, label=f"{credential} credential"), "AUTH-3")
    check(exchange.status == 401, "AUTH-3", f"{exchange.method} {exchange.url} with a {credential} credential answered {exchange.summary()}",
          "HTTP 401 (not 400, 403, 404, 5xx, and never 200)")
