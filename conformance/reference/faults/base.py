"""The Fault base class (the correct behaviour, as hooks) and the registry of named faults."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response


def bearer_values(request: Request) -> list[str]:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return [value.strip()] if scheme.lower() == "bearer" and value.strip() else []


def api_key_values(request: Request) -> list[str]:
    return [request.headers["x-api-key"]] if request.headers.get("x-api-key") else []


def envelope(status: int, error_type: str, message: str, retry_after: str | None = None) -> JSONResponse:
    """An error in the Anthropic envelope (the reference gateway's own errors, and upstream errors it translates)."""
    headers = {"retry-after": retry_after} if retry_after else None
    return JSONResponse({"type": "error", "error": {"type": error_type, "message": message}}, status_code=status, headers=headers)


class Fault:
    """The correct behaviour; subclasses change one thing."""

    name = "none"
    description = "correct behaviour"
    breaks: tuple[str, ...] = ()  # requirement IDs the suite must fail for this fault, and no others
    breaks_everything = False  # the fault takes the whole gateway down: every tested requirement fails
    # Correct but unusual behaviour that must pass everything (other chunking, compression, ...).
    variant = False
    # A fault that stalls: self-tests run it with this --timeout so the stalls end quickly.
    self_test_timeout: float | None = None
    # Headers a deployment of this gateway needs on every request: the self-tests pass them with
    # --gateway-header (plain) and --gateway-headers-env (secret).
    suite_headers: tuple[tuple[str, str], ...] = ()
    # False when Claude Code in print mode (the end-to-end area) sends no request the fault changes: it
    # sends one POST /v1/messages?beta=true with a valid credential, no discovery, no count_tokens. The
    # fault matrix leaves the E2E area out of those runs to stay within CI's time.
    affects_print_mode = True
    # False for a fault whose failures depend on the order the tests run in: its own self-test checks it.
    in_fault_matrix = True
    # Bytes written to every connection instead of HTTP (a gateway that answers garbage): served by a raw
    # TCP server instead of the ASGI app.
    raw_answer: bytes | None = None
    suite_secret_headers: tuple[tuple[str, str], ...] = ()

    async def intercept(self, request: Request, path: str, prefix: str) -> Response | None:
        """Answer before routing and authentication; None lets the gateway continue."""
        return None

    async def after_auth(self, request: Request, path: str) -> Response | None:
        """Answer an authenticated request without forwarding it; None forwards it."""
        return None

    def upstream_path(self, path: str) -> str:
        """The upstream path a request is forwarded to (default: the same)."""
        return path

    def upstream_query(self, path: str, query: str) -> str:
        """The query string sent upstream (default: the client's, unchanged)."""
        return query

    def credentials(self, request: Request) -> list[str]:
        """The credential values the gateway reads: Authorization: Bearer and x-api-key (AUTH-1, AUTH-9)."""
        return bearer_values(request) + api_key_values(request)

    def accepts(self, presented: list[str], is_valid: Callable[[str], bool]) -> bool:
        """Valid if any presented value is (AUTH-2: both headers with different values)."""
        return any(is_valid(value) for value in presented)

    def unauthorized(self) -> Response:
        return envelope(401, "authentication_error", "invalid or missing gateway credential")

    def not_found(self, path: str) -> Response:
        return envelope(404, "not_found_error", f"no such endpoint: {path}")

    def request_body(self, body: bytes) -> bytes:
        """The body sent upstream (default: the client's bytes, unchanged)."""
        return body

    def upstream_headers(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        """The request headers sent upstream (default: the client's, minus credentials and hop-by-hop ones)."""
        return headers

    def response_status(self, upstream: httpx.Response) -> int:
        return upstream.status_code

    def response_headers(self, headers: list[tuple[bytes, bytes]], upstream: httpx.Response) -> list[tuple[bytes, bytes]]:
        return headers

    async def relay(self, chunks: AsyncIterator[bytes], upstream: httpx.Response) -> AsyncIterator[bytes]:
        """The response body, chunk by chunk as it arrives (default: unchanged)."""
        async for chunk in chunks:
            yield chunk


    # ---- translating mode (--upstream-format other than anthropic: conformance.reference.translator)
    # The translator's own pings during upstream silences (SSE-5, SSE-14); None sends none.
    ping_interval_s: float | None = 10.0
    # A fault of the translating mode only: a relay with it is the correct gateway (faults/translation.py).
    translating_only = False

    def translate(self, upstream_format, request: dict, stream: bool, betas: tuple[str, ...] = ()):
        """The request sent to the upstream (default: the format's translation of the client's request)."""
        return upstream_format.upstream_call(request, stream, betas)

    def translated_events(self, event: dict) -> list[dict]:
        """The Anthropic events sent to the client for one translated event (default: the event itself)."""
        return [event]

    def translated_message(self, message: dict, upstream_body: bytes) -> dict | bytes:
        """The JSON answer to stream:false (default: the translated Message)."""
        return message

    def translated_error(self, status: int, error_type: str, message: str, retry_after: str | None) -> tuple[int, str, str, str | None]:
        return status, error_type, message, retry_after

    def stream_trailer(self) -> bytes:
        """Bytes sent after the translated stream's message_stop (default: none)."""
        return b""


FAULTS: dict[str, type[Fault]] = {}


def fault(cls: type[Fault]) -> type[Fault]:
    if cls.name in FAULTS:
        raise ValueError(f"two faults named {cls.name!r}: {FAULTS[cls.name].__qualname__} and {cls.__qualname__}")
    FAULTS[cls.name] = cls
    return cls


def get_fault(name: str | None) -> Fault:
    if not name or name == Fault.name:
        return Fault()
    try:
        return FAULTS[name]()
    except KeyError:
        raise ValueError(f"unknown fault {name!r}; known: {', '.join(sorted(FAULTS))}") from None
