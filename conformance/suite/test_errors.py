"""Section I of the protocol contract: errors and retries (ERR)."""

from __future__ import annotations

import json

import pytest

from conformance.expect import answered, check, not_applicable
from conformance.requests import ENDPOINTS, captured_headers, message_body
from conformance.forwarding import side_by_side
from conformance.shapes import error_envelope_problems, json_problems
from conformance.upstream import json_script

# What a 2xx on each API path must be (ERR-6 check a).
API_RESPONSE_SCHEMA = {"messages": "message", "count_tokens": "count_tokens", "models": "models_page"}

BEDROCK_TOO_LONG = "Input is too long for requested model."  # recognised by Claude Code 2.1.217+ (spec ERR-3)


@pytest.mark.req("ERR-6")
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_success_status_carries_api_response(gateway, model, marker, endpoint):
    exchange = answered(gateway.call(endpoint, model, marker), "ERR-6")
    if not 200 <= exchange.status < 300:
        not_applicable(f"{exchange.url} answered HTTP {exchange.status}, not a 2xx; this check is about 2xx bodies")
    problems = json_problems(exchange, API_RESPONSE_SCHEMA[endpoint])
    check(not problems, "ERR-6", f"{exchange.method} {exchange.url} answered {exchange.summary()}; {'; '.join(problems)}",
          f"a 2xx on the {endpoint} endpoint carries its API response ({API_RESPONSE_SCHEMA[endpoint].replace('_', ' ')})")


INSPECTION_BAIT = "<script>alert(1)</script> <?xml version=\"1.0\"?><a onerror=\"x\"> ' OR 1=1 -- ; cat /etc/passwd"


@pytest.mark.req("ERR-6")
def test_body_inspection_does_not_block_messages(gateway, upstream, model):
    # Real sessions carry code and XML-like tags in tool results; WAF body rules block them (rollout#gateway-requirements).
    scenario = upstream.scenario()
    body = message_body(model, scenario.marker)
    body["messages"] = [
        {"role": "user", "content": "run it"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_cgc1", "name": "Bash", "input": {"command": "cat page.html"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_cgc1", "content": INSPECTION_BAIT},
                                     {"type": "text", "text": scenario.marker}]},
    ]
    exchange = answered(gateway.post_messages(body), "ERR-6")
    check(scenario.requests and exchange.status == 200, "ERR-6",
          f"a request whose tool_result holds script/XML/SQL-like text answered {exchange.summary()}; "
          f"the upstream received {len(scenario.requests)} request(s)",
          "the request reaches the upstream and its answer is relayed (no body-inspection block)")


@pytest.mark.req("ERR-2")
@pytest.mark.parametrize("case", ["missing credential", "unknown path"])
def test_gateway_error_uses_anthropic_envelope(gateway, model, marker, case):
    if case == "missing credential":
        exchange = gateway.call("messages", model, marker, credentials="none", label=case)
    else:
        exchange = gateway.send("POST", "/v1/no-such-endpoint", headers=captured_headers("messages"),
                                body=message_body(model, marker), label=case)
    answered(exchange, "ERR-2")
    if exchange.status < 400:
        not_applicable(f"{case}: the gateway answered HTTP {exchange.status}, not an error of its own")
    problems = error_envelope_problems(exchange)
    check(not problems, "ERR-2", f"{case}: {exchange.summary()}; {'; '.join(problems)}",
          "an error body {\"type\":\"error\",\"error\":{\"type\":...,\"message\":...}} with the type matching the status")


# ---------------------------------------------------------------- errors the upstream sends (relayed)

UPSTREAM_ERRORS = {
    400: ("invalid_request_error", "messages.0: conformance probe 400 (relay me unchanged)"),
    404: ("not_found_error", "model: conformance probe 404"),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes (conformance probe)"),
    429: ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit (conformance probe)"),
    500: ("api_error", "Internal server error (conformance probe)"),
    529: ("overloaded_error", "Overloaded (conformance probe)"),
}
RELAYED_HEADERS = (("request-id", "req_cgc_0123456789"), ("retry-after", "3"),
                   ("anthropic-ratelimit-requests-limit", "50"), ("anthropic-ratelimit-requests-remaining", "0"),
                   ("anthropic-ratelimit-requests-reset", "2026-11-26T12:00:03Z"))


def upstream_error(upstream, status: int, message: str | None = None, error_type: str | None = None, headers=RELAYED_HEADERS):
    default_type, default_message = UPSTREAM_ERRORS.get(status, ("invalid_request_error", "conformance probe"))
    body = {"type": "error", "error": {"type": error_type or default_type, "message": message or default_message},
            "request_id": "req_cgc_0123456789"}
    return upstream.scenario(json_script(body, status=status, headers=headers)), body


