"""Faults in paths, authentication and gateway-made errors."""

from __future__ import annotations

import asyncio
import json

from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse

from conformance.reference.faults.base import Fault, api_key_values, bearer_values, envelope, fault
from conformance.reference.faults.discovery import ModelsPageFault


@fault
class QueryString404(Fault):
    name = "query-string-404"
    description = "routes on the full URL: ?beta=true gives 404"
    breaks = ("PATH-2", "E2E-1", "E2E-2", "E2E-3", "E2E-4", "E2E-5")

    async def intercept(self, request, path, prefix):
        if request.url.query and path.startswith("/v1/messages"):
            return self.not_found(path + "?" + request.url.query)
        return None


@fault
class RedirectMessages(Fault):
    name = "redirect-messages"
    description = "answers POST /v1/messages with a same-origin 307 to /v1/messages/"
    breaks = ("PATH-5",)

    async def intercept(self, request, path, prefix):
        if request.method == "POST" and request.url.path == f"{prefix}/v1/messages":
            query = f"?{request.url.query}" if request.url.query else ""
            return RedirectResponse(f"{prefix}/v1/messages/{query}", status_code=307)
        return None


@fault
class BearerOnly(Fault):
    name = "bearer-only"
    affects_print_mode = False
    description = "reads the credential from Authorization: Bearer only"
    breaks = ("AUTH-9",)

    def credentials(self, request):
        return bearer_values(request)


@fault
class XApiKeyOnly(Fault):
    name = "x-api-key-only"
    affects_print_mode = False
    description = "reads the credential from x-api-key only"
    breaks = ("AUTH-9",)

    def credentials(self, request):
        return api_key_values(request)


@fault
class AnyCredential(Fault):
    name = "any-credential"
    affects_print_mode = False
    description = "accepts any credential, or none"
    breaks = ("AUTH-3",)

    def accepts(self, presented, is_valid):
        return True


@fault
class Html401(Fault):
    name = "html-401"
    affects_print_mode = False
    description = "answers a bad credential with 401 and an HTML page"
    breaks = ("ERR-2",)

    def unauthorized(self):
        return HTMLResponse("<html><body><h1>401 Authorization Required</h1></body></html>", status_code=401)


@fault
class Plain401(Fault):
    name = "401-without-envelope"
    affects_print_mode = False
    description = "answers a bad credential with 401 and a non-Anthropic JSON body"
    breaks = ("ERR-2",)

    def unauthorized(self):
        return JSONResponse({"detail": "Unauthorized"}, status_code=401)


@fault
class Html404(Fault):
    name = "html-404"
    affects_print_mode = False
    description = "answers unknown paths with 404 and an HTML page"
    breaks = ("PATH-7", "ERR-2")

    def not_found(self, path):
        return HTMLResponse(f"<html><body><h1>404 Not Found</h1><p>{path}</p></body></html>", status_code=404)


@fault
class NeverAnswers(Fault):
    name = "never-answers"
    description = "accepts connections and never answers"
    # The first test that waits fails (AUTH-1); every later one is not judged under GATEWAY-HANGS.
    breaks = ("AUTH-1",)
    self_test_timeout = 3.0

    async def intercept(self, request, path, prefix):
        await asyncio.sleep(3600)
        return None




ROUTED_MODELS = ("claude-opus-4-8", "claude-sonnet-4-6", "claude-haiku-4-5")


@fault
class ListedModelsOnly(ModelsPageFault):
    name = "listed-models-only"
    description = (f"routes only its configured models {', '.join(ROUTED_MODELS)}: any other model is refused with its "
                   "own 404 not_found_error naming it, and /v1/models lists just those: correct")
    variant = True

    async def after_auth(self, request, path):
        if path.startswith("/v1/messages"):
            try:
                model = json.loads(await request.body()).get("model")
            except (ValueError, AttributeError):
                return None
            if model not in ROUTED_MODELS:
                return envelope(404, "not_found_error", f"model: {model} is not routed by this gateway")
        return None

    def rewrite(self, page):
        data = [m for m in page["data"] if m.get("id") in ROUTED_MODELS]
        return {**page, "data": data, "has_more": False, "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None}


# The routing headers a header-routed deployment needs; the tenant key is a secret, passed through an
# environment variable (--gateway-headers-env) in the self-tests, which check it never reaches a report.
ROUTE_HEADER, ROUTE_VALUE = "X-Gateway-Route", "anthropic"
TENANT_HEADER, TENANT_KEY = "X-Tenant-Key", "cgc-tenant-key-canary-51c0e7"


@fault
class RouteByHeader(Fault):
    name = "route-by-header"
    description = (f"routes only requests that carry {ROUTE_HEADER}: {ROUTE_VALUE} and a valid {TENANT_HEADER} "
                   "(answering 404 otherwise) and consumes both headers: correct when the run sends them")
    variant = True
    suite_headers = ((ROUTE_HEADER, ROUTE_VALUE),)  # --gateway-header
    suite_secret_headers = ((TENANT_HEADER, TENANT_KEY),)  # --gateway-headers-env

    async def intercept(self, request, path, prefix):
        if request.headers.get(ROUTE_HEADER) != ROUTE_VALUE or request.headers.get(TENANT_HEADER) != TENANT_KEY:
            return self.not_found(f"{path}: no route for this request (this gateway routes by the {ROUTE_HEADER} "
                                  f"and {TENANT_HEADER} headers)")
        return None

    def upstream_headers(self, headers):
        consumed = {ROUTE_HEADER.lower().encode(), TENANT_HEADER.lower().encode()}
        return [(k, v) for k, v in headers if k.lower() not in consumed]
