"""GatewayClient: the suite's HTTP client towards the gateway under test.

Real httpx, bounded in time: every request has connect and read timeouts plus a total deadline,
so a gateway that stalls, dribbles or streams forever ends as a recorded error, never a hung run.
Each exchange keeps what a reviewer needs as evidence (request, status, headers, body chunks with
their arrival times on the process's monotonic clock), and credentials are redacted on rendering.
"""

from __future__ import annotations

import functools
import json
import re
import ssl
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.live import TokenMeter, answer_usage
from conformance.redaction import Redactor
from conformance.requests import DISCOVERY_PATH, MESSAGES_PATH, Routes, captured_headers, count_tokens_body, message_body
from conformance.sse import SSEParser

Headers = list[tuple[str, str]]

CREDENTIAL_HEADERS = ("authorization", "x-api-key")
# Claude Code variable that produces each credential header (connect#how-the-credential-variable-maps-to-a-header).
CLAUDE_CODE_VARIABLE = {"bearer": "ANTHROPIC_AUTH_TOKEN", "x-api-key": "ANTHROPIC_API_KEY"}


def credential_headers(mode: str, key: str, other_key: str | None = None) -> Headers:
    """Headers that carry `key` the way Claude Code would.

    mode: "bearer" (ANTHROPIC_AUTH_TOKEN), "x-api-key" (ANTHROPIC_API_KEY), "both" (apiKeyHelper:
    the same key in both), "none". With other_key, "both" puts key in Authorization and other_key
    in x-api-key (both variables set, capture a2).
    """
    if mode == "none":
        return []
    if mode == "bearer":
        return [("Authorization", f"Bearer {key}")]
    if mode == "x-api-key":
        return [("x-api-key", key)]
    if mode == "both":
        return [("Authorization", f"Bearer {key}"), ("x-api-key", other_key if other_key is not None else key)]
    raise ValueError(f"unknown credential mode {mode!r}")


@dataclass
class Exchange:
    """One request to the gateway and everything that came back."""

    label: str
    method: str
    url: str
    request_headers: Headers
    request_body: bytes
    started_at: float
    status: int | None = None
    response_headers: Headers = field(default_factory=list)
    chunks: list[tuple[float, bytes]] = field(default_factory=list)  # decoded body, arrival time
    headers_at: float | None = None
    finished_at: float | None = None
    redirects: list[tuple[int, str]] = field(default_factory=list)  # (status, location) followed
    error: str | None = None  # the transport problem, when the exchange did not complete
    # What kind of problem: CONNECTION_FAILURES (set-up problems: dns, refused, tls, connect-timeout) are told
    # apart from a gateway that accepted the connection and then misbehaved (timeout, deadline, protocol).
    error_kind: str | None = None

    @property
    def body(self) -> bytes:
        return b"".join(chunk for _, chunk in self.chunks)

    @property
    def completed(self) -> bool:
        return self.error is None and self.status is not None

    @property
    def timed_out(self) -> bool:
        """A read (or the connection) waited --timeout for nothing."""
        return self.error_kind in ("timeout", "connect-timeout")

    @property
    def overran(self) -> bool:
        """Still going at its deadline: the suite stopped reading."""
        return self.error_kind == "deadline"

    def header(self, name: str) -> str | None:
        """A response header by case-insensitive name; repeated headers joined with ', '."""
        values = [v for k, v in self.response_headers if k.lower() == name.lower()]
        return ", ".join(values) if values else None

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    def json(self) -> Any:
        """The body parsed as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def sse(self) -> SSEParser:
        """The body parsed as SSE, chunk by chunk with the chunks' arrival times."""
        parser = SSEParser()
        for received_at, chunk in self.chunks:
            parser.feed(chunk, received_at)
        return parser

    @property
    def elapsed_s(self) -> float | None:
        return None if self.finished_at is None else self.finished_at - self.started_at

    def summary(self, limit: int = 300) -> str:
        """One line a failure message can quote: status, content type and the first bytes."""
        if self.status is None:
            return f"no response ({self.error})"
        text = self.body[:limit].decode("utf-8", errors="replace")
        more = "…" if len(self.body) > limit else ""
        note = f"; then {self.error}" if self.error else ""
        return f"HTTP {self.status} {self.content_type or '(no content-type)'}, body {text!r}{more}{note}"


