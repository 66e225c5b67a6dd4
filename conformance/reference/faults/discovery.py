"""Faults and variants of model discovery (/v1/models) and token counting (count_tokens)."""

from __future__ import annotations

import asyncio
import json

from starlette.responses import JSONResponse, RedirectResponse

from conformance.reference.faults.base import Fault, envelope, fault

MODELS = "/v1/models"
COUNT_TOKENS = "/v1/messages/count_tokens"


class ModelsPageFault(Fault):
    """Rewrites the upstream's models page."""

    def rewrite(self, page: dict) -> dict:
        return page

    def response_headers(self, headers, upstream):
        return [(k, v) for k, v in headers if k.lower() != b"content-length"]

    async def relay(self, chunks, upstream):
        if not upstream.headers.get("content-type", "").startswith("application/json"):
            async for chunk in chunks:
                yield chunk
            return
        body = b"".join([chunk async for chunk in chunks])
        try:
            page = json.loads(body)
        except ValueError:
            yield body
            return
        yield json.dumps(self.rewrite(page)).encode() if isinstance(page, dict) and "data" in page else body


@fault
class SlowModels(Fault):
    name = "slow-models"
    affects_print_mode = False
    description = "answers /v1/models after 4 s"
    breaks = ("DISC-3",)

    async def after_auth(self, request, path):
        if path == MODELS:
            await asyncio.sleep(4.0)
        return None


@fault
class RedirectModels(Fault):
    name = "redirect-models"
    affects_print_mode = False
    description = "redirects /v1/models to /v1/models/ (307)"
    breaks = ("PATH-5", "DISC-3")

    async def intercept(self, request, path, prefix):
        if request.url.path == f"{prefix}{MODELS}":
            return RedirectResponse(f"{prefix}{MODELS}/?{request.url.query}", status_code=307)
        return None


@fault
class PagedModels(ModelsPageFault):
    name = "paged-models"
    affects_print_mode = False
    description = "ignores limit=1000: returns 2 models and has_more: true"
    breaks = ("DISC-7",)

    def rewrite(self, page):
        data = page["data"][:2]
        return {**page, "data": data, "has_more": True, "last_id": data[-1]["id"] if data else None}


@fault
class ModelsDefaultPage(ModelsPageFault):
    name = "models-default-page"
    affects_print_mode = False
    description = ("asks its upstream for /v1/models without the client's limit (the API's default page: 20 models) "
                   "and relays that page with has_more: false")
    breaks = ("DISC-7",)

    def upstream_query(self, path, query):
        return "" if path == MODELS else query

    def rewrite(self, page):
        return {**page, "has_more": False}


@fault
class RejectLimit1000(Fault):
    name = "reject-limit-1000"
    affects_print_mode = False
    description = "answers limit=1000 with 400 (accepts at most 100)"
    breaks = ("DISC-3",)  # not DISC-4/AUTH-4: every credential gets the same 400, so the credential is not at fault

    async def after_auth(self, request, path):
        if path == MODELS and request.query_params.get("limit") == "1000":
            return envelope(400, "invalid_request_error", "limit: must be at most 100")
        return None


@fault
class NonClaudeIds(ModelsPageFault):
    name = "non-claude-ids"
    affects_print_mode = False
    description = "lists models under ids without claude or anthropic (sonnet-4-6, ...)"
    breaks = ("DISC-8",)

    def rewrite(self, page):
        data = [{**m, "id": m["id"].replace("claude-", "")} for m in page["data"]]
        return {**page, "data": data, "first_id": data[0]["id"], "last_id": data[-1]["id"]}


@fault
class ModelsNeedTenantHeader(Fault):
    name = "models-need-tenant-header"
    affects_print_mode = False
    description = "answers /v1/models 400 unless an X-Tenant header (which Claude Code does not send) is present"
    breaks = ("DISC-3",)  # the 400 is the same whatever the credential: DISC-4/AUTH-4 cannot be judged

    async def after_auth(self, request, path):
        if path == MODELS and "x-tenant" not in request.headers:
            return envelope(400, "invalid_request_error", "missing X-Tenant header")
        return None


@fault
class CountTokensZero(Fault):
    name = "count-tokens-zero"
    affects_print_mode = False
    description = "answers count_tokens itself with {\"input_tokens\": 0}"
    breaks = ("TOK-2", "TOK-3")

    async def after_auth(self, request, path):
        return JSONResponse({"input_tokens": 0}) if path == COUNT_TOKENS else None


@fault
class CountTokensWrongEndpoint(Fault):
    name = "count-tokens-wrong-endpoint"
    affects_print_mode = False
    description = "forwards count_tokens to the upstream's /v1/messages"
    breaks = ("TOK-2", "TOK-3", "TOK-5", "ERR-6")

    def upstream_path(self, path):
        return "/v1/messages" if path == COUNT_TOKENS else path


# ---- correct but unusual

@fault
class ModelsAbsent(Fault):
    name = "models-absent"
    description = "does not serve /v1/models (JSON 404)"
    variant = True
    affects_print_mode = False

    async def intercept(self, request, path, prefix):
        return self.not_found(path) if path == MODELS else None


@fault
class CountTokensAbsent(Fault):
    name = "count-tokens-absent"
    description = "does not serve count_tokens (JSON 404)"
    variant = True
    affects_print_mode = False

    async def intercept(self, request, path, prefix):
        return self.not_found(path) if path == COUNT_TOKENS else None


@fault
class ThousandModels(ModelsPageFault):
    name = "thousand-models"
    description = "lists a catalogue of 1000 models in one page"
    variant = True
    affects_print_mode = False

    def rewrite(self, page):
        data = page["data"] + [
            {"type": "model", "id": f"claude-variant-{i:04d}", "display_name": f"Claude variant {i}", "created_at": "2026-01-01T00:00:00Z"}
            for i in range(1000 - len(page["data"]))
        ]
        return {**page, "data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}
