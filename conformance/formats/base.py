"""An upstream wire format: how the recording upstream plays that provider, and how the reference
translator talks to it. Every answer is scripted in Anthropic terms (formats.messages) and rendered here."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, ClassVar

from conformance.formats.messages import (
    TOOL_ID,
    StreamBuilder,
    error_envelope,
    read_script,
)
from conformance.upstream.script import (
    JSON_HEADERS,
    Close,
    Event,
    Raw,
    Respond,
    Script,
    Sleep,
    Step,
)

RELAY, DIALECT, OTHER = "anthropic relay", "anthropic dialect", "other format"
# A script hint on message_delta: the Anthropic stop reason whose provider equivalent the provider reports instead
# of the real one (e.g. "end_turn": OpenAI-compatible upstreams that say "stop" after tool calls, TRN-3).
# Providers' renderers read it; the Anthropic format never sends it.
UPSTREAM_STOP = "cgc_upstream_stop"
# Ids the translator minted for an upstream call id Claude Code could not send back (TRN-2): reversible.
MINTED_ID_PREFIX = "cgcx_"


@dataclass(frozen=True)
class Call:
    """What a request to the provider asks for, read off its path and body."""

    kind: str  # messages | count_tokens | models | other
    streaming: bool = False
    model: str | None = None
    wants_usage: bool = True  # OpenAI streams carry usage only when stream_options.include_usage was asked


class StreamEncoder:
    """Renders Anthropic stream events as a provider's stream frames, one event at a time, keeping the usage so far
    (message_start's, updated by each message_delta) for the provider's own usage frame."""

    def __init__(self) -> None:
        self.usage: dict[str, Any] = {}

    def feed(self, event: dict[str, Any]) -> list[bytes]:
        if event.get("type") == "message_start":
            self.usage = dict(event.get("message", {}).get("usage") or {})
        elif event.get("type") == "message_delta":
            self.usage.update(event.get("usage") or {})
        return self.render(event)

    def render(self, event: dict[str, Any]) -> list[bytes]:
        raise NotImplementedError

    def end(self) -> list[bytes]:
        return []


class StreamReader:
    """Reads a provider's stream bytes back into Anthropic events (the translator's side), building them with
    `builder`; after an upstream error (`failed`) nothing more is read."""

    builder: StreamBuilder
    failed = False

    def upstream_error(self, error_type: str, message: str) -> list[dict[str, Any]]:
        """The provider reported an error mid-stream: the open block closed, then an Anthropic error event (SSE-7)."""
        self.failed = True
        return self.builder.start() + self.builder.close() + [error_envelope(error_type, message)]

    def cut_short(self, missing: str) -> list[dict[str, Any]]:
        """The provider's stream ended without `missing`: an api_error event instead of a clean end."""
        return self.builder.start() + self.builder.close() + [error_envelope("api_error", f"the upstream's stream ended without {missing}")]

    def feed(self, chunk: bytes) -> list[dict[str, Any]]:
        raise NotImplementedError

    def end(self) -> list[dict[str, Any]]:
        """Events that end the stream once the upstream closed it."""
        raise NotImplementedError


@dataclass(frozen=True)
class UpstreamCall:
    """A request the translator sends upstream."""

    path: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = (("content-type", "application/json"),)


