"""Scripted upstream answers: data, not code. A script is a list of steps run in order."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Union


@dataclass(frozen=True)
class Respond:
    """Status line and headers; always the first step."""

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Event:
    """One SSE event, framed as Anthropic frames it: `event: NAME\\ndata: JSON\\n\\n`."""

    name: str
    data: Any  # dict -> compact JSON; str -> sent as is

    def encode(self) -> bytes:
        data = self.data if isinstance(self.data, str) else json.dumps(self.data, separators=(",", ":"))
        return f"event: {self.name}\ndata: {data}\n\n".encode()


@dataclass(frozen=True)
class Raw:
    """Bytes sent exactly as given (comments, odd framing, garbage, a JSON body)."""

    data: bytes
    # The Anthropic event a provider format rendered these bytes from: the step log records it, so tests
    # read when the upstream sent, say, its first text delta, whatever the wire format.
    source: Event | None = None


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Close:
    """End the response abruptly: the connection drops without a proper end of body."""


Step = Union[Respond, Event, Raw, Sleep, Close]


@dataclass(frozen=True)
class Script:
    steps: tuple[Step, ...]

    def __post_init__(self) -> None:
        if not self.steps or not isinstance(self.steps[0], Respond):
            raise ValueError("a script starts with Respond(status, headers)")

    @property
    def respond(self) -> Respond:
        return self.steps[0]  # type: ignore[return-value]

    @property
    def body_steps(self) -> tuple[Step, ...]:
        return self.steps[1:]


SSE_HEADERS = (("content-type", "text/event-stream"), ("cache-control", "no-cache"))
JSON_HEADERS = (("content-type", "application/json"),)


def json_script(body: Any, status: int = 200, headers: tuple[tuple[str, str], ...] = ()) -> Script:
    """A JSON answer with the body serialised compactly."""
    data = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
    return Script((Respond(status, JSON_HEADERS + headers), Raw(data)))


def sse_script(events: list[Event | Raw | Sleep | Close], headers: tuple[tuple[str, str], ...] = ()) -> Script:
    return Script((Respond(200, SSE_HEADERS + headers), *events))


@dataclass
class StepLog:
    """When each body step was handed to the server (time.monotonic())."""

    sent: list[tuple[float, int, Step]] = field(default_factory=list)

    def times_of(self, predicate) -> list[float]:
        return [t for t, _, step in self.sent if predicate(step)]