# Exchange.error_kind values that mean no HTTP conversation with the gateway ever began.
CONNECTION_FAILURES = ("dns", "refused", "tls", "connect-timeout")
DNS_FAILURE = re.compile(r"name or service not known|nodename nor servname|temporary failure in name resolution|"
                         r"getaddrinfo|no address associated", re.I)


def transport_error_kind(exc: httpx.HTTPError) -> str:
    """Classify a transport error: set-up problems (dns, refused, tls) versus a gateway that broke the exchange."""
    if isinstance(exc, httpx.ConnectError):
        text = str(exc)
        if DNS_FAILURE.search(text):
            return "dns"
        if "ssl" in text.lower() or "certificate" in text.lower() or isinstance(exc.__context__, ssl.SSLError):
            return "tls"
        return "refused"
    return "protocol"


@dataclass
class StallGuard:
    """Shared by every client of a run, so that a hanging gateway costs a few timeouts, not one per test.

    A hang is an answer that never came (no response within --timeout), whose body never started, or whose
    JSON body never completed within its deadline. Requests are told apart by endpoint (request_kind: a gateway
    that hangs only on count_tokens still gets its messages judged): once the hangs of one endpoint have cost
    twice --timeout, later requests to it fail at once with the reason; once two endpoints got no response at
    all, every request does. A stream that stalls after its events arrived is that test's finding (SSE-10), not
    a hang: later streams then wait only a short grace for their end (streaming.stream_through)."""

    timeout_s: float = 30.0
    waited: dict[str, float] = field(default_factory=dict)  # seconds spent on hanging answers, by request kind
    hangs: dict[str, int] = field(default_factory=dict)
    silent_kinds: set[str] = field(default_factory=set)  # kinds that got no response at all
    reasons: dict[str, str] = field(default_factory=dict)  # what the last hanging answer of each kind did
    streams_do_not_end: str = ""  # how a stream that delivered its events failed to end (empty: none seen)

    def gave_up(self, kind: str) -> bool:
        return self._exhausted(kind) or self.gave_up_on_all

    @property
    def gave_up_on_all(self) -> bool:
        return len(self.silent_kinds) >= 2

    def _exhausted(self, kind: str) -> bool:
        # 0.95: two hangs of exactly --timeout each must count as twice --timeout despite clock rounding.
        return self.waited.get(kind, 0.0) >= 2 * self.timeout_s * 0.95

    def record(self, kind: str, exchange: "Exchange") -> None:
        no_answer = exchange.status is None and exchange.timed_out
        body_never_started = exchange.timed_out and not exchange.chunks
        never_completed = exchange.overran and exchange.content_type != "text/event-stream"
        if no_answer or body_never_started or never_completed:
            self.waited[kind] = self.waited.get(kind, 0.0) + (exchange.elapsed_s or 0.0)
            self.hangs[kind] = self.hangs.get(kind, 0) + 1
            self.reasons[kind] = f"{exchange.method} {exchange.url}: {exchange.summary(80)}"
            if no_answer:
                self.silent_kinds.add(kind)

    def refusal(self, kind: str) -> str:
        if self._exhausted(kind):
            seen = f"its answers to {self.hangs[kind]} requests like this one ({kind}) hung"
        else:
            seen = "it gave no response at all to " + ", ".join(sorted(self.silent_kinds))
        last = self.reasons.get(kind) or next(iter(self.reasons.values()), "")
        return (f"{NOT_SENT}the gateway already showed that {seen} (bounded at {self.timeout_s:g} s a read, twice that "
                f"a whole answer); the last: {last}")


NOT_SENT = "not sent: "


def request_kind(method: str, path: str) -> str:
    """The endpoint: what hangs together on a gateway (StallGuard). Not the streaming flag: the answer to a
    streaming request may be JSON, and a gateway that hangs on an endpoint's JSON answers hangs its callers."""
    return f"{method} {path.split('?')[0]}"


