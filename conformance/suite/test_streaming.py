"""Section C of the protocol contract: streaming and SSE (SSE), and section D's MSG-2.

Every stream is scripted on the recording upstream from fixtures/streams/ and sent through the
gateway with Claude Code's real headers. Times on both sides come from one monotonic clock, and the
margins are seconds wide, so a loaded machine does not flip a verdict.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from conformance.expect import answered, check, fail
from conformance.formats.base import OTHER
from conformance.overlap import overlapping
from conformance.requests import captured_headers, message_body, with_header
from conformance.shapes import json_problems, schema_problems
from conformance.streaming import longest_pause, order_problems, stream_through
from conformance.upstream import Event
from conformance.upstream.streams import fixture_message, message_script, stream_script, upstream_events

# SSE-1: the first delta must reach the client at least this long before the upstream sent its last.
BUFFERING_MARGIN_S = 1.0
# SSE-4: a keep-alive-only gap may grow by at most this much on its way through the gateway. Two seconds: a gateway
# process starved for a second on a loaded 2-core machine must not fail, and a dropped or buffered keep-alive still
# leaves the client the whole 6.5 s phase without a byte.
KEEPALIVE_MARGIN_S = 2.0


def streamed(gateway, upstream, model, name, requirement):
    return judged_stream(*stream_through(gateway, upstream, model, name), requirement)


def judged_stream(scenario, stream, requirement):
    """Fail the requirement when the streamed request got no HTTP 200 at all."""
    answered(stream.exchange, requirement)
    check(stream.exchange.status == 200, requirement, f"the streamed request answered {stream.exchange.summary()}",
          "HTTP 200 with an SSE stream")
    return scenario, stream


# The two tests with long deliberate waits: their exchanges start with the run (conformance.overlap).
@overlapping("paced-text", timed=True)
def paced_text_exchange(job):
    return stream_through(job.gateway(), job.upstream(), job.model, "paced_text")


@overlapping("keep-alives", timed=True)
def keepalive_exchanges(job):
    # The ping run and the comment run play at once: the verdict compares gaps, and this halves the wait.
    gateway, upstream = job.gateway(), job.upstream()
    provider = upstream.recorder.format
    # A provider whose stream is not SSE (Bedrock's event-stream) has no comment lines to keep alive with.
    kinds = ["pings", "comments"] if provider is None or provider.carries_comments else ["pings"]
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda kind: (kind, *stream_through(gateway, upstream, job.model, f"keepalive_{kind}")), kinds))


def is_text_delta(data):
    return data["type"] == "content_block_delta" and data.get("delta", {}).get("type") == "text_delta"


@pytest.mark.req("SSE-1")
@pytest.mark.overlapping("paced-text")
def test_first_delta_arrives_before_upstream_sends_last(overlapped, measurements):
    scenario, stream = judged_stream(*overlapped("paced-text"), "SSE-1")
    sent = [t for t, _, step in scenario.log.sent if isinstance(step, Event) and is_text_delta(step.data)]
    first_received = stream.first_arrival(is_text_delta)
    expected = [step for step in scenario.script.steps if isinstance(step, Event) and is_text_delta(step.data)]
    received = [d for d in stream.datas if is_text_delta(d)]
    if len(received) < len(expected) and stream.closed_early():
        # Buffering cannot be measured on a stream that was cut: what the client saw is SSE-10's failure.
        fail("SSE-10", f"{stream.closed_early()}; {len(received)} of the {len(expected)} text deltas arrived, so buffering "
             "(SSE-1) could not be measured", "the gateway relays until message_stop, then ends the response")
    if first_received is None:
        fail("SSE-1", f"no text_delta event reached the client ({len(stream.events)} events parsed; {stream.exchange.summary(120)})")
    started = stream.exchange.started_at
    measurements["time to first byte of a stream through the gateway"] = f"{stream.exchange.headers_at - started:.3f} s"
    measurements["first text delta: upstream sent → client received"] = f"{first_received - sent[0]:.3f} s"
    lead = sent[-1] - first_received
    check(lead >= BUFFERING_MARGIN_S, "SSE-1",
          f"the upstream sent 6 text deltas over {sent[-1] - sent[0]:.1f} s (with a 2 s pause); the first reached the client "
          f"{first_received - sent[0]:.2f} s after the upstream sent it, {-lead:.2f} s after the upstream sent the last one",
          f"the first delta reaches the client at least {BUFFERING_MARGIN_S:g} s before the upstream sends its last (no buffering)")


@pytest.mark.req("SSE-2")
def test_every_event_is_named_after_its_type(gateway, upstream, model):
    _, stream = streamed(gateway, upstream, model, "thinking_text_tool", "SSE-2")
    content_type = stream.exchange.content_type
    check(content_type == "text/event-stream", "SSE-2", f"the stream was served as {content_type or 'no content type'}",
          "Content-Type: text/event-stream")
    check(stream.events, "SSE-2", f"no SSE event could be parsed from {stream.exchange.summary()}")
    for event in stream.events:
        if event.event is None and event.data.strip() == "[DONE]":
            continue  # judged by SSE-13
        data = event.json()
        name = data.get("type") if isinstance(data, dict) else None
        check(event.event is not None and event.event == name, "SSE-2",
              f"event {event.raw[:160]!r} has event name {event.event!r} and data type {name!r}",
              "every event carries an event: field equal to the type in its JSON data (the SDK drops unnamed events)")


@pytest.mark.req("SSE-13")
def test_no_done_sentinel(gateway, upstream, model):
    _, stream = streamed(gateway, upstream, model, "thinking_text_tool", "SSE-13")
    sentinels = [e for e in stream.events if e.data.strip() == "[DONE]"]
    check(not sentinels, "SSE-13", f"the stream carries {len(sentinels)} data: [DONE] event(s)", "the stream ends with message_stop only")


@pytest.mark.req("SSE-3")
def test_events_arrive_in_protocol_order(gateway, upstream, model):
    _, stream = streamed(gateway, upstream, model, "thinking_text_tool", "SSE-3")
    problems = order_problems(stream.datas)
    check(not problems, "SSE-3", "; ".join(problems) + f" (types received: {[d['type'] for d in stream.datas]})",
          "message_start, then each block's start, deltas and stop with matching indexes, then message_delta, then message_stop")


def keepalive_problem(scenario, stream, keepalive: str) -> str:
    """Empty if keep-alive traffic kept reaching the client during the upstream's keep-alive-only phase."""
    interval = longest_pause(scenario.script)
    phase = [t for t, _, step in scenario.log.sent if isinstance(step, Event) and step.data["type"] in ("message_start", "content_block_delta")]
    phase_end = stream.first_arrival(is_text_delta)
    if len(phase) < 2 or phase_end is None:
        return (f"{keepalive}: the stream did not deliver the text that follows the keep-alive phase "
                f"({stream.ending() or stream.exchange.summary(200)})")
    # From the moment the upstream started the phase until the client got the text that ends it. The allowance is the
    # longest gap between the upstream's own sends in the phase (never less than the scripted interval): a late
    # upstream on a busy machine is not the gateway's doing.
    longest = max(stream.read_gaps(phase[0], phase_end))
    sent = [t for t, _, _ in scenario.log.sent if phase[0] <= t <= phase[1]]
    upstream_gap = max([b - a for a, b in zip(sent, sent[1:])] + [interval])
    if longest > upstream_gap + KEEPALIVE_MARGIN_S:
        return (f"{keepalive}: during the {phase[1] - phase[0]:.1f} s in which the upstream sent only {keepalive} every "
                f"{interval:g} s, the client saw {longest:.1f} s without a byte")
    return ""  # how the stream ends afterwards is SSE-10's check


