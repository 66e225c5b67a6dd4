"""Section D of the protocol contract: the non-streaming response (MSG)."""

from __future__ import annotations

import pytest

from conformance.expect import answered, check
from conformance.requests import captured_headers, message_body, with_header
from conformance.shapes import json_problems


@pytest.mark.req("MSG-1")
def test_non_streaming_request_gets_message(gateway, model, marker):
    # The non-streaming fallback: Claude Code's request with stream:false and X-Stainless-Timeout 300 (capture c).
    headers = with_header(captured_headers("messages"), "X-Stainless-Timeout", "300")
    exchange = answered(gateway.post_messages(message_body(model, marker), headers=headers), "MSG-1")
    problems = json_problems(exchange, "message") if exchange.status == 200 else [f"status {exchange.status}"]
    check(not problems, "MSG-1", f"{exchange.summary()}; problems: {'; '.join(problems)}",
          "HTTP 200 with a Message: id, type \"message\", role \"assistant\", content[], model, stop_reason, stop_sequence, usage")
