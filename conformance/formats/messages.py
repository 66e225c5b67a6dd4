"""The Anthropic Messages shapes every upstream format is translated from and to.

The recording upstream's scripts are written in Anthropic terms (events, a Message, an error envelope); a
provider format renders them in its own wire format, and the reference translator reads the provider's
answers back into them. One model of an answer, so a test scripts it once for every format.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from conformance.upstream.script import Close, Event, Raw, Script, Sleep

# What Claude Code sends back as tool_use_id; Anthropic-format validators refuse other characters (TRN-2).
TOOL_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
# Wording Claude Code recognises for a context-window error (ERR-3), so it compacts and retries.
PROMPT_TOO_LONG = "prompt is too long"
# HTTP status of each Anthropic error type (the API's error table), and back.
ERROR_STATUS = {"invalid_request_error": 400, "authentication_error": 401, "permission_error": 403,
                "not_found_error": 404, "request_too_large": 413, "rate_limit_error": 429, "api_error": 500,
                "overloaded_error": 529}


def error_type_for(status: int) -> str:
    """The Anthropic error type for an upstream status (TRN-7)."""
    if status in (503, 529):
        return "overloaded_error"
    for error_type, code in ERROR_STATUS.items():
        if code == status:
            return error_type
    return "invalid_request_error" if 400 <= status < 500 else "api_error"


def error_envelope(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}


@dataclass
class Reply:
    """A scripted upstream answer read in Anthropic terms, for a provider format to render."""

    status: int
    headers: tuple[tuple[str, str], ...]
    message: dict[str, Any] | None = None  # a JSON Message
    error: dict[str, Any] | None = None  # the envelope's "error": {"type", "message"}
    steps: list[dict[str, Any] | Sleep | Close] | None = None  # a stream: event data, pauses, an abrupt end
    other: bytes | None = None  # any other body, sent as it is
    closes: bool = False  # a JSON answer cut short

    @property
    def retry_after(self) -> str | None:
        return next((v for k, v in self.headers if k.lower() == "retry-after"), None)

    def events(self) -> list[dict[str, Any] | Sleep | Close]:
        """The answer as stream steps (a Message becomes its events)."""
        if self.steps is not None:
            return self.steps
        return list(events_from_message(self.message)) if self.message is not None else []

    def whole_message(self) -> dict[str, Any] | None:
        """The answer as one Message (a stream's events are accumulated); None for an error."""
        if self.message is not None:
            return self.message
        if self.steps is not None and not any(isinstance(s, dict) and s.get("type") == "error" for s in self.steps):
            return message_from_events([s for s in self.steps if isinstance(s, dict)])
        return None


def read_script(script: Script) -> Reply:
    respond = script.respond
    headers = respond.headers
    if any(k == "content-type" and "event-stream" in v for k, v in headers):
        steps: list[dict[str, Any] | Sleep | Close] = []
        for step in script.body_steps:
            if isinstance(step, Event):
                data = step.data if isinstance(step.data, dict) else loads(step.data)
                if isinstance(data, dict):
                    steps.append(data)
            elif isinstance(step, (Sleep, Close)):
                steps.append(step)
            # Raw bytes (comments, odd framing) are Anthropic SSE details no other format has.
        return Reply(respond.status, headers, steps=steps)
    body = b"".join(step.data for step in script.body_steps if isinstance(step, Raw))
    closes = any(isinstance(step, Close) for step in script.body_steps)
    data = loads(body)
    if isinstance(data, dict) and data.get("type") == "error" and isinstance(data.get("error"), dict):
        return Reply(respond.status, headers, error=data["error"], closes=closes)
    if isinstance(data, dict) and data.get("type") == "message":
        return Reply(respond.status, headers, message=data, closes=closes)
    return Reply(respond.status, headers, other=body, closes=closes)


def loads(data: Any) -> Any:
    """JSON from bytes or text; None when it is not JSON."""
    try:
        return json.loads(data)
    except (TypeError, ValueError):
        return None


def message_from_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The Message a complete event stream describes (what a client accumulates)."""
    message: dict[str, Any] = {"type": "message", "role": "assistant", "content": [], "stop_reason": None,
                               "stop_sequence": None, "usage": {}}
    blocks: dict[int, dict[str, Any]] = {}
    partial: dict[int, str] = {}
    for event in events:
        kind = event.get("type")
        if kind == "message_start":
            message.update(copy.deepcopy(event.get("message", {})))
            message["content"] = []
        elif kind == "content_block_start":
            blocks[event["index"]] = copy.deepcopy(event["content_block"])
        elif kind == "content_block_delta" and event.get("index") in blocks:
            block, delta = blocks[event["index"]], event.get("delta", {})
            if delta.get("type") == "text_delta":
                block["text"] = block.get("text", "") + delta.get("text", "")
            elif delta.get("type") == "thinking_delta":
                block["thinking"] = block.get("thinking", "") + delta.get("thinking", "")
            elif delta.get("type") == "signature_delta":
                block["signature"] = delta.get("signature", "")
            elif delta.get("type") == "input_json_delta":
                partial[event["index"]] = partial.get(event["index"], "") + delta.get("partial_json", "")
        elif kind == "content_block_stop" and event.get("index") in partial:
            blocks[event["index"]]["input"] = loads(partial[event["index"]] or "{}")
        elif kind == "message_delta":
            message["stop_reason"] = event.get("delta", {}).get("stop_reason", message["stop_reason"])
            message["stop_sequence"] = event.get("delta", {}).get("stop_sequence", message["stop_sequence"])
            message["usage"] = {**message.get("usage", {}), **event.get("usage", {})}
    message["content"] = [blocks[i] for i in sorted(blocks)]
    return message


def events_from_message(message: dict[str, Any]) -> list[dict[str, Any]]:
    """A Message as the stream that carries it."""
    start = {**copy.deepcopy(message), "content": [], "stop_reason": None, "stop_sequence": None}
    usage = message.get("usage", {})
    start["usage"] = {**usage, "output_tokens": min(1, usage.get("output_tokens", 0))}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
    for index, block in enumerate(message.get("content", [])):
        kind = block.get("type")
        if kind == "text":
            events += [_block_start(index, {"type": "text", "text": ""}),
                       _delta(index, {"type": "text_delta", "text": block.get("text", "")})]
        elif kind == "thinking":
            events += [_block_start(index, {"type": "thinking", "thinking": "", "signature": ""}),
                       _delta(index, {"type": "thinking_delta", "thinking": block.get("thinking", "")}),
                       _delta(index, {"type": "signature_delta", "signature": block.get("signature", "")})]
        elif kind == "tool_use":
            events += [_block_start(index, {**block, "input": {}}),
                       _delta(index, {"type": "input_json_delta", "partial_json": json.dumps(block.get("input", {}))})]
        else:
            events.append(_block_start(index, block))
        events.append({"type": "content_block_stop", "index": index})
    events += [{"type": "message_delta", "delta": {"stop_reason": message.get("stop_reason"),
                                                    "stop_sequence": message.get("stop_sequence")},
                "usage": {"output_tokens": usage.get("output_tokens", 0)}},
               {"type": "message_stop"}]
    return events


def _block_start(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def _delta(index: int, delta: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": delta}


@dataclass
class StreamBuilder:
    """Builds a well-formed Anthropic event stream from a provider's pieces, as they arrive (the translator's
    side): blocks are opened when their first piece comes and closed when another kind starts."""

    message_id: str
    model: str
    open_index: int | None = None
    open_key: Any = None  # what the open block belongs to (text, reasoning, a tool call's upstream index)
    next_index: int = 0
    started: bool = False
    tool_calls: int = 0

    def start(self, usage: dict[str, int] | None = None) -> list[dict[str, Any]]:
        if self.started:
            return []
        self.started = True
        message = {"id": self.message_id, "type": "message", "role": "assistant", "model": self.model, "content": [],
                   "stop_reason": None, "stop_sequence": None,
                   "usage": {"input_tokens": 0, "output_tokens": 0, **(usage or {})}}
        return [{"type": "message_start", "message": message}]

    def _open(self, key: Any, block: dict[str, Any]) -> list[dict[str, Any]]:
        out = self.start()
        if self.open_key == key and self.open_index is not None:
            return out
        out += self.close()
        self.open_index, self.open_key = self.next_index, key
        self.next_index += 1
        return out + [_block_start(self.open_index, block)]

    def close(self) -> list[dict[str, Any]]:
        if self.open_index is None:
            return []
        index, self.open_index, self.open_key = self.open_index, None, None
        return [{"type": "content_block_stop", "index": index}]

    def text(self, text: str) -> list[dict[str, Any]]:
        if not text:
            return []
        return self._open("text", {"type": "text", "text": ""}) + [_delta(self.open_index, {"type": "text_delta", "text": text})]

    def reasoning(self, text: str = "", signature: str = "") -> list[dict[str, Any]]:
        out = self._open("reasoning", {"type": "thinking", "thinking": "", "signature": ""})
        if text:
            out.append(_delta(self.open_index, {"type": "thinking_delta", "thinking": text}))
        if signature:
            out.append(_delta(self.open_index, {"type": "signature_delta", "signature": signature}))
        return out

    def tool_call(self, key: Any, tool_id: str | None = None, name: str | None = None, arguments: str = "") -> list[dict[str, Any]]:
        """A piece of one upstream tool call (`key`: its upstream index or position); the first piece opens it."""
        out: list[dict[str, Any]] = []
        if self.open_key != ("tool", key):
            self.tool_calls += 1
            out += self._open(("tool", key), {"type": "tool_use", "id": tool_id or "", "name": name or "", "input": {}})
        if arguments:
            out.append(_delta(self.open_index, {"type": "input_json_delta", "partial_json": arguments}))
        return out

    def finish(self, stop_reason: str, stop_sequence: str | None = None, usage: dict[str, int] | None = None) -> list[dict[str, Any]]:
        out = self.start() + self.close()
        return out + [{"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence},
                       "usage": {"output_tokens": 0, **(usage or {})}},
                      {"type": "message_stop"}]


def usage_parts(usage: dict[str, Any]) -> tuple[int, int, int, int]:
    """(input without the cache, cache reads, cache writes, output) of an Anthropic usage object: what a provider's
    own usage figures are made of (the inverse of anthropic_usage)."""
    return tuple(usage.get(k) or 0 for k in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "output_tokens"))


def anthropic_usage(total_input: int, output: int, cached: int = 0, cache_write: int = 0, *, total_includes_cache: bool) -> dict[str, int]:
    """Usage split the Anthropic way (TRN-6): input_tokens excludes the cached part."""
    plain = total_input - cached - cache_write if total_includes_cache else total_input
    return {"input_tokens": max(plain, 0), "cache_read_input_tokens": cached, "cache_creation_input_tokens": cache_write,
            "output_tokens": output}


def text_of(content: Any) -> str:
    """The text of a content value (a string, or blocks with text)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
    return ""
