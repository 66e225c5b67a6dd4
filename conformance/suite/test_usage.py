"""Section J of the protocol contract: usage figures (ATTR-2). Claude Code's cost display, token
telemetry and context view read `usage`; the upstream's figures must reach it unchanged."""

from __future__ import annotations

import pytest

from conformance.expect import answered, check
from conformance.forwarding import side_by_side
from conformance.requests import message_body
from conformance.streaming import stream_through
from conformance.upstream.streams import fixture_message, message_script, upstream_events


def usages(datas):
    """(where, usage) for message_start and every message_delta, in order."""
    found = []
    for data in datas:
        if data["type"] == "message_start":
            found.append(("message_start.message.usage", data.get("message", {}).get("usage")))
        elif data["type"] == "message_delta":
            found.append(("message_delta.usage", data.get("usage")))
    return found


@pytest.mark.req("ATTR-2")
def test_stream_usage_is_relayed_unchanged(gateway, upstream, model, evidence):
    _, stream = stream_through(gateway, upstream, model, "thinking_text_tool")
    answered(stream.exchange, "ATTR-2")
    sent, received = usages(upstream_events("thinking_text_tool")), usages(stream.datas)
    evidence.add("usage in the stream: upstream -> client", side_by_side(
        [(where, str(u), str(received[i][1]) if i < len(received) else None) for i, (where, u) in enumerate(sent)]))
    check(received == sent, "ATTR-2", f"the upstream's usage frames {sent} reached the client as {received}",
          "usage in message_start and every message_delta relayed unchanged, cache fields included")


@pytest.mark.req("ATTR-2")
def test_message_usage_is_relayed_unchanged(gateway, upstream, model):
    scenario = upstream.scenario(message_script("complete_blocks"))
    exchange = answered(gateway.post_messages(message_body(model, scenario.marker)), "ATTR-2")
    sent = fixture_message("complete_blocks")["usage"]
    body = exchange.json()
    received = body.get("usage") if isinstance(body, dict) else None
    check(received == sent, "ATTR-2", f"the upstream's usage {sent} reached the client as {received}",
          "the Message's usage relayed unchanged, cache fields included")
