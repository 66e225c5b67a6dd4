"""Faults and variants of forwarding (HDR, BODY), upstream errors (ERR) and usage (ATTR)."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import HTMLResponse

from conformance.reference.faults.base import Fault, envelope, fault
from conformance.reference.faults.streaming import EventFault, is_sse

KNOWN_BETAS = ("claude-code-20250219", "interleaved-thinking-2025-05-14", "fine-grained-tool-streaming-2025-05-14")
# A header allowlist that knows today's Claude Code and nothing newer.
KNOWN_HEADERS = {
    "accept", "accept-encoding", "authorization", "x-api-key", "content-type", "content-length", "user-agent", "host",
    "connection", "anthropic-version", "anthropic-beta", "anthropic-dangerous-direct-browser-access", "x-app",
    "x-claude-code-session-id", "x-stainless-arch", "x-stainless-lang", "x-stainless-os", "x-stainless-package-version",
    "x-stainless-retry-count", "x-stainless-runtime", "x-stainless-runtime-version", "x-stainless-timeout",
}
KNOWN_BODY_FIELDS = {"model", "messages", "system", "tools", "tool_choice", "metadata", "max_tokens", "thinking",
                     "context_management", "output_config", "stream", "stop_sequences", "temperature", "top_p", "top_k"}


class BodyFault(Fault):
    """Parses the request body, changes it, and sends it re-serialised."""

    def change(self, body: dict[str, Any]) -> None:
        pass

    def request_body(self, body):
        try:
            request = json.loads(body)
        except ValueError:
            return body
        if isinstance(request, dict):
            self.change(request)
        return json.dumps(request).encode()


@fault
class StripAnthropicBeta(Fault):
    name = "strip-anthropic-beta"
    description = "drops the anthropic-beta header"
    breaks = ("HDR-2", "BODY-2", "BODY-5", "BODY-6", "BODY-7", "BODY-8", "SSE-12", "E2E-5")

    def upstream_headers(self, headers):
        return [(k, v) for k, v in headers if k.lower() != b"anthropic-beta"]


@fault
class FixedBetaList(Fault):
    name = "fixed-beta-list"
    description = "replaces anthropic-beta with its own value (oauth-2025-04-20)"
    breaks = ("HDR-2", "BODY-2", "BODY-5", "BODY-6", "BODY-7", "BODY-8", "SSE-12", "E2E-5")

    def upstream_headers(self, headers):
        return [(k, v) for k, v in headers if k.lower() != b"anthropic-beta"] + [(b"anthropic-beta", b"oauth-2025-04-20")]


@fault
class MergeOwnBeta(Fault):
    name = "merge-own-beta"
    description = "adds its own beta value (oauth-2025-04-20) after the client's, as HDR-2 allows: merged, not replaced"
    variant = True

    def upstream_headers(self, headers):
        own = b"oauth-2025-04-20"
        client = [v for k, v in headers if k.lower() == b"anthropic-beta"]
        merged = b",".join(client + [own])
        return [(k, v) for k, v in headers if k.lower() != b"anthropic-beta"] + [(b"anthropic-beta", merged)]


@fault
class AllowlistBetas(Fault):
    name = "allowlist-betas"
    description = "forwards only the beta values it knows"
    breaks = ("HDR-2", "BODY-2", "BODY-5", "BODY-6", "BODY-7", "BODY-8", "E2E-5")

    def upstream_headers(self, headers):
        kept = []
        for k, v in headers:
            if k.lower() == b"anthropic-beta":
                v = b",".join(b for b in v.split(b",") if b.strip().decode() in KNOWN_BETAS)
            kept.append((k, v))
        return kept


@fault
class StripAnthropicVersion(Fault):
    name = "strip-anthropic-version"
    description = "drops the anthropic-version header"
    breaks = ("HDR-1", "E2E-5")

    def upstream_headers(self, headers):
        return [(k, v) for k, v in headers if k.lower() != b"anthropic-version"]


@fault
class RejectUnknownHeaders(Fault):
    name = "reject-unknown-headers"
    description = "answers 400 to any request header it does not know"
    breaks = ("HDR-4", "HDR-5")

    async def after_auth(self, request, path):
        unknown = sorted(set(request.headers.keys()) - KNOWN_HEADERS)
        return envelope(400, "invalid_request_error", f"unknown header(s): {unknown}") if unknown else None


@fault
class DropUnknownBodyFields(BodyFault):
    name = "drop-unknown-body-fields"
    description = "drops top-level body fields it does not know"
    breaks = ("BODY-1", "BODY-17")

    def change(self, body):
        for key in set(body) - KNOWN_BODY_FIELDS:
            del body[key]


@fault
class FlattenSystem(BodyFault):
    name = "flatten-system"
    description = "joins the system blocks into one string"
    breaks = ("BODY-1", "BODY-9", "BODY-11", "ATTR-3", "BODY-17", "E2E-5")

    def change(self, body):
        if isinstance(body.get("system"), list):
            body["system"] = "\n".join(block.get("text", "") for block in body["system"])


def _strip_cache_control(value: Any) -> None:
    if isinstance(value, dict):
        value.pop("cache_control", None)
        for item in value.values():
            _strip_cache_control(item)
    elif isinstance(value, list):
        for item in value:
            _strip_cache_control(item)


@fault
class DropCacheControl(BodyFault):
    name = "drop-cache-control"
    description = "removes every cache_control marker"
    breaks = ("BODY-1", "BODY-9", "BODY-17", "E2E-5")

    def change(self, body):
        _strip_cache_control(body)


@fault
class PrependSystemBlock(BodyFault):
    name = "prepend-system-block"
    description = "puts its own block in front of the system array"
    breaks = ("BODY-1", "BODY-11", "ATTR-3", "BODY-17", "E2E-5")

    def change(self, body):
        if isinstance(body.get("system"), list):
            body["system"].insert(0, {"type": "text", "text": "You are served through the ACME gateway."})


@fault
class ForwardClientToken(Fault):
    name = "forward-client-token"
    description = "sends the client's own Authorization header upstream as well"
    breaks = ()  # no requirement ID covers it; the report warns (self-tested separately)

    def __init__(self) -> None:
        self.client_authorization: bytes | None = None

    async def after_auth(self, request, path):
        self.client_authorization = request.headers.get("authorization", "").encode() or None
        return None

    def upstream_headers(self, headers):
        return headers + ([(b"authorization", self.client_authorization)] if self.client_authorization else [])


@fault
class WrapUpstreamErrors(Fault):
    name = "wrap-upstream-errors"
    description = "wraps upstream error bodies in its own envelope (the wording kept inside)"
    breaks = ("ERR-1",)

    def response_headers(self, headers, upstream):
        return [(k, v) for k, v in headers if k.lower() != b"content-length"]

    async def relay(self, chunks, upstream):
        if upstream.status_code < 400:
            async for chunk in chunks:
                yield chunk
            return
        body = b"".join([chunk async for chunk in chunks])
        message = f"upstream returned {upstream.status_code}: {body.decode(errors='replace')}"
        yield json.dumps({"type": "error", "error": {"type": "api_error", "message": message}}).encode()


@fault
class ErrorsTo500(Fault):
    name = "errors-to-500"
    description = "turns upstream 429 and 529 into 500"
    breaks = ("ERR-1",)

    def response_status(self, upstream):
        return 500 if upstream.status_code in (429, 529) else upstream.status_code


@fault
class CooldownAfter429(Fault):
    name = "cooldown-after-429"
    description = ("after relaying one upstream 429, answers every later request with its own 429 without contacting "
                   "the upstream (LiteLLM's default deployment cooldown, with a cooldown longer than the run)")
    # Which tests meet the cooldown depends on the order they run in, so the fault matrix leaves it out; a self-test
    # checks that the report names the cause once and lists the rest as its consequences.
    in_fault_matrix = False
    cooling_down = False

    async def after_auth(self, request, path):
        if self.cooling_down:
            return envelope(429, "rate_limit_error", "No deployments available for selected model. "
                            "Try again in 3600 seconds. Passed model=claude. model_group is in cooldown")
        return None

    def response_status(self, upstream):
        if upstream.status_code == 429:
            self.cooling_down = True
        return upstream.status_code


@fault
class DropRetryAfter(Fault):
    name = "drop-retry-after"
    description = "drops the retry-after response header"
    breaks = ("ERR-9",)

    def response_headers(self, headers, upstream):
        return [(k, v) for k, v in headers if k.lower() != b"retry-after"]


def _zero_cache(usage: Any) -> None:
    if isinstance(usage, dict):
        for key in ("cache_creation_input_tokens", "cache_read_input_tokens"):
            if key in usage:
                usage[key] = 0
        if isinstance(usage.get("cache_creation"), dict):
            usage["cache_creation"] = {k: 0 for k in usage["cache_creation"]}


@fault
class ZeroCacheUsage(EventFault):
    name = "zero-cache-usage"
    description = "zeroes the cache fields of usage in streams and messages"
    breaks = ("ATTR-2",)

    def event(self, raw, data):
        if data.get("type") == "message_start":
            _zero_cache(data.get("message", {}).get("usage"))
        elif data.get("type") == "message_delta":
            _zero_cache(data.get("usage"))
        else:
            return raw
        return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()

    async def relay(self, chunks, upstream):
        if is_sse(upstream) or not upstream.headers.get("content-type", "").startswith("application/json"):
            async for chunk in super().relay(chunks, upstream):
                yield chunk
            return
        body = b"".join([c async for c in chunks])
        message = json.loads(body)
        if not (isinstance(message, dict) and message.get("type") == "message"):
            yield body
            return
        _zero_cache(message.get("usage"))
        yield json.dumps(message).encode()

    def response_headers(self, headers, upstream):
        return [(k, v) for k, v in headers if k.lower() != b"content-length"]


@fault
class ExtraResponseHeaders(Fault):
    name = "extra-response-headers"
    description = "adds its own response headers (via, x-gateway-request-id)"
    variant = True

    def response_headers(self, headers, upstream):
        return headers + [(b"via", b"1.1 acme-gateway"), (b"x-gateway-request-id", b"gw-12345")]


@fault
class BodyLimit1MiB(Fault):
    name = "body-limit-1mib"
    description = "answers bodies over 1 MiB with an HTML 413, as nginx does by default"
    breaks = ("BODY-16",)

    async def after_auth(self, request, path):
        if int(request.headers.get("content-length") or 0) > 1024 * 1024:
            return HTMLResponse("<html><body><h1>413 Request Entity Too Large</h1></body></html>", status_code=413)
        return None