@pytest.mark.req("SSE-4")
@pytest.mark.overlapping("keep-alives")
def test_keepalive_traffic_keeps_reaching_the_client(overlapped):
    runs = [(kind, *judged_stream(scenario, stream, "SSE-4")) for kind, scenario, stream in overlapped("keep-alives")]
    for kind, scenario, stream in runs:
        if stream.first_arrival(is_text_delta) is None and stream.closed_early():
            # A stream cut during the pause is not a keep-alive problem: the client saw SSE-10's failure.
            fail("SSE-10", f"{kind} run: {stream.closed_early()}, during the upstream's keep-alive-only pause",
                 "the gateway relays until message_stop, then ends the response (an idle timeout shorter than the "
                 "upstream's pauses cuts streams)")
    problems = [p for p in (keepalive_problem(scenario, stream, kind) for kind, scenario, stream in runs) if p]
    check(not problems, "SSE-4", "; ".join(problems),
          f"no client-side silence longer than the upstream's keep-alive interval plus {KEEPALIVE_MARGIN_S:g} s "
          "(relay pings and comment lines, or send your own pings)")


@pytest.mark.req("SSE-6")
def test_unknown_event_delta_and_block_types_are_relayed(gateway, upstream, model):
    _, stream = streamed(gateway, upstream, model, "unknown_types", "SSE-6")
    unknown = [d for d in upstream_events("unknown_types") if "2099" in str(d)]
    missing = [d for d in unknown if d not in stream.datas]
    check(not missing, "SSE-6", f"{len(missing)} of {len(unknown)} unknown-type events did not arrive unchanged: {missing}",
          "unknown event, delta and block types relayed unchanged (new types may be added)")


