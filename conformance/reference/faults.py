"""Named faults of the reference gateway: each one small deviation from the protocol.

Self-tests run the suite against the reference gateway with each fault and snapshot which
requirements fail; a fault must fail exactly the requirements it breaks. `Fault` itself is the
correct behaviour; a fault overrides one hook.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response


def _bearer(request: Request) -> list[str]:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return [value.strip()] if scheme.lower() == "bearer" and value.strip() else []


def _api_key(request: Request) -> list[str]:
    return [request.headers["x-api-key"]] if request.headers.get("x-api-key") else []


def _envelope(status: int, error_type: str, message: str) -> JSONResponse:
    return JSONResponse({"type": "error", "error": {"type": error_type, "message": message}}, status_code=status)


class Fault:
    """The correct behaviour; subclasses change one thing."""

    name = "none"
    description = "correct behaviour"
    breaks: tuple[str, ...] = ()  # requirement IDs the suite must fail for this fault, and no others
    breaks_everything = False  # the fault takes the whole gateway down: every tested requirement fails

    async def intercept(self, request: Request, path: str, prefix: str) -> Response | None:
        """Answer before routing and authentication; None lets the gateway continue."""
        return None

    def credentials(self, request: Request) -> list[str]:
        """The credential values the gateway reads: Authorization: Bearer and x-api-key (AUTH-1, AUTH-9)."""
        return _bearer(request) + _api_key(request)

    def accepts(self, presented: list[str], is_valid: Callable[[str], bool]) -> bool:
        """Valid if any presented value is (AUTH-2: both headers with different values)."""
        return any(is_valid(value) for value in presented)

    def unauthorized(self) -> Response:
        return _envelope(401, "authentication_error", "invalid or missing gateway credential")

    def not_found(self, path: str) -> Response:
        return _envelope(404, "not_found_error", f"no such endpoint: {path}")

    async def relay(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        async for chunk in chunks:
            yield chunk


FAULTS: dict[str, type[Fault]] = {}


def fault(cls: type[Fault]) -> type[Fault]:
    FAULTS[cls.name] = cls
    return cls


@fault
class QueryString404(Fault):
    name = "query-string-404"
    description = "routes on the full URL: ?beta=true gives 404"
    breaks = ("PATH-2",)

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
    description = "reads the credential from Authorization: Bearer only"
    breaks = ("AUTH-9",)

    def credentials(self, request):
        return _bearer(request)


@fault
class XApiKeyOnly(Fault):
    name = "x-api-key-only"
    description = "reads the credential from x-api-key only"
    breaks = ("AUTH-9",)

    def credentials(self, request):
        return _api_key(request)


@fault
class AnyCredential(Fault):
    name = "any-credential"
    description = "accepts any credential, or none"
    breaks = ("AUTH-3",)

    def accepts(self, presented, is_valid):
        return True


@fault
class Html401(Fault):
    name = "html-401"
    description = "answers a bad credential with 401 and an HTML page"
    breaks = ("ERR-2",)

    def unauthorized(self):
        return HTMLResponse("<html><body><h1>401 Authorization Required</h1></body></html>", status_code=401)


@fault
class Plain401(Fault):
    name = "401-without-envelope"
    description = "answers a bad credential with 401 and a non-Anthropic JSON body"
    breaks = ("ERR-2",)

    def unauthorized(self):
        return JSONResponse({"detail": "Unauthorized"}, status_code=401)


@fault
class Html404(Fault):
    name = "html-404"
    description = "answers unknown paths with 404 and an HTML page"
    breaks = ("PATH-7", "ERR-2")

    def not_found(self, path):
        return HTMLResponse(f"<html><body><h1>404 Not Found</h1><p>{path}</p></body></html>", status_code=404)


@fault
class NeverAnswers(Fault):
    name = "never-answers"
    description = "accepts connections and never answers"
    breaks_everything = True

    async def intercept(self, request, path, prefix):
        await asyncio.sleep(3600)
        return None


def get_fault(name: str | None) -> Fault:
    if not name or name == Fault.name:
        return Fault()
    try:
        return FAULTS[name]()
    except KeyError:
        raise ValueError(f"unknown fault {name!r}; known: {', '.join(sorted(FAULTS))}") from None
