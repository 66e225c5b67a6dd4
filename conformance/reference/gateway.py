"""The reference gateway: a small, correct Anthropic-format proxy, and the model answer for gateway teams.

It does what the protocol asks and nothing more: serves {prefix}/v1/messages, count_tokens and
models; accepts the client credential in Authorization: Bearer or x-api-key (or both); replaces it
with its own upstream key; forwards headers and body bytes unchanged; relays the upstream's status,
headers and body chunk by chunk, compressed or not, as they arrive. A Fault (faults.py) changes one
behaviour, so self-tests can prove the suite catches exactly that deviation.
"""

from __future__ import annotations

import contextlib
import hmac
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from conformance.client import DIRECT_TO_LOOPBACK
from conformance.formats import UpstreamFormat
from conformance.reference.faults import Fault
from conformance.reference.faults.base import envelope
from conformance.reference.translator import Translator

# Hop-by-hop and framing headers are the connection's, not the message's (RFC 9110 7.6.1).
HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "host", "content-length",
}
CREDENTIAL_HEADERS = {"authorization", "x-api-key"}
# Claude Code allows 600 s per request (X-Stainless-Timeout); a relay must not cut streams sooner.
UPSTREAM_TIMEOUT = httpx.Timeout(connect=10.0, read=600.0, write=60.0, pool=10.0)

API_ROUTES = {("POST", "/v1/messages"), ("POST", "/v1/messages/count_tokens"), ("GET", "/v1/models")}


class ReferenceGateway:
    def __init__(self, upstream_url: str, client_token: str, upstream_key: str, prefix: str = "", fault: Fault | None = None,
                 upstream_format: UpstreamFormat | None = None):
        self.upstream_url = upstream_url.rstrip("/")
        self.client_token = client_token
        self.upstream_key = upstream_key
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        self.fault = fault or Fault()
        self.http: httpx.AsyncClient | None = None
        # Translating mode: the upstream speaks another provider's format (conformance.reference.translator).
        self.translator = Translator(upstream_format, self.upstream_url, upstream_key, self.fault) if upstream_format else None

    def authenticated(self, request: Request) -> bool:
        return self.fault.accepts(self.fault.credentials(request), self._is_client_token)

    def _is_client_token(self, value: str) -> bool:
        return hmac.compare_digest(value.encode(), self.client_token.encode())

    async def handle(self, request: Request) -> Response:
        path = request.url.path
        if self.prefix:
            if not (path == self.prefix or path.startswith(self.prefix + "/")):
                return self.fault.not_found(path)
            path = path[len(self.prefix):] or "/"
        path = path.rstrip("/") or "/"
        early = await self.fault.intercept(request, path, self.prefix)
        if early is not None:
            return early
        if request.method == "HEAD" and path in ("/", "/api/hello"):
            return Response(status_code=200)  # start-up probe (PATH-6): answer at once
        if (request.method, path) not in API_ROUTES:
            return self.fault.not_found(path)
        if not self.authenticated(request):
            return self.fault.unauthorized()
        answered = await self.fault.after_auth(request, path)
        if answered is not None:
            return answered
        if self.translator is not None:
            assert self.http is not None
            return await self.translator.answer(self.http, request, path)
        return await self.forward(request, path)

    async def forward(self, request: Request, path: str) -> Response:
        assert self.http is not None
        headers = [
            (k, v) for k, v in request.headers.raw
            if k.decode("latin-1").lower() not in HOP_BY_HOP | CREDENTIAL_HEADERS
        ]
        headers = self.fault.upstream_headers(headers) + [(b"x-api-key", self.upstream_key.encode())]
        query = self.fault.upstream_query(path, request.url.query)
        url = self.upstream_url + self.fault.upstream_path(path) + (f"?{query}" if query else "")
        body = self.fault.request_body(await request.body())
        upstream_request = self.http.build_request(request.method, url, headers=headers, content=body)
        try:
            upstream = await self.http.send(upstream_request, stream=True)
        except httpx.HTTPError as exc:
            return envelope(502, "api_error", f"gateway could not reach the upstream: {type(exc).__name__}")
        response = StreamingResponse(
            self.fault.relay(self._relay(upstream), upstream),
            status_code=self.fault.response_status(upstream),
            background=BackgroundTask(upstream.aclose),
        )
        # raw_headers keeps repeated headers and the upstream's order.
        response.raw_headers = self.fault.response_headers(
            [(k, v) for k, v in upstream.headers.raw if k.decode("latin-1").lower() not in HOP_BY_HOP], upstream
        )
        return response

    @staticmethod
    async def _relay(upstream: httpx.Response) -> AsyncIterator[bytes]:
        # aiter_raw: bytes as they arrive, still compressed if the upstream compressed them.
        async for chunk in upstream.aiter_raw():
            yield chunk

    def app(self) -> Starlette:
        @contextlib.asynccontextmanager
        async def lifespan(app):
            async with httpx.AsyncClient(timeout=UPSTREAM_TIMEOUT, mounts=DIRECT_TO_LOOPBACK) as http:
                self.http = http
                yield

        methods = ["GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"]
        return Starlette(routes=[Route("/{path:path}", self.handle, methods=methods)], lifespan=lifespan)
