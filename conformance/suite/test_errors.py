"""Section I of the protocol contract: errors (ERR), for the errors and responses checked so far."""

from __future__ import annotations

import pytest

from conformance.expect import answered, check, not_applicable
from conformance.requests import COUNT_TOKENS_PATH, DISCOVERY_PATH, MESSAGES_PATH, captured_headers, count_tokens_body, message_body
from conformance.shapes import error_envelope_problems, json_problems

# What a 2xx on each API path must be (ERR-6 check a).
API_RESPONSES = {
    "messages": ("POST", MESSAGES_PATH, "messages", message_body, "message"),
    "count_tokens": ("POST", COUNT_TOKENS_PATH, "count_tokens", count_tokens_body, "count_tokens"),
    "models": ("GET", DISCOVERY_PATH, "discovery", None, "models_page"),
}


@pytest.mark.req("ERR-6")
@pytest.mark.parametrize("endpoint", list(API_RESPONSES))
def test_success_status_carries_api_response(gateway, model, marker, endpoint):
    method, path, headers, build, schema_name = API_RESPONSES[endpoint]
    exchange = answered(gateway.send(method, path, headers=captured_headers(headers), body=build(model, marker) if build else None), "ERR-6")
    if not 200 <= exchange.status < 300:
        not_applicable(f"{path} answered HTTP {exchange.status}, not a 2xx; this check is about 2xx bodies")
    problems = json_problems(exchange, schema_name)
    check(not problems, "ERR-6", f"{method} {path} answered {exchange.summary()}; {problems[0] if problems else ''}",
          f"a 2xx on {path} carries the API response ({schema_name.replace('_', ' ')})")


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
    exchange = answered(gateway.send("POST", MESSAGES_PATH, headers=captured_headers("messages"), body=body), "ERR-6")
    check(scenario.requests and exchange.status == 200, "ERR-6",
          f"a request whose tool_result holds script/XML/SQL-like text answered {exchange.summary()}; "
          f"the upstream received {len(scenario.requests)} request(s)",
          "the request reaches the upstream and its answer is relayed (no body-inspection block)")


GATEWAY_ERRORS = {
    "missing credential": ("POST", MESSAGES_PATH, "none"),
    "unknown path": ("POST", "/v1/no-such-endpoint", "default"),
}


@pytest.mark.req("ERR-2")
@pytest.mark.parametrize("case", list(GATEWAY_ERRORS))
def test_gateway_error_uses_anthropic_envelope(gateway, model, marker, case):
    method, path, credentials = GATEWAY_ERRORS[case]
    exchange = answered(gateway.send(method, path, headers=captured_headers("messages"), body=message_body(model, marker),
                                     credentials=credentials, label=case), "ERR-2")
    if exchange.status < 400:
        not_applicable(f"{case}: the gateway answered HTTP {exchange.status}, not an error of its own")
    problems = error_envelope_problems(exchange)
    check(not problems, "ERR-2", f"{case}: {exchange.summary()}; {problems[0] if problems else ''}",
          "an error body {\"type\":\"error\",\"error\":{\"type\":...,\"message\":...}} with the type matching the status")
