"""Faults and correct-but-unusual variants of stream relaying (SSE-1 to SSE-13, MSG-2).

The faults work on whole SSE events; the recording upstream frames every event with a blank line
(LF LF), which is all these deliberately simple transforms need to split on.
"""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

from conformance.reference.faults.base import Fault, fault

KNOWN_EVENT_TYPES = {"message_start", "content_block_start", "content_block_delta", "content_block_stop",
                     "message_delta", "message_stop", "ping", "error"}
KNOWN_DELTA_TYPES = {"text_delta", "input_json_delta", "thinking_delta", "signature_delta", "citations_delta"}


def is_sse(upstream: httpx.Response) -> bool:
    return upstream.headers.get("content-type", "").startswith("text/event-stream")


async def sse_events(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Whole events (terminator included) out of arbitrary chunks."""
    buffer = b""
    async for chunk in chunks:
        buffer += chunk
        while b"\n\n" in buffer:
            event, buffer = buffer.split(b"\n\n", 1)
            yield event + b"\n\n"
    if buffer:
        yield buffer


def event_data(event: bytes) -> dict[str, Any]:
    for line in event.split(b"\n"):
        if line.startswith(b"data:"):
            try:
                data = json.loads(line[5:])
            except ValueError:
                return {}
            return data if isinstance(data, dict) else {}
    return {}


class EventFault(Fault):
    """Rewrites or drops whole SSE events; other responses pass unchanged."""

    def event(self, raw: bytes, data: dict[str, Any]) -> bytes | None:
        return raw

    async def relay(self, chunks, upstream):
        if not is_sse(upstream):
            async for chunk in chunks:
                yield chunk
            return
        async for raw in sse_events(chunks):
            replaced = self.event(raw, event_data(raw))
            if replaced:
                yield replaced


@fault
class BufferStream(Fault):
    name = "buffer-stream"
    description = "buffers the whole response and sends it at the end"
    breaks = ("SSE-1", "SSE-4")

    async def relay(self, chunks, upstream):
        yield b"".join([chunk async for chunk in chunks])


def assemble_message(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The Message a stream describes (what a gateway that answers streams with JSON sends)."""
    message: dict[str, Any] = {}
    partial_json: dict[int, str] = {}
    for data in events:
        kind = data.get("type")
        if kind == "message_start":
            message = dict(data["message"])
            message["content"] = []
        elif kind == "content_block_start":
            message["content"].append(dict(data["content_block"]))
        elif kind == "content_block_delta":
            block, delta = message["content"][data["index"]], data["delta"]
            for field in ("text", "thinking", "signature"):
                if field in delta:
                    block[field] = block.get(field, "") + delta[field]
            if "partial_json" in delta:
                partial_json[data["index"]] = partial_json.get(data["index"], "") + delta["partial_json"]
        elif kind == "content_block_stop" and data["index"] in partial_json:
            message["content"][data["index"]]["input"] = json.loads(partial_json[data["index"]] or "{}")
        elif kind == "message_delta":
            message.update(data["delta"])
            message["usage"] = {**message.get("usage", {}), **data.get("usage", {})}
    return message


@fault
class JsonForStream(Fault):
    name = "json-for-stream"
    description = "answers stream:true with the assembled JSON Message instead of SSE"
    breaks = ("SSE-1", "SSE-2", "SSE-3", "SSE-4", "SSE-6", "SSE-7", "SSE-8", "SSE-9", "SSE-10", "ATTR-2", "E2E-1")

    def response_headers(self, headers, upstream):
        if not is_sse(upstream):
            return headers
        return [(k, v) for k, v in headers if k.lower() != b"content-type"] + [(b"content-type", b"application/json")]

    async def relay(self, chunks, upstream):
        if not is_sse(upstream):
            async for chunk in chunks:
                yield chunk
            return
        events = [event_data(raw) async for raw in sse_events(chunks)]
        yield json.dumps(assemble_message(events)).encode()


@fault
class DropEventLines(EventFault):
    name = "drop-event-lines"
    description = "strips the event: line of every SSE event (data lines only)"
    breaks = ("SSE-2", "E2E-1", "E2E-2", "E2E-3", "E2E-4", "E2E-5")

    def event(self, raw, data):
        return b"\n".join(line for line in raw.split(b"\n") if not line.startswith(b"event:"))


@fault
class CloseAfterMessageDelta(EventFault):
    name = "close-after-message-delta"
    description = "ends the stream after message_delta, dropping message_stop"
    breaks = ("SSE-10",)

    def event(self, raw, data):
        return None if data.get("type") == "message_stop" else raw


@fault
class DropErrorEvent(EventFault):
    name = "drop-error-event"
    description = "swallows mid-stream error events"
    breaks = ("SSE-7",)

    def event(self, raw, data):
        return None if data.get("type") == "error" else raw


@fault
class DropPings(EventFault):
    name = "drop-pings"
    description = "strips ping events"
    breaks = ("SSE-4",)

    def event(self, raw, data):
        return None if data.get("type") == "ping" else raw


@fault
class DropUnknownEvents(EventFault):
    name = "drop-unknown-events"
    description = "filters events and deltas to the types it knows"
    breaks = ("SSE-6",)

    def event(self, raw, data):
        if data and data.get("type") not in KNOWN_EVENT_TYPES:
            return None
        if data.get("type") == "content_block_delta" and data.get("delta", {}).get("type") not in KNOWN_DELTA_TYPES:
            return None
        return raw


@fault
class RewriteSignature(EventFault):
    name = "rewrite-signature"
    description = "re-encodes thinking signatures in the stream (base64 padding dropped)"
    breaks = ("SSE-9", "E2E-3", "E2E-5")

    def event(self, raw, data):
        delta = data.get("delta", {})
        if delta.get("type") != "signature_delta":
            return raw
        delta["signature"] = delta["signature"].rstrip("=")
        return f"event: {data['type']}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


@fault
class RewriteHistorySignature(Fault):
    name = "rewrite-history-signature"
    description = "re-encodes thinking signatures in the message history sent upstream"
    breaks = ("SSE-9", "BODY-13", "BODY-17", "E2E-3", "E2E-5")

    def request_body(self, body):
        try:
            request = json.loads(body)
        except ValueError:
            return body
        for message in request.get("messages", []) if isinstance(request, dict) else []:
            for block in message.get("content", []) if isinstance(message.get("content"), list) else []:
                if isinstance(block, dict) and block.get("type") == "thinking" and "signature" in block:
                    block["signature"] = block["signature"].rstrip("=")
        return json.dumps(request, separators=(",", ":")).encode()


@fault
class ReserializeEvents(EventFault):
    name = "reserialize-events"
    description = "parses and re-serialises every event's JSON (JSON-equal: spaces, ASCII escapes)"
    breaks = ()  # JSON-equal relaying breaks no requirement; the report states it as a measured fact

    def event(self, raw, data):
        if not data:
            return raw
        return f"event: {data['type']}\ndata: {json.dumps(data, ensure_ascii=True)}\n\n".encode()


@fault
class StallBeforeMessageStop(EventFault):
    name = "stall-before-message-stop"
    description = "holds the stream open without message_stop, sending nothing more"
    breaks = ("SSE-10", "E2E-1", "E2E-2", "E2E-3", "E2E-4", "E2E-5")
    self_test_timeout = 4.0

    async def relay(self, chunks, upstream):
        async for chunk in super().relay(chunks, upstream):
            yield chunk
        if is_sse(upstream):
            await asyncio.sleep(3600)

    def event(self, raw, data):
        return None if data.get("type") == "message_stop" else raw


@fault
class StreamForever(EventFault):
    name = "stream-forever"
    description = "replaces message_stop with pings every second, forever"
    breaks = ("SSE-10", "E2E-1", "E2E-2", "E2E-3", "E2E-4", "E2E-5")
    self_test_timeout = 4.0

    async def relay(self, chunks, upstream):
        async for chunk in super().relay(chunks, upstream):
            yield chunk
        while is_sse(upstream):
            await asyncio.sleep(1.0)
            yield b'event: ping\ndata: {"type":"ping"}\n\n'

    def event(self, raw, data):
        return None if data.get("type") == "message_stop" else raw


IDLE_TIMEOUT_S = 1.0


@fault
class IdleTimeout(Fault):
    name = "idle-timeout-1s"
    description = ("ends a response when the upstream sends nothing for 1 s, like a proxy in front of the gateway with "
                   "a 1 s idle timeout: streams are cut during the upstream's pauses")
    breaks = ("SSE-10",)  # SSE-1 and SSE-4 cannot be judged on a cut stream: not failed, not judged

    async def relay(self, chunks, upstream):
        pending = chunks.__aiter__()
        while True:
            try:
                chunk = await asyncio.wait_for(pending.__anext__(), IDLE_TIMEOUT_S)
            except (StopAsyncIteration, asyncio.TimeoutError):
                return
            yield chunk


# ---- correct but unusual: each must pass everything

@fault
class CrlfLineEnds(EventFault):
    name = "crlf-line-ends"
    description = "re-frames SSE with CRLF line ends"
    variant = True

    def event(self, raw, data):
        return raw.replace(b"\n", b"\r\n")


@fault
class UnusualSseFields(Fault):
    name = "unusual-sse-fields"
    description = ("writes each event's fields in another legal form: data line first, no space after the colon, "
                   "an id line, a retry line on a stream's first event (the SSE standard allows each)")
    variant = True

    async def relay(self, chunks, upstream):
        if not is_sse(upstream):
            async for chunk in chunks:
                yield chunk
            return
        number = 0
        async for raw in sse_events(chunks):
            lines = [line for line in raw.split(b"\n") if line]
            if not any(line.startswith(b"data:") for line in lines):
                yield raw  # a comment line: as it came
                continue
            number += 1
            fields = sorted(lines, key=lambda line: not line.startswith(b"data:"))
            fields = [line.replace(b": ", b":", 1) for line in fields] + [b"id:%d" % number]
            yield b"\n".join(fields + ([b"retry:3000"] if number == 1 else [])) + b"\n\n"


@fault
class SplitMidLine(Fault):
    name = "split-mid-line"
    description = "splits every chunk in the middle of a line, 20 ms apart"
    variant = True

    async def relay(self, chunks, upstream):
        async for chunk in chunks:
            middle = max(1, len(chunk) // 2)
            yield chunk[:middle]
            await asyncio.sleep(0.02)
            yield chunk[middle:]


@fault
class CoalesceEvents(Fault):
    name = "coalesce-events"
    description = "merges chunks that arrive within 100 ms into one write"
    variant = True

    async def relay(self, chunks, upstream):
        iterator = chunks.__aiter__()
        pending: asyncio.Task | None = None
        batch = b""
        while True:
            pending = pending or asyncio.ensure_future(iterator.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=0.1 if batch else None)
            if not done:
                yield batch
                batch = b""
                continue
            try:
                batch += pending.result()
            except StopAsyncIteration:
                break
            pending = None
        if batch:
            yield batch


@fault
class ExtraKeepalives(Fault):
    name = "extra-keepalives"
    description = "adds its own comment and ping keep-alives before every chunk of a stream"
    variant = True

    async def relay(self, chunks, upstream):
        async for chunk in chunks:
            if is_sse(upstream):
                yield b': gateway keep-alive\n\nevent: ping\ndata: {"type": "ping"}\n\n'
            yield chunk


@fault
class SlowPacing(Fault):
    name = "slow-pacing"
    description = "holds every stream write 0.2 s, as haproxy does with default settings"
    variant = True

    async def relay(self, chunks, upstream):
        async for chunk in chunks:
            if is_sse(upstream):
                await asyncio.sleep(0.2)
            yield chunk


@fault
class GzipResponses(Fault):
    name = "gzip-responses"
    description = "gzip-compresses every response, flushing each chunk (nginx gzip on)"
    variant = True

    def response_headers(self, headers, upstream):
        return [(k, v) for k, v in headers if k.lower() != b"content-encoding"] + [(b"content-encoding", b"gzip")]

    async def relay(self, chunks, upstream):
        compressor = zlib.compressobj(wbits=31)
        async for chunk in chunks:
            yield compressor.compress(chunk) + compressor.flush(zlib.Z_SYNC_FLUSH)
        yield compressor.flush()
