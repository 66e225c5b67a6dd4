"""The recording upstream: a fake Anthropic API that answers scripted scenarios and records what arrived.

Scenario keying: each test scripts an answer under a fresh nonce and puts `conformance-scenario
<nonce>` in the last user message. The recorder finds the nonce in the body it receives, so tests do
not depend on request order, retries or extra requests the gateway makes. A body whose marker was
altered or removed gets a 400 that names the problem (the gateway changed the message text: BODY-1).
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

# Modules, not names: conformance.formats renders the scripts of conformance.upstream.script (a cycle by package).
from conformance.formats import base as provider, messages as anthropic_shapes
from conformance.upstream.answers import default_answer, error_body
from conformance.upstream.script import Close, Event, Raw, Script, Sleep, StepLog, json_script

SCENARIO_MARKER = "conformance-scenario"
_NONCE_RE = re.compile(rb"conformance-scenario ([A-Za-z0-9]+)")


def scenario_nonce(body: bytes) -> str | None:
    """The scenario nonce a request body carries (the first marker, as the recording upstream keys it)."""
    match = _NONCE_RE.search(body)
    return match.group(1).decode() if match else None


def new_nonce() -> str:
    return secrets.token_hex(8)


def endpoint_kind(path: str) -> str:
    """Classify by path suffix, so a gateway that keeps a prefix towards its upstream still works."""
    path = path.rstrip("/")
    if path.endswith("/v1/messages/count_tokens"):
        return "count_tokens"
    if path.endswith("/v1/messages"):
        return "messages"
    if path.endswith("/v1/models"):
        return "models"
    return "other"


@dataclass
class ReceivedRequest:
    """A request as it reached the upstream. Header names arrive lowercased (ASGI)."""

    method: str
    raw_path: str  # path and query exactly as received
    headers: list[tuple[str, str]]
    body: bytes
    received_at: float
    nonce: str | None
    call: provider.Call | None = None  # what the request asks of the provider the recording upstream plays (--upstream-format)
    meaning: dict | None = None  # that request read back as an Anthropic Messages request (TRN-4)

    @cached_property
    def data(self):
        """The body as JSON (None when it is not JSON), parsed once for the provider the recording upstream plays."""
        return anthropic_shapes.loads(self.body)

    @property
    def path(self) -> str:
        return self.raw_path.split("?", 1)[0]

    @property
    def query(self) -> str:
        return self.raw_path.partition("?")[2]

    @property
    def kind(self) -> str:
        return self.call.kind if self.call else endpoint_kind(self.path)

    @property
    def turn(self) -> int:
        """Which turn of its conversation the request is (1 + the assistant messages in its history)."""
        return conversation_turn(self.meaning if self.meaning is not None else self.body)

    def messages_request(self) -> dict:
        """The request as an Anthropic Messages body: its JSON, or, from a provider of another format, its meaning."""
        return self.meaning if self.call is not None and self.meaning is not None else json.loads(self.body)

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k == name.lower()]
        return ", ".join(values) if values else None


@dataclass
class Scenario:
    nonce: str
    script: Script | None  # None: answer with the default for the endpoint
    # Answers after the first, the last one repeating: by attempt (the 2nd, 3rd, ... request: a retry),
    # or by_turn (keyed on the assistant messages in the history, so a client's retry or non-streaming
    # fallback of a turn gets that turn's answer again).
    later: tuple[Script, ...] = ()
    by_turn: bool = False
    requests: list[ReceivedRequest] = field(default_factory=list)
    log: StepLog = field(default_factory=StepLog)

    def script_for(self, request_number: int, received: "ReceivedRequest") -> Script | None:
        """The script that answers the scenario's request_number-th request (1-based), `received`."""
        scripts = (self.script, *self.later)
        position = received.turn if self.by_turn else request_number
        return scripts[min(position, len(scripts)) - 1]

    @property
    def marker(self) -> str:
        """The text a test puts in the last user message."""
        return f"{SCENARIO_MARKER} {self.nonce}"


def conversation_turn(body: bytes | dict) -> int:
    """1 + the assistant messages in a Messages request's history (1 for a body that is not one). A provider's
    request of another format is given as its meaning (ReceivedRequest.meaning)."""
    try:
        messages = (body if isinstance(body, dict) else json.loads(body)).get("messages")
    except (ValueError, AttributeError):
        return 1
    if not isinstance(messages, list):
        return 1
    return 1 + sum(1 for m in messages if isinstance(m, dict) and m.get("role") == "assistant")