@pytest.mark.req("SSE-7")
def test_mid_stream_error_is_relayed_as_an_error_event(gateway, upstream, model):
    _, stream = streamed(gateway, upstream, model, "mid_stream_error", "SSE-7")
    sent_error = next(d for d in upstream_events("mid_stream_error") if d["type"] == "error")
    errors = [d for d in stream.datas if d["type"] == "error"]
    received = [d["type"] for d in stream.datas]
    # A translating gateway relays the provider's error in its own words: an Anthropic error event with a type.
    translated = upstream.recorder.format is not None
    relayed = any(isinstance(e.get("error"), dict) and e["error"].get("type") for e in errors) if translated else sent_error in errors
    check(relayed, "SSE-7",
          f"the upstream sent {sent_error} after some content; the client received the events {received} and "
          f"{'these error events: ' + str(errors) if errors else 'no error event'} ({stream.ending() or 'the stream ended'})",
          "an Anthropic error event for the provider's error, with the stream ending after it" if translated else
          "the upstream's error event relayed unchanged, with the stream ending after it")
    check("message_stop" not in received, "SSE-7", f"the gateway turned the error into a clean end: {received}",
          "no message_stop after an upstream error")


@pytest.mark.req("SSE-8")
def test_event_fields_have_the_api_shapes(gateway, upstream, model, measurements):
    _, stream = streamed(gateway, upstream, model, "thinking_text_tool", "SSE-8")
    check(stream.datas, "SSE-8", f"no JSON event arrived ({stream.exchange.summary(200)})")
    for data in stream.datas:
        problems = schema_problems(data, "sse_event")
        check(not problems, "SSE-8", f"{data['type']} event {data}: {'; '.join(problems)}", "event fields as the Messages API defines them")
    # Informative: byte-for-byte relaying of event data is no requirement (JSON-equal is what counts).
    sent = [step.encode() for step in stream_script("thinking_text_tool").body_steps if isinstance(step, Event)]
    received = {e.raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n") for e in stream.events}
    changed = sum(1 for raw in sent if raw not in received)
    measurements["stream events relayed byte-for-byte"] = "yes" if not changed else f"no: {changed} of {len(sent)} events re-encoded (JSON-equal is what SSE-8 requires)"


@pytest.mark.req("SSE-9")
def test_thinking_and_signature_arrive_unchanged_in_the_stream(gateway, upstream, model):
    _, stream = streamed(gateway, upstream, model, "thinking_text_tool", "SSE-9")

    def thinking_parts(datas):
        return [d["delta"] for d in datas if d["type"] == "content_block_delta"
                and d.get("delta", {}).get("type") in ("thinking_delta", "signature_delta")]

    sent, received = thinking_parts(upstream_events("thinking_text_tool")), thinking_parts(stream.datas)
    check(received == sent, "SSE-9", f"the upstream sent the thinking deltas {sent}; the client received {received}",
          "thinking text and signature relayed exactly (a changed signature makes the next request fail with 400)")


@pytest.mark.req("SSE-9")
def test_signed_thinking_in_history_reaches_upstream_unchanged(gateway, upstream, model):
    scenario = upstream.scenario()
    signed = {"type": "thinking", "thinking": "Let me check the files first.",
              "signature": "EqQBCgIYAhIMaGlzdG9yeVNpZ25hdHVyZRoMY29uZm9ybWFuY2U="}
    redacted = {"type": "redacted_thinking", "data": "EmwKAhgBEgyRedactedThinkingData=="}
    body = message_body(model, scenario.marker)
    body["messages"] = [
        {"role": "user", "content": "list the files"},
        {"role": "assistant", "content": [signed, redacted, {"type": "tool_use", "id": "toolu_cgc_h1", "name": "Bash", "input": {"command": "ls"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_cgc_h1", "content": "a.txt"},
                                     {"type": "text", "text": scenario.marker}]},
    ]
    exchange = answered(gateway.post_messages(body), "SSE-9")
    check(scenario.requests, "SSE-9", f"the request never reached the upstream ({exchange.summary(200)})")
    arrived = json.loads(scenario.requests[0].body)["messages"][1]["content"][:2]
    check(arrived == [signed, redacted], "SSE-9", f"the history's thinking blocks were sent as {[signed, redacted]} and arrived as {arrived}",
          "thinking and redacted_thinking blocks reach the upstream exactly as sent")


@pytest.mark.req("SSE-10")
def test_stream_ends_with_message_stop(gateway, upstream, model):
    _, stream = streamed(gateway, upstream, model, "thinking_text_tool", "SSE-10")
    check(not stream.ending(), "SSE-10", stream.ending(), "the gateway relays until message_stop, then ends the response")


@pytest.mark.req("SSE-11")
def test_non_streaming_fallback_gets_a_json_message(gateway, upstream, model):
    # Claude Code's fallback: the same request with stream:false and X-Stainless-Timeout 300 (capture c).
    scenario = upstream.scenario(message_script("complete_blocks"))
    headers = with_header(captured_headers("messages"), "X-Stainless-Timeout", "300")
    exchange = answered(gateway.post_messages(message_body(model, scenario.marker, max_tokens=32000), headers=headers), "SSE-11")
    problems = json_problems(exchange, "message") if exchange.status == 200 else [f"status {exchange.status}"]
    check(not problems, "SSE-11", f"{exchange.summary()}; {'; '.join(problems)}", "HTTP 200 with the JSON Message")


@pytest.mark.req("MSG-2")
def test_non_streaming_blocks_are_complete(gateway, upstream, model):
    scenario = upstream.scenario(message_script("complete_blocks"))
    exchange = answered(gateway.post_messages(message_body(model, scenario.marker)), "MSG-2")
    message = exchange.json()
    check(isinstance(message, dict) and isinstance(message.get("content"), list), "MSG-2", f"not a Message: {exchange.summary()}")
    required = {"text": ("text",), "thinking": ("thinking", "signature"), "tool_use": ("id", "name", "input")}
    for block in message["content"]:
        missing = [f for f in required.get(block.get("type"), ()) if f not in block]
        check(not missing, "MSG-2", f"a {block.get('type')} block arrived without {missing}: {block}", "every block with its required fields")
    sent_types = [b["type"] for b in fixture_message("complete_blocks")["content"]]
    received_types = [b.get("type") for b in message["content"]]
    if upstream.recorder.format is not None and upstream.recorder.format.family == OTHER:
        # Another provider's reasoning may be dropped on the way (TRN-9); the other blocks must all arrive.
        sent_types = [t for t in sent_types if t != "thinking"]
        received_types = [t for t in received_types if t != "thinking"]
    check(received_types == sent_types, "MSG-2",
          f"the upstream sent blocks {sent_types}; the client received {received_types}")
