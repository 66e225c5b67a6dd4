"""Section B of the protocol contract: authentication (AUTH)."""

from __future__ import annotations

import secrets

import pytest

from conformance.client import CLAUDE_CODE_VARIABLE, credential_headers
from conformance.expect import answered, check, fail, not_applicable
from conformance.requests import COUNT_TOKENS_PATH, DISCOVERY_PATH, MESSAGES_PATH, captured_headers, count_tokens_body, message_body

WRONG_KEY = "cgc-wrong-" + secrets.token_hex(8)  # a credential no gateway issued


def send_message(gateway, model, marker, credentials, label):
    return gateway.send("POST", MESSAGES_PATH, headers=captured_headers("messages"), body=message_body(model, marker),
                        credentials=credentials, label=label)


@pytest.mark.req("AUTH-1")
def test_declared_credential_header_accepted(gateway, auth, model, marker):
    if not auth.declared:
        fail("AUTH-1", f"the valid key was refused in both headers (probe statuses {auth.probe_statuses})",
             "HTTP 200 with the valid key in Authorization: Bearer or in x-api-key")
    for header in auth.declared:
        exchange = answered(send_message(gateway, model, marker, header, f"valid key in {header} alone"), "AUTH-1")
        check(exchange.status == 200, "AUTH-1", f"valid key in {header} (the header this gateway reads) answered {exchange.summary()}",
              f"HTTP 200 with the valid key in {header}")


@pytest.mark.req("AUTH-1")
def test_same_key_in_both_headers_accepted(gateway, model, marker):
    # apiKeyHelper sends its value in both headers at once (connect#rotate-credentials-with-apikeyhelper).
    exchange = answered(send_message(gateway, model, marker, "both", "same valid key in both headers"), "AUTH-1")
    check(exchange.status == 200, "AUTH-1", f"the same valid key in Authorization: Bearer and x-api-key answered {exchange.summary()}",
          "HTTP 200 when both headers carry the same valid key (what apiKeyHelper sends)")


@pytest.mark.req("AUTH-9")
@pytest.mark.parametrize("header", ["bearer", "x-api-key"])
def test_credential_accepted_in_either_header_alone(gateway, model, marker, header):
    exchange = answered(send_message(gateway, model, marker, header, f"valid key in {header} alone"), "AUTH-9")
    check(exchange.status == 200, "AUTH-9",
          f"the valid key in {header} alone answered {exchange.summary()}: developers who set "
          f"{CLAUDE_CODE_VARIABLE[header]} are refused", f"HTTP 200 with the valid key in {header} alone")


@pytest.mark.req("AUTH-2")
@pytest.mark.parametrize("valid_in", ["bearer", "x-api-key"])
def test_conflicting_credentials_resolved(gateway, auth, model, marker, valid_in):
    if valid_in == "bearer":
        headers = credential_headers("both", gateway.token, other_key=WRONG_KEY)
    else:
        headers = credential_headers("both", WRONG_KEY, other_key=gateway.token)
    exchange = answered(send_message(gateway, model, marker, headers, f"valid key in {valid_in}, another value in the other header"), "AUTH-2")
    if exchange.status == 200:
        return
    observed = f"valid key in {valid_in} with a different value in the other header answered {exchange.summary()}"
    if exchange.status == 400 or exchange.status >= 500:
        fail("AUTH-2", observed + " (the worst form: rejected merely because both headers are present)")
    documented_winner = auth.declared[0] if len(auth.declared) == 1 else None
    check(exchange.status == 401 and documented_winner is not None and valid_in != documented_winner, "AUTH-2", observed,
          "HTTP 200, or 401 only when the valid key sits in the header the gateway does not read")


def _auth3_endpoints(endpoints):
    return {
        "messages": ("POST", MESSAGES_PATH, "messages", message_body, True, ""),
        "count_tokens": ("POST", COUNT_TOKENS_PATH, "count_tokens", count_tokens_body, endpoints.count_tokens_served,
                         "count_tokens is not served"),
        "models": ("GET", DISCOVERY_PATH, "discovery", None, endpoints.models_authenticated,
                   "/v1/models is not served" if not endpoints.models_served else "/v1/models is served without a credential (AUTH-4 allows it)"),
    }


@pytest.mark.req("AUTH-3")
@pytest.mark.parametrize("credential", ["missing", "wrong"])
@pytest.mark.parametrize("endpoint", ["messages", "count_tokens", "models"])
def test_bad_credential_gets_401(gateway, auth, endpoints, model, marker, endpoint, credential):
    method, path, headers, build, applies, why_not = _auth3_endpoints(endpoints)[endpoint]
    if not applies:
        not_applicable(why_not)
    credentials = "none" if credential == "missing" else credential_headers(auth.mode, WRONG_KEY)
    exchange = answered(gateway.send(method, path, headers=captured_headers(headers), body=build(model, marker) if build else None,
                                     credentials=credentials, label=f"{credential} credential"), "AUTH-3")
    check(exchange.status == 401, "AUTH-3", f"{method} {path} with a {credential} credential answered {exchange.summary()}",
          "HTTP 401 (not 400, 403, 404, 5xx, and never 200)")
