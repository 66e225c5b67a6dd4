"""Section H of the protocol contract: token counting (TOK).

`POST {base}/v1/messages/count_tokens?beta=true` is optional: a gateway that answers 404 (or 501) has
TOK-2 and TOK-5 not applicable. Served, it must return a real count: Claude Code's /context view and,
by some accounts, its auto-compaction read it.
"""

from __future__ import annotations

import pytest

from conformance.expect import answered, check, not_applicable
from conformance.requests import count_tokens_body
from conformance.shapes import json_problems
from conformance.upstream import json_script
from conformance.target import NOT_SERVED_STATUSES

# ~10 tokens and ~10,000 tokens of input (FAIL-13's check).
SMALL_TEXT = "Count the tokens in this short sentence."
LARGE_TEXT = "The quick brown fox jumps over the lazy dog. " * 1000
DISTINCTIVE_COUNT = 4242  # what the recording upstream answers in TOK-5's scenario


def served_count(gateway, endpoints, model, marker, text, requirement):
    if not endpoints.count_tokens_served:
        not_applicable(f"count_tokens is not served (HTTP {endpoints.count_tokens_status}); it is optional (PATH-3)")
    exchange = answered(gateway.post_count_tokens(count_tokens_body(model, marker, text), label=f"count_tokens, {len(text)} characters"),
                        requirement)
    return exchange


@pytest.mark.req("TOK-2")
def test_count_tokens_returns_a_positive_integer(gateway, endpoints, model, marker):
    exchange = served_count(gateway, endpoints, model, marker, SMALL_TEXT, "TOK-2")
    problems = json_problems(exchange, "count_tokens") if exchange.status == 200 else [f"HTTP {exchange.status}"]
    check(not problems and exchange.json()["input_tokens"] > 0, "TOK-2", f"{exchange.summary(200)} {'; '.join(problems)}",
          "HTTP 200 with {\"input_tokens\": <integer > 0>}")


@pytest.mark.req("TOK-3")
def test_count_grows_with_input_and_is_never_zero(gateway, endpoints, model, marker):
    if not endpoints.count_tokens_served:
        check(endpoints.count_tokens_status in NOT_SERVED_STATUSES, "TOK-3", f"count_tokens answered HTTP {endpoints.count_tokens_status}")
        not_applicable(f"count_tokens is not served (HTTP {endpoints.count_tokens_status})")
    counts = []
    for text in (SMALL_TEXT, LARGE_TEXT):
        exchange = served_count(gateway, endpoints, model, marker, text, "TOK-3")
        body = exchange.json()
        counts.append(body.get("input_tokens") if exchange.status == 200 and isinstance(body, dict) else None)
    check(all(isinstance(c, int) and c > 0 for c in counts) and counts[1] > counts[0], "TOK-3",
          f"a ~10-token input counted {counts[0]} and a ~10,000-token input counted {counts[1]}",
          "both counts above zero, the larger input counting more (never a constant or zero)")


@pytest.mark.req("TOK-5")
def test_upstream_count_is_returned_unchanged(gateway, endpoints, upstream, model, measurements):
    scenario = upstream.scenario(json_script({"input_tokens": DISTINCTIVE_COUNT}))
    exchange = served_count(gateway, endpoints, model, scenario.marker, SMALL_TEXT, "TOK-5")
    body = exchange.json()
    returned = body.get("input_tokens") if isinstance(body, dict) else None
    if not scenario.requests:
        measurements["count_tokens"] = f"local estimate: the gateway answered {returned} without asking the upstream"
        not_applicable(f"the gateway counts locally (answered {returned}; the upstream was never asked)")
    arrived_at = scenario.requests[0].path
    check(scenario.requests[0].kind == "count_tokens", "TOK-5", f"the gateway forwarded count_tokens to the upstream's {arrived_at}",
          "count_tokens forwarded to the upstream's count_tokens endpoint")
    check(returned == DISTINCTIVE_COUNT, "TOK-5", f"the upstream counted {DISTINCTIVE_COUNT}; the gateway returned {exchange.summary(200)}",
          "the upstream's input_tokens returned unchanged")