def not_sent(exchange: Exchange, reason: str, kind: str | None = None) -> Exchange:
    """An exchange the suite decided not to send (the gateway already hung, or live mode's token cap)."""
    exchange.error, exchange.error_kind, exchange.finished_at = reason, kind, time.monotonic()
    return exchange


# Loopback is never proxied: the recording upstream, the bundled reference and local gateways live there. httpx
# proxies every host NO_PROXY does not name, so a CI runner's HTTP(S)_PROXY (meant for the outside world) made the
# suite report a running local gateway as "nothing is listening". httpx mounts: None is the direct transport.
DIRECT_TO_LOOPBACK: dict[str, None] = {"all://127.0.0.1": None, "all://localhost": None, "all://[::1]": None}


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for every client of the run: loading the CA bundle costs ~40 ms each time.
    httpx.create_ssl_context keeps httpx's defaults (certifi, SSL_CERT_FILE / SSL_CERT_DIR)."""
    return httpx.create_ssl_context()


class GatewayClient:
    """Sends Claude-Code-shaped requests to the gateway and records each exchange."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        credential_mode: str,
        timeout_s: float,
        redactor: Redactor,
        extra_headers: Iterable[tuple[str, str]] = (),
        routes: Routes = Routes(),
        stall_guard: StallGuard | None = None,
        token_meter: TokenMeter | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.credential_mode = credential_mode
        self.timeout_s = timeout_s
        self.redactor = redactor
        self.extra_headers = list(extra_headers)
        self.routes = routes
        self.stall_guard = stall_guard or StallGuard()
        self.token_meter = token_meter  # live mode: what the provider bills, and the cap
        self.exchanges: list[Exchange] = []
        self._http = httpx.Client(timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)), verify=tls_context(),
                                  mounts=DIRECT_TO_LOOPBACK)

    def close(self) -> None:
        self._http.close()

    def url(self, path: str) -> str:
        return self.base_url + path

    def send(
        self,
        method: str,
        path: str,
        *,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes | Mapping[str, Any] | None = None,
        credentials: str | Headers = "default",
        follow_redirects: bool = True,
        deadline_s: float | None = None,
        fresh_connection: bool = False,
        read_timeout_s: float | None = None,
        label: str = "",
    ) -> Exchange:
        """Send one request; never raises for what the gateway does, records it instead.

        credentials: "default" (the run's credential mode), a mode for credential_headers(), or
        explicit header pairs. deadline_s bounds the whole exchange, body included (default: twice
        the per-read timeout); read_timeout_s shortens the per-read timeout for this request.
        """
        if isinstance(credentials, str):
            mode = self.credential_mode if credentials == "default" else credentials
            credentials = credential_headers(mode, self.token)
        content = encode_body(body)
        request_headers = [*headers, *credentials, *self.extra_headers]
        exchange = Exchange(label or f"{method} {path}", method, self.url(path), request_headers, content, time.monotonic())
        self.exchanges.append(exchange)
        kind = request_kind(method, path)
        billed = self.token_meter is not None and kind == request_kind("POST", MESSAGES_PATH)
        if self.stall_guard.gave_up(kind):
            return not_sent(exchange, self.stall_guard.refusal(kind))
        if billed and (over := self.token_meter.over_budget(content)):
            return not_sent(exchange, over, "budget")
        deadline = exchange.started_at + (deadline_s if deadline_s is not None else 2 * self.timeout_s)
        http = (httpx.Client(timeout=self._http.timeout, verify=tls_context(), mounts=DIRECT_TO_LOOPBACK)
                if fresh_connection else self._http)
        try:
            timeout = self._http.timeout if read_timeout_s is None else httpx.Timeout(read_timeout_s, connect=min(self.timeout_s, 10.0))
            with http.stream(
                method, exchange.url, headers=request_headers, content=content, follow_redirects=follow_redirects,
                timeout=timeout,
            ) as response:
                exchange.headers_at = time.monotonic()
                exchange.status = response.status_code
                exchange.response_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw]
                exchange.redirects = [(r.status_code, r.headers.get("location", "")) for r in response.history]
                for chunk in response.iter_bytes():
                    now = time.monotonic()
                    if chunk:
                        exchange.chunks.append((now, chunk))
                    if now > deadline:
                        exchange.error = f"response still going after {now - exchange.started_at:.1f} s; the suite stopped reading"
                        exchange.error_kind = "deadline"
                        break
        except httpx.TimeoutException as exc:
            exchange.error = f"timed out after {time.monotonic() - exchange.started_at:.1f} s ({type(exc).__name__})"
            exchange.error_kind = "connect-timeout" if isinstance(exc, httpx.ConnectTimeout) else "timeout"
        except httpx.HTTPError as exc:
            exchange.error = f"{type(exc).__name__}: {exc}"
            exchange.error_kind = transport_error_kind(exc)
        finally:
            exchange.finished_at = time.monotonic()
            if fresh_connection:
                http.close()
        self.stall_guard.record(kind, exchange)
        if billed:
            self.token_meter.record(answer_usage(exchange))
        return exchange

    # ---- Claude Code's requests: its paths (Routes) and captured headers unless the test passes others
    def post_messages(self, body: bytes | Mapping[str, Any], *, headers: Iterable[tuple[str, str]] | None = None, **kwargs: Any) -> Exchange:
        return self.send("POST", self.routes.messages, headers=captured_headers("messages") if headers is None else headers, body=body, **kwargs)

    def post_count_tokens(self, body: bytes | Mapping[str, Any], *, headers: Iterable[tuple[str, str]] | None = None, **kwargs: Any) -> Exchange:
        return self.send("POST", self.routes.count_tokens, headers=captured_headers("count_tokens") if headers is None else headers, body=body, **kwargs)

    def get_models(self, *, headers: Iterable[tuple[str, str]] | None = None, **kwargs: Any) -> Exchange:
        return self.send("GET", DISCOVERY_PATH, headers=captured_headers("discovery") if headers is None else headers, **kwargs)

    def call(self, endpoint: str, model: str, marker: str, **kwargs: Any) -> Exchange:
        """A minimal Claude Code request to one of ENDPOINTS."""
        if endpoint == "messages":
            return self.post_messages(message_body(model, marker), **kwargs)
        if endpoint == "count_tokens":
            return self.post_count_tokens(count_tokens_body(model, marker), **kwargs)
        return self.get_models(**kwargs)

    def transcript(self) -> str:
        """Every exchange of this client, rendered with credentials redacted."""
        return "\n\n".join(render_exchange(e, self.redactor) for e in self.exchanges)


def encode_body(body: bytes | Mapping[str, Any] | None) -> bytes:
    """JSON as Claude Code sends it (JSON.stringify: compact, UTF-8)."""
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


BODY_PREVIEW = 2000


def render_exchange(exchange: Exchange, redactor: Redactor) -> str:
    """A human-readable record of one exchange, safe to store."""
    lines = [f"### {exchange.label}", f"> {exchange.method} {exchange.url}"]
    lines += [f"> {k}: {v}" for k, v in exchange.request_headers]
    if exchange.request_body:
        lines.append(f"> ({len(exchange.request_body)} bytes) {_preview(exchange.request_body)}")
    for status, location in exchange.redirects:
        lines.append(f"< HTTP {status} redirect to {location} (followed)")
    if exchange.status is not None:
        lines.append(f"< HTTP {exchange.status}")
        lines += [f"< {k}: {v}" for k, v in exchange.response_headers]
        body = exchange.body
        lines.append(f"< ({len(body)} bytes in {len(exchange.chunks)} chunks) {_preview(body)}")
    if exchange.headers_at is not None and exchange.finished_at is not None:
        lines.append(
            f"timing: headers after {exchange.headers_at - exchange.started_at:.3f} s, "
            f"done after {exchange.finished_at - exchange.started_at:.3f} s"
        )
    if exchange.error:
        lines.append(f"error: {exchange.error}")
    return redactor.redact("\n".join(lines))


def _preview(body: bytes) -> str:
    text = body[:BODY_PREVIEW].decode("utf-8", errors="replace")
    return text + (f"… ({len(body) - BODY_PREVIEW} more bytes)" if len(body) > BODY_PREVIEW else "")
