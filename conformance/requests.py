"""Claude-Code-shaped requests: the captured headers (spec N.2) and request bodies built around a scenario marker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.resources import fixture

Headers = list[tuple[str, str]]

MESSAGES_PATH = "/v1/messages?beta=true"
COUNT_TOKENS_PATH = "/v1/messages/count_tokens?beta=true"
DISCOVERY_PATH = "/v1/models?limit=1000"  # exactly what Claude Code sends (capture d1)
ENDPOINTS = ("messages", "count_tokens", "models")


@dataclass(frozen=True)
class Routes:
    """The inference paths the tests use: Claude Code's own (`?beta=true`), unless the gateway serves
    only the bare path. Then PATH-2 fails, and the other tests use the bare path so that each reports
    its own requirement instead of repeating PATH-2's failure."""

    messages: str = MESSAGES_PATH
    count_tokens: str = COUNT_TOKENS_PATH
    query_refused: bool = False


def captured_headers(kind: str) -> Headers:
    """Claude Code 2.1.331's request headers for `messages`, `count_tokens` or `discovery`, without credentials."""
    return [(name, value) for name, value in fixture("claude-code/headers.json")[kind]]


def with_header(headers: Headers, name: str, value: str | None) -> Headers:
    """Replace (or, with None, remove) a header, case-insensitively, keeping the others' order."""
    kept = [(k, v) for k, v in headers if k.lower() != name.lower()]
    return kept if value is None else kept + [(name, value)]


def message_body(model: str, marker: str, *, stream: bool = False, max_tokens: int = 1, text: str = "Reply with ok.") -> dict[str, Any]:
    """A minimal Messages request whose last user message carries the scenario marker."""
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": [{"type": "text", "text": f"{text}\n{marker}"}]}],
    }
    if stream:
        body["stream"] = True
    return body


def count_tokens_body(model: str, marker: str, text: str = "Hello") -> dict[str, Any]:
    """Shaped like Claude Code's count_tokens bodies (capture h): model, messages, tools; no system or stream."""
    return {"model": model, "messages": [{"role": "user", "content": f"{text}\n{marker}"}], "tools": []}
