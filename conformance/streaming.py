"""What a client received on a stream: events by their JSON type, arrival times, read gaps, and how
the stream ended. Events are identified by the `type` in their data, so a check of one requirement
does not fail because the gateway broke another (the `event:` name is SSE-2's business)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from conformance.client import Exchange, GatewayClient
from conformance.evidence import TestUpstream
from conformance.forwarding import with_marker
from conformance.requests import message_body
from conformance.sse import SSEEvent, SSEParser
from conformance.upstream import RecordingUpstream, Scenario, Script, Sleep
from conformance.upstream.streams import stream_script


# After the gateway has shown that its streams do not end, later streams wait this long past their script's
# longest pause for the next byte: every scripted event has arrived by then on any working relay.
KNOWN_STALL_GRACE_S = 1.0
# A read during a scripted silence may take the silence plus this.
SILENCE_READ_MARGIN_S = 10.0


@dataclass
class ReceivedStream:
    exchange: Exchange

    @cached_property
    def parser(self) -> SSEParser:
        return self.exchange.sse()

    @property
    def events(self) -> list[SSEEvent]:
        return self.parser.events

    @cached_property
    def typed(self) -> list[tuple[SSEEvent, dict[str, Any]]]:
        """(event, data) for every event whose data is a JSON object with a string type."""
        found = []
        for event in self.events:
            data = event.json()
            if isinstance(data, dict) and isinstance(data.get("type"), str):
                found.append((event, data))
        return found

    @property
    def datas(self) -> list[dict[str, Any]]:
        return [data for _, data in self.typed]

    def of_type(self, event_type: str) -> list[tuple[SSEEvent, dict[str, Any]]]:
        return [(e, d) for e, d in self.typed if d["type"] == event_type]

    def first_arrival(self, predicate) -> float | None:
        return next((e.received_at for e, d in self.typed if predicate(d)), None)

    def read_gaps(self, start: float, end: float) -> list[float]:
        """Gaps between reads that delivered (decoded) bytes, within [start, end] on the monotonic clock."""
        times = [start] + [t for t, _ in self.exchange.chunks if start < t < end] + [end]
        return [b - a for a, b in zip(times, times[1:])]

    def ending(self) -> str:
        """Empty when the stream ended properly after message_stop; otherwise how it ended."""
        last = self.datas[-1]["type"] if self.datas else "no event"
        error = self.exchange.error or ""
        if self.exchange.timed_out:
            return f"the stream stalled after {last}: no byte for the suite's read timeout ({error})"
        if self.exchange.overran:
            return f"the stream never ended: {error}; last event {last}"
        if error:
            return f"the connection broke after {last} ({error})"
        if last != "message_stop":
            return f"the gateway closed the stream after {last}, without message_stop"
        if self.parser.unterminated.strip():
            return f"the stream ended inside an event: {self.parser.unterminated[:120]!r}"
        return ""


    def closed_early(self) -> str:
        """Empty unless the gateway closed the stream (or the connection broke) before message_stop: then when,
        and after which event. A stall or an endless stream is not a close (SSE-10 judges those separately), nor is
        an answer that never was a stream (no event at all: SSE-2's failure)."""
        ending = self.ending()
        if not ending or not self.datas or self.exchange.timed_out or self.exchange.overran or self.exchange.finished_at is None:
            return ""
        after = self.exchange.finished_at - self.exchange.started_at
        return f"{ending}, {after:.2f} s after the request was sent ({len(self.datas)} events received)"


def order_problems(datas: list[dict[str, Any]]) -> list[str]:
    """SSE-3 on the events that arrived: message_start first, blocks opened, filled and closed with
    consistent indexes, then message_delta(s), then message_stop; pings anywhere. A missing end is SSE-10's."""
    problems: list[str] = []
    kinds = [d["type"] for d in datas if d["type"] != "ping"]
    if not kinds or kinds[0] != "message_start":
        problems.append(f"the first event is {kinds[0] if kinds else 'missing'}, not message_start")
    if kinds.count("message_start") > 1:
        problems.append("message_start arrived more than once")
    open_block: int | None = None
    next_index = 0
    seen_message_delta = False
    for position, data in enumerate(d for d in datas if d["type"] != "ping"):
        kind, index = data["type"], data.get("index")
        where = f"event {position + 1} ({kind}{'' if index is None else f' index {index}'})"
        if kind == "content_block_start":
            if open_block is not None or seen_message_delta:
                problems.append(f"{where}: a block starts while block {open_block} is open or after message_delta")
            if index != next_index:
                problems.append(f"{where}: expected index {next_index}")
            open_block, next_index = index, next_index + 1
        elif kind in ("content_block_delta", "content_block_stop"):
            if open_block is None or index != open_block:
                problems.append(f"{where}: no open block with that index")
            if kind == "content_block_stop":
                open_block = None
        elif kind == "message_delta":
            if open_block is not None:
                problems.append(f"{where}: message_delta while block {open_block} is still open")
            seen_message_delta = True
        elif kind == "message_stop":
            if not seen_message_delta:
                problems.append(f"{where}: message_stop before any message_delta")
            if position != len(kinds) - 1:
                problems.append(f"{where}: events follow message_stop")
    return problems


def script_seconds(script: Script) -> float:
    """How long the upstream takes to play a script (its sleeps)."""
    return sum(step.seconds for step in script.steps if isinstance(step, Sleep))


def longest_pause(script: Script) -> float:
    """The script's longest sleep: the longest silence a correct relay passes on."""
    return max([step.seconds for step in script.steps if isinstance(step, Sleep)] + [0.0])


def stream_through(gateway: GatewayClient, upstream: RecordingUpstream | TestUpstream, model: str,
                   stream_name: str) -> tuple[Scenario, ReceivedStream]:
    return stream_scripted(gateway, upstream, model, stream_script(stream_name), f"fixtures/streams/{stream_name}.json")


def stream_scripted(gateway: GatewayClient, upstream: RecordingUpstream | TestUpstream, model: str, script: Script,
                    what: str, body: dict[str, Any] | None = None, silence_s: float = 0.0) -> tuple[Scenario, ReceivedStream]:
    """Script a fixture stream on the recording upstream and stream it through the gateway as Claude Code would.

    The exchange may take the script's own duration plus the run's read timeout; beyond that it is a
    stream that never ends (SSE-10). Once the gateway has shown that its streams do not end (a stream stalled or
    went on after its events arrived), the wait is the script's longest pause plus KNOWN_STALL_GRACE_S instead."""
    scenario = upstream.scenario(script)
    guard = gateway.stall_guard
    wait = gateway.timeout_s
    # A scripted silence longer than the read timeout: each read may wait it out (plus a margin), so a gateway that
    # sends nothing in it is measured, not cut off; the whole exchange still ends by the same deadline.
    read_timeout = max(wait, silence_s + SILENCE_READ_MARGIN_S) if silence_s else None
    if guard.streams_do_not_end:
        wait = min(wait, longest_pause(scenario.script) + KNOWN_STALL_GRACE_S)
    request = message_body(model, scenario.marker, stream=True, max_tokens=32000) if body is None else with_marker(body, scenario.marker, model)
    exchange = gateway.post_messages(
        request,
        deadline_s=script_seconds(scenario.script) + max(wait, SILENCE_READ_MARGIN_S if silence_s else 0.0),
        read_timeout_s=read_timeout or wait,
        label=f"streamed request (upstream plays {what})"
              + (f"; waited {wait:g} s for its end: {guard.streams_do_not_end}" if guard.streams_do_not_end else ""),
    )
    stream = ReceivedStream(exchange)
    if stream.datas and (exchange.timed_out or exchange.overran) and not guard.streams_do_not_end:
        guard.streams_do_not_end = f"an earlier stream did not end ({stream.ending()})"
    return scenario, stream
