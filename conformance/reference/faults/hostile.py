"""Hostile gateways: answers that would hang a client that trusts them. The suite must end each run within
its stated bound (README "Performance") with a complete report, failing what the gateway broke.

never-answers (accepts connections, answers nothing) lives with the other HTTP faults; stall-before-
message-stop and stream-forever with the streaming faults."""

from __future__ import annotations

import asyncio

from starlette.responses import StreamingResponse

from conformance.reference.faults.base import Fault, fault
from conformance.reference.faults.streaming import is_sse

FOREVER_S = 3600.0
TRICKLE_DELAY_S = 0.25  # one byte every quarter second: every read succeeds, no answer ever completes in time


@fault
class HeadersThenSilence(Fault):
    name = "headers-then-silence"
    description = "answers every request with 200 and its headers, then sends nothing, ever"
    # Its own refusals are 200s (AUTH-3, PATH-7); everything else is not judged under GATEWAY-HANGS.
    breaks = ("AUTH-3", "PATH-7")
    self_test_timeout = 3.0

    async def intercept(self, request, path, prefix):
        async def nothing():
            await asyncio.sleep(FOREVER_S)
            yield b""

        return StreamingResponse(nothing(), status_code=200, media_type="application/json")


@fault
class TrickleJson(Fault):
    name = "trickle-json"
    description = (f"relays every answer that is not a stream one byte every {TRICKLE_DELAY_S:g} s: every read "
                   "succeeds, no JSON answer completes within the suite's bound")
    # The first test that waits on a JSON answer fails (AUTH-1); the rest are not judged under GATEWAY-HANGS.
    breaks = ("AUTH-1",)
    self_test_timeout = 3.0

    def response_headers(self, headers, upstream):
        return headers if is_sse(upstream) else [(k, v) for k, v in headers if k.lower() != b"content-length"]

    async def relay(self, chunks, upstream):
        if is_sse(upstream):
            async for chunk in chunks:
                yield chunk
            return
        async for chunk in chunks:
            for byte in chunk:
                await asyncio.sleep(TRICKLE_DELAY_S)
                yield bytes([byte])


@fault
class GarbageBytes(Fault):
    name = "garbage-bytes"
    description = "answers every connection with bytes that are not HTTP, then closes it"
    breaks_everything = True
    raw_answer = b"\x16\x03\x01\x00\xa5garbage that is not an HTTP response\r\n\x00\xff\xfe\r\n\r\n"
