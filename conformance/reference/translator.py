"""The reference gateway's translating mode (--upstream-format): Claude Code's Anthropic Messages requests
translated to another provider's format, and its answers translated back (spec L2, TRN-1 to TRN-10).

What it does, as a gateway team's model answer: the request's meaning goes upstream in the provider's terms
(conformance.formats.<format>), Claude-only content is dropped; the answer comes back as Anthropic SSE or a
Message JSON whatever the provider sent, streamed as it arrives, with its own ping events while the provider
is silent (SSE-5, SSE-14); upstream errors come back in the Anthropic envelope with their status, retry-after
and context-window wording kept (TRN-7). count_tokens is a local estimate that grows with the input (TOK-3).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from conformance.formats import UpstreamFormat
from conformance.formats.messages import loads
from conformance.formats.messages import error_envelope, error_type_for
from conformance.reference.faults import Fault
from conformance.reference.faults.base import envelope
from conformance.upstream.answers import UPSTREAM_CATALOGUE, models_page
from conformance.upstream.script import Event

PING = Event("ping", {"type": "ping"}).encode()
# What a relayed dialect answer keeps of the upstream's headers.
RELAYED_HEADERS = {"content-type", "content-encoding", "retry-after", "request-id", "cache-control"}


class Translator:
    def __init__(self, upstream_format: UpstreamFormat, upstream_url: str, upstream_key: str, fault: Fault) -> None:
        self.format = upstream_format
        self.upstream_url = upstream_url
        self.upstream_key = upstream_key
        self.fault = fault

    async def answer(self, http: httpx.AsyncClient, request: Request, path: str) -> Response:
        body = await request.body()
        if path == "/v1/models":
            return JSONResponse(models_page(UPSTREAM_CATALOGUE, request.url.query))
        client_request = loads(body)
        if not isinstance(client_request, dict):
            return envelope(400, "invalid_request_error", "the request body is not a JSON object")
        headers = self.upstream_headers(request)
        if path == "/v1/messages/count_tokens":
            return await self.count_tokens(http, client_request, body, headers)
        betas = tuple(v.strip() for v in request.headers.get("anthropic-beta", "").split(",") if v.strip())
        return await self.messages(http, client_request, betas, headers)

    def upstream_headers(self, request: Request) -> list[tuple[str, str]]:
        """The provider's credential, plus the client's anthropic-* headers for a format that takes them (Vertex)."""
        forwarded = [(k, v) for k, v in request.headers.raw if k.decode("latin-1").lower().startswith("anthropic-")] \
            if self.format.forwards_anthropic_headers else []
        kept = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self.fault.upstream_headers(forwarded)]
        return [*kept, *self.format.credential_headers(self.upstream_key)]

    async def send(self, http: httpx.AsyncClient, call, headers: list[tuple[str, str]]) -> httpx.Response | Response:
        upstream_request = http.build_request("POST", self.upstream_url + call.path, headers=[*call.headers, *headers], content=call.body)
        try:
            return await http.send(upstream_request, stream=True)
        except httpx.HTTPError as exc:
            return envelope(502, "api_error", f"gateway could not reach the upstream: {type(exc).__name__}")

    async def count_tokens(self, http: httpx.AsyncClient, client_request: dict[str, Any], body: bytes, headers) -> Response:
        call = self.format.count_tokens_call(client_request)
        if call is None:
            # A local estimate: the provider has no Anthropic count (TOK-5 does not apply); it grows with the input.
            return JSONResponse({"input_tokens": max(1, len(body) // 4)})
        upstream = await self.send(http, call, headers)
        if isinstance(upstream, Response):
            return upstream
        if upstream.status_code >= 400:
            return await self.error(upstream)
        try:
            answer = loads(await upstream.aread())
        finally:
            await upstream.aclose()
        return JSONResponse(self.format.count_tokens_answer(answer))

    async def messages(self, http: httpx.AsyncClient, client_request: dict[str, Any], betas: tuple[str, ...], headers) -> Response:
        stream = bool(client_request.get("stream"))
        model = str(client_request.get("model", ""))
        call = self.fault.translate(self.format, client_request, stream, betas)
        upstream = await self.send(http, call, headers)
        if isinstance(upstream, Response):
            return upstream
        if self.format.relays_stream:
            # An Anthropic dialect that answers in the Messages API's own format: relayed as it arrives.
            kept = [(k, v) for k, v in upstream.headers.items() if k.lower() in RELAYED_HEADERS]
            return StreamingResponse(upstream.aiter_raw(), status_code=upstream.status_code, headers=dict(kept),
                                     background=BackgroundTask(upstream.aclose))
        if upstream.status_code >= 400:
            return await self.error(upstream)
        if not stream:
            try:
                upstream_body = await upstream.aread()
            finally:
                await upstream.aclose()
            message = self.fault.translated_message(self.format.read_message(loads(upstream_body) or {}, model), upstream_body)
            if isinstance(message, bytes):
                return Response(message, media_type="application/json")
            return JSONResponse(message)
        return StreamingResponse(self.events(upstream, model), media_type="text/event-stream",
                                 headers={"cache-control": "no-cache"}, background=BackgroundTask(upstream.aclose))

    async def error(self, upstream: httpx.Response) -> Response:
        try:
            body = await upstream.aread()
        finally:
            await upstream.aclose()
        status = upstream.status_code
        error_type, message = self.format.read_error(status, body)
        retry_after = upstream.headers.get("retry-after") or self.format.retry_after(body)
        status, error_type, message, retry_after = self.fault.translated_error(
            status, error_type or error_type_for(status), message, retry_after)
        return envelope(status, error_type, message, retry_after)

    async def events(self, upstream: httpx.Response, model: str) -> AsyncIterator[bytes]:
        reader = self.format.reader(model)
        chunks = upstream.aiter_bytes()
        pending: asyncio.Future | None = None
        try:
            while True:
                pending = pending or asyncio.ensure_future(anext(chunks))
                done, _ = await asyncio.wait({pending}, timeout=self.fault.ping_interval_s)
                if not done:
                    yield PING  # the provider is silent: keep Claude Code's watchdog and banner quiet (SSE-5, SSE-14)
                    continue
                try:
                    chunk = pending.result()
                except StopAsyncIteration:
                    break
                except httpx.HTTPError as exc:
                    yield self.encode(error_envelope("api_error", f"the upstream's stream broke: {type(exc).__name__}"))
                    return
                finally:
                    if pending.done():
                        pending = None
                for event in reader.feed(chunk):
                    yield self.encode(event)
            for event in reader.end():
                yield self.encode(event)
            yield self.fault.stream_trailer()
        finally:
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending

    def encode(self, event: dict[str, Any]) -> bytes:
        return b"".join(Event(e["type"], e).encode() for e in self.fault.translated_events(event))