class RecordingUpstream:
    """The ASGI app plus the scenario store; thread-safe between the test thread and the server."""

    def __init__(self, upstream_format: provider.UpstreamFormat | None = None) -> None:
        self.format = upstream_format  # None: the Anthropic API; else the provider it plays
        self._lock = threading.Lock()
        self._scenarios: dict[str, Scenario] = {}
        self.unmatched: list[ReceivedRequest] = []  # requests that carried no known scenario

    # ---- test side
    def scenario(self, script: Script | None = None, *later: Script, by_turn: bool = False) -> Scenario:
        scenario = Scenario(new_nonce(), script, later, by_turn)
        with self._lock:
            self._scenarios[scenario.nonce] = scenario
        return scenario

    def received_for(self, nonce: str) -> list[ReceivedRequest]:
        """What arrived for one scenario (nothing for an unknown nonce)."""
        with self._lock:
            scenario = self._scenarios.get(nonce)
            return list(scenario.requests) if scenario else []

    def activity_for(self, nonce: str | None) -> float:
        """time.monotonic() of the scenario's last request received or answer step sent (0.0: none yet): a client
        driven through the gateway (the real CLI) that stays silent long after it is a stalled gateway."""
        with self._lock:
            scenario = self._scenarios.get(nonce) if nonce else None
            if scenario is None:
                return 0.0
            return max([r.received_at for r in scenario.requests] + [t for t, _, _ in scenario.log.sent] + [0.0])

    @property
    def all_requests(self) -> list[ReceivedRequest]:
        with self._lock:
            found = [r for s in self._scenarios.values() for r in s.requests] + self.unmatched
        return sorted(found, key=lambda r: r.received_at)

    # ---- server side
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return await serve_lifespan(receive, send)
        request = Request(scope, receive)
        body = await request.body()
        raw_path = scope["raw_path"].decode("latin-1") if scope.get("raw_path") else scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        nonce = scenario_nonce(self.format.nonce_source(body) if self.format else body)
        received = ReceivedRequest(
            method=scope["method"],
            raw_path=raw_path + (f"?{query}" if query else ""),
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]],
            body=body,
            received_at=time.monotonic(),
            nonce=nonce,
        )
        if self.format is not None:
            received.call = self.format.classify(received.method, received.raw_path, received.data)
            if received.call.kind == "messages":
                try:
                    received.meaning = {**self.format.meaning(received.call, received.data),
                                        "stream": received.call.streaming}
                except (AttributeError, KeyError, TypeError, IndexError):
                    received.meaning = None  # a body the provider refuses anyway
        script = None
        with self._lock:
            scenario = self._scenarios.get(nonce) if nonce else None
            if scenario is not None:
                scenario.requests.append(received)
                script = scenario.script_for(len(scenario.requests), received)
            else:
                self.unmatched.append(received)
        response = self._answer(received, scenario, script)
        await response(scope, receive, send)

    def _answer(self, received: ReceivedRequest, scenario: Scenario | None, script: Script | None) -> Response:
        if self.format is not None:
            return self._answer_as_provider(self.format, received, scenario, script)
        kind = received.kind
        if scenario is not None and script is not None:
            return _play(script, scenario.log, time.monotonic)
        if kind in ("messages", "count_tokens") and received.method == "POST" and received.nonce is None:
            message = (
                f"recording upstream: no '{SCENARIO_MARKER} <nonce>' marker in the request body. The suite puts "
                "one in the last user message of every request; the gateway changed or dropped the message text "
                "(BODY-1: the upstream must receive the same JSON content)."
            )
            return _play(json_script(error_body("invalid_request_error", message), status=400), StepLog(), time.monotonic)
        return _play(default_answer(kind, received.body, received.query), scenario.log if scenario else StepLog(), time.monotonic)


    def _answer_as_provider(self, fmt: provider.UpstreamFormat, received: ReceivedRequest, scenario: Scenario | None,
                            script: Script | None) -> Response:
        """The provider's answer: its refusal of a request it would refuse, else the scripted (or default) answer
        rendered in its format."""
        call = received.call or provider.Call("other")
        log = scenario.log if scenario else StepLog()
        if call.kind == "models":
            return _play(fmt.models(), log, time.monotonic)
        if call.kind == "count_tokens":
            return _play(fmt.answer_count_tokens(received.body, script), log, time.monotonic)
        if call.kind != "messages":
            return _play(fmt.error(call, 404, "not_found_error", f"recording upstream ({fmt.title}): no such "
                                        f"endpoint {received.method} {received.path}", None), log, time.monotonic)
        refusal = fmt.refusal(call, received.data)
        if refusal is not None:
            return _play(fmt.error(call, 400, "invalid_request_error", refusal, None), log, time.monotonic)
        if scenario is None:
            message = (f"recording upstream: no '{SCENARIO_MARKER} <nonce>' marker in the request; the suite puts one in "
                       "the last user message of every request: the gateway dropped or changed the message text (TRN-4)")
            return _play(fmt.error(call, 400, "invalid_request_error", message, None), log, time.monotonic)
        if script is None:
            script = default_answer("messages", json.dumps({"model": call.model or "claude", "stream": call.streaming}).encode())
        return _play(fmt.render(call, script), log, time.monotonic)


async def serve_lifespan(receive: Receive, send: Send) -> None:
    """The ASGI lifespan protocol of an app with nothing to start or stop (the fake upstreams)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class _AbortStream(Exception):
    """Raised inside the body generator to drop the connection mid-response (Close step)."""


def _play(script: Script, log: StepLog, touch: Callable[[], float]) -> Response:
    respond = script.respond
    headers = dict(respond.headers)

    async def body():
        for index, step in enumerate(script.body_steps, start=1):
            if isinstance(step, Sleep):
                await asyncio.sleep(step.seconds)
                continue
            log.sent.append((touch(), index, step.source if isinstance(step, Raw) and step.source else step))
            if isinstance(step, Close):
                raise _AbortStream("scripted early close")
            yield step.encode() if isinstance(step, Event) else step.data  # type: ignore[union-attr]

    media_type = headers.pop("content-type", None)
    return StreamingResponse(body(), status_code=respond.status, headers=headers, media_type=media_type)


__all__ = ["RecordingUpstream", "ReceivedRequest", "Scenario", "SCENARIO_MARKER", "Raw", "endpoint_kind"]
