"""Section I of the protocol contract: errors (ERR), for the errors and responses checked so far."""

from __future__ import annotations

import pytest

from conformance.expect import answered, check, not_applicable
from conformance.requests import ENDPOINTS, captured_headers, message_body
from conformance.shapes import error_envelope_problems, json_problems

# What a 2xx on each API path must be (ERR-6 check a).
API_RESPONSE_SCHEMA = {"messages": "message", "count_tokens": "count_tokens", "models": "models_page"}


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