def relayed_error(gateway, upstream, model, requirement, status, message=None):
    scenario, body = upstream_error(upstream, status, message)
    exchange = answered(gateway.post_messages(message_body(model, scenario.marker)), requirement)
    check(scenario.requests, requirement, f"the request never reached the upstream; the gateway answered {exchange.summary(200)}")
    return scenario, body, exchange


@pytest.mark.req("ERR-1")
@pytest.mark.parametrize("status", list(UPSTREAM_ERRORS))
def test_upstream_error_is_relayed_with_same_status_and_body(gateway, upstream, model, status):
    scenario, body, exchange = relayed_error(gateway, upstream, model, "ERR-1", status)
    sent = json.dumps(body, separators=(",", ":")).encode()
    check(exchange.status == status and exchange.body == sent, "ERR-1",
          f"the upstream answered HTTP {status} {sent.decode()!r}; the client received {exchange.summary(400)}",
          "the upstream's status and body bytes relayed unchanged (Claude Code's recovery reads the wording)")


@pytest.mark.req("ERR-3")
def test_context_limit_error_keeps_its_wording(gateway, upstream, model):
    wording = "prompt is too long: 215692 tokens > 200000 maximum"
    _, _, exchange = relayed_error(gateway, upstream, model, "ERR-3", 400, wording)
    body = exchange.json()
    message = body.get("error", {}).get("message", "") if isinstance(body, dict) and isinstance(body.get("error"), dict) else ""
    # Claude Code 2.1.217+ also recognises Bedrock's own wording (what a Bedrock upstream says).
    check(exchange.status == 400 and ("prompt is too long" in message or message.startswith(BEDROCK_TOO_LONG)), "ERR-3",
          f"the upstream said {wording!r}; the client received {exchange.summary(300)}",
          "the context-limit error reaches the client with its wording, or Bedrock's 'Input is too long for requested "
          "model.' (Claude Code compacts and retries on either)")


@pytest.mark.req("ERR-4")
def test_capability_rejection_keeps_its_wording(gateway, upstream, model):
    wording = "messages.1.content.0: Invalid `signature` in `thinking` block"
    _, _, exchange = relayed_error(gateway, upstream, model, "ERR-4", 400, wording)
    body = exchange.json()
    message = body.get("error", {}).get("message") if isinstance(body, dict) and isinstance(body.get("error"), dict) else None
    check(exchange.status == 400 and message is not None and wording in message, "ERR-4",
          f"the upstream said {wording!r}; the client received {exchange.summary(300)}",
          "capability rejections relayed word for word (Claude Code disables the capability and retries)")


@pytest.mark.req("ERR-7")
def test_unrouted_model_gets_404(gateway, upstream):
    # The upstream answers an unknown model as the API does; a gateway may also refuse it itself.
    scenario, _ = upstream_error(upstream, 404, "model: claude-nonexistent-conformance-9", headers=())
    exchange = answered(gateway.post_messages(message_body("claude-nonexistent-conformance-9", scenario.marker)), "ERR-7")
    check(exchange.status == 404, "ERR-7", f"model 'claude-nonexistent-conformance-9' answered {exchange.summary(200)}",
          "HTTP 404 for a model name the gateway does not route")


@pytest.mark.req("ERR-9")
@pytest.mark.parametrize("status", [429, 200])
def test_rate_limit_and_request_id_headers_are_relayed(gateway, upstream, model, evidence, status):
    if status == 200:
        scenario = upstream.scenario(json_script({"id": "msg_cgc_h", "type": "message", "role": "assistant", "model": model,
                                                  "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn",
                                                  "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}},
                                                 headers=RELAYED_HEADERS[:1] + RELAYED_HEADERS[2:]))
        expected = RELAYED_HEADERS[:1] + RELAYED_HEADERS[2:]
    else:
        scenario, _ = upstream_error(upstream, 429)
        expected = RELAYED_HEADERS
    exchange = answered(gateway.post_messages(message_body(model, scenario.marker)), "ERR-9")
    rows = [(name, value, exchange.header(name)) for name, value in expected]
    evidence.add(f"response headers on HTTP {status}: upstream -> client", side_by_side(rows))
    lost = [name for name, value, got in rows if got != value]
    check(not lost, "ERR-9", f"on HTTP {status} the upstream sent {dict(expected)}; the client did not get {lost} unchanged "
          f"({[(n, g) for n, v, g in rows if g != v]})", "request-id, retry-after and anthropic-ratelimit-* relayed")