class UpstreamFormat:
    name: ClassVar[str]
    family: ClassVar[str]
    title: ClassVar[str]
    # The provider sends no keep-alives of its own: a translating gateway must ping during silences (SSE-5, SSE-14).
    pingless: ClassVar[bool] = True
    stream_headers: ClassVar[tuple[tuple[str, str], ...]] = (("content-type", "text/event-stream"),)
    # README: what a gateway is configured with to route to the recording upstream in this format.
    setup: ClassVar[str] = ""
    # The provider's tool calls carry ids its tool results name (Gemini's pair by position and name instead).
    call_ids: ClassVar[bool] = True
    # The provider says how long to wait on a 429 (a retry-after header, Gemini's RetryInfo); Bedrock does not.
    gives_retry_after: ClassVar[bool] = True
    # Anthropic dialects: the answer is the Messages API's own, relayed as it is (Vertex).
    relays_stream: ClassVar[bool] = False
    # The client's anthropic-* headers go upstream too (Vertex); Bedrock takes the betas in its body.
    forwards_anthropic_headers: ClassVar[bool] = False
    # The provider's plain finish reason can follow tool calls: OpenAI-compatible servers that say "stop", Gemini's
    # STOP (TRN-3). Converse says tool_use, and the Responses API has no finish reason.
    plain_stop_after_tool_calls: ClassVar[bool] = True
    # The provider takes stop sequences (the Responses API has none: they cannot reach it, TRN-4).
    takes_stop_sequences: ClassVar[bool] = True
    # The provider's stream can carry SSE comment lines (an SSE stream relayed as it is).
    carries_comments: ClassVar[bool] = False

    # ---------------------------------------------------------------- the recording upstream's side
    def classify(self, method: str, path: str, body: Any) -> Call:
        """path: as received, with its query string."""
        raise NotImplementedError

    def refusal(self, call: Call, body: Any) -> str | None:
        """The provider's own message for a request it refuses with 400 (validation as strict as the real one)."""
        return None

    def meaning(self, call: Call, body: Any) -> dict[str, Any]:
        """The request read back as an Anthropic Messages request (system, messages, tools, ...; TRN-4)."""
        raise NotImplementedError

    def encoder(self, call: Call) -> StreamEncoder:
        raise NotImplementedError

    def json_message(self, call: Call, message: dict[str, Any]) -> Any:
        raise NotImplementedError

    def error(self, call: Call, status: int, error_type: str, message: str, retry_after: str | None) -> Script:
        """An error answer in the provider's shape (context-window errors in the provider's own words)."""
        raise NotImplementedError

    def models(self) -> Script:
        return self.error(Call("other"), 404, "not_found_error", "no such endpoint", None)

    def anthropic_body(self, call: Call, body: dict[str, Any]) -> dict[str, Any]:
        """Anthropic dialects: the Messages body the request stands for, the dialect's documented changes undone."""
        raise NotImplementedError

    def nonce_source(self, body: bytes) -> bytes:
        """The bytes that carry the scenario marker (a body that wraps the request, e.g. in base64, unwrapped)."""
        return body

    def answer_count_tokens(self, body: bytes, script: Script | None) -> Script:
        """The provider's token count endpoint (Anthropic dialects); others have none the suite plays."""
        return self.error(Call("count_tokens"), 404, "not_found_error", "no token counting endpoint", None)

    def render(self, call: Call, script: Script) -> Script:
        """A scripted answer (Anthropic terms) in the provider's format."""
        reply = read_script(script)
        if reply.error is not None or reply.status >= 400:
            error = reply.error or {"type": "api_error", "message": (reply.other or b"").decode("utf-8", "replace")}
            return self.error(call, reply.status, error.get("type", "api_error"), error.get("message", ""), reply.retry_after)
        if reply.other is not None:
            return Script((Respond(reply.status, reply.headers), Raw(reply.other)))
        if not call.streaming:
            answer = json_answer(self.json_message(call, reply.whole_message() or {}))
            if reply.closes:  # the scripted answer is cut short: so is the provider's
                data = answer.body_steps[0].data  # type: ignore[union-attr]
                return Script((answer.respond, Raw(data[:len(data) // 2]), Close()))
            return answer
        encoder = self.encoder(call)
        steps: list[Step] = []
        for step in reply.events():
            if isinstance(step, Sleep):
                steps.append(step)
            elif isinstance(step, Close):
                return Script((Respond(200, self.stream_headers), *steps, Close()))
            else:
                pieces = [piece for frame in encoder.feed(step) for piece in split_inside_a_character(frame)]
                # The first piece carries the event it renders, for the step log (conformance.upstream.script.Raw).
                steps += [Raw(piece, Event(step.get("type", ""), step) if i == 0 else None) for i, piece in enumerate(pieces)]
        steps += [Raw(frame) for frame in encoder.end()]
        return Script((Respond(200, self.stream_headers), *steps))

    # ---------------------------------------------------------------- the reference translator's side
    def upstream_call(self, request: dict[str, Any], stream: bool, betas: tuple[str, ...] = ()) -> UpstreamCall:
        """betas: the client's anthropic-beta values (a format that carries them in its body uses them)."""
        raise NotImplementedError

    def count_tokens_call(self, request: dict[str, Any]) -> UpstreamCall | None:
        """Where the provider counts tokens (Anthropic dialects); None: the translator estimates locally."""
        return None

    def count_tokens_answer(self, body: Any) -> dict[str, Any]:
        return body if isinstance(body, dict) else {}

    def read_message(self, body: Any, model: str) -> dict[str, Any]:
        raise NotImplementedError

    def reader(self, model: str) -> StreamReader:
        raise NotImplementedError

    def read_error(self, status: int, body: bytes) -> tuple[str, str]:
        """(Anthropic error type or "" for the status's own, message) for a provider error; the status is kept (TRN-7)."""
        raise NotImplementedError

    def retry_after(self, body: bytes) -> str | None:
        """Seconds to wait, from an error body that carries them (e.g. Gemini's RetryInfo), when no header does."""
        return None

    def credential_headers(self, key: str) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {key}"),)


def json_answer(body: Any, status: int = 200, headers: tuple[tuple[str, str], ...] = ()) -> Script:
    return Script((Respond(status, JSON_HEADERS + headers), Raw(json.dumps(body, separators=(",", ":")).encode())))


def split_inside_a_character(frame: bytes) -> list[bytes]:
    """A frame holding a multi-byte character is written in two pieces split inside that character, as a real
    provider's TCP segments may be: a translator that decodes each chunk on its own mangles it (TRN-1)."""
    for i, byte in enumerate(frame):
        if byte >= 0xC0:  # the lead byte of a multi-byte UTF-8 sequence
            return [frame[:i + 1], frame[i + 1:]]
    return [frame]


def client_tool_id(upstream_id: str) -> str:
    """An id Claude Code can send back (TRN-2): the upstream's when it fits the pattern, else a reversible one."""
    if upstream_id and TOOL_ID.match(upstream_id) and not upstream_id.startswith(MINTED_ID_PREFIX):
        return upstream_id
    return MINTED_ID_PREFIX + base64.urlsafe_b64encode(upstream_id.encode()).decode().rstrip("=")


def upstream_tool_id(client_id: str) -> str:
    """The upstream's call id for an id client_tool_id() gave out."""
    if not client_id.startswith(MINTED_ID_PREFIX):
        return client_id
    encoded = client_id[len(MINTED_ID_PREFIX):]
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return client_id


def system_texts(request: dict[str, Any]) -> list[str]:
    """The client's system prompt texts in order, the attribution block left out (TRN-4 allows dropping it)."""
    system = request.get("system")
    if isinstance(system, str):
        return [system] if system else []
    return [b["text"] for b in system or () if isinstance(b, dict) and b.get("type") == "text" and b.get("text")
            and not b["text"].startswith("x-anthropic-billing-header")]


def content_blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content or () if isinstance(b, dict)]
