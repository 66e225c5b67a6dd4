"""Faults of the reference gateway's translating mode (--upstream-format other than anthropic; spec L2).

Each is a translation bug seen in real gateways (cited on the requirement), made on the Anthropic side of the
translator so it applies to every upstream format: the events sent to the client, the Message for stream:false,
the error, or the request before it is translated."""

from __future__ import annotations

import json

from conformance.formats.base import OTHER, upstream_tool_id
from conformance.formats.converse import TOO_LONG as BEDROCK_TOO_LONG
from conformance.formats.messages import PROMPT_TOO_LONG
from conformance.reference.faults.base import Fault, fault


class TranslationFault(Fault):
    """Changes only what the translating mode does; a relay run with it is the correct gateway."""

    translating_only = True

    @classmethod
    def applies_to(cls, upstream_format) -> bool:
        """Whether the fault changes what the requirements it breaks judge, for an upstream of this format (default:
        the formats of another family; for an Anthropic dialect the same change breaks the A-J requirements that
        apply to it as written, or nothing)."""
        return upstream_format.family == OTHER


def re_encoding(upstream_format) -> bool:
    """The translator re-encodes the upstream's answers (every format but a dialect relayed as it is, Vertex)."""
    return not upstream_format.relays_stream


@fault
class ToolCallsOnOneIndex(TranslationFault):
    name = "tool-calls-one-index"
    description = "puts every tool call of a turn on the first tool call's block index (lich0821/ccNexus#89)"
    breaks = ("TRN-2",)

    def __init__(self) -> None:
        self.first_tool_index: int | None = None
        self.tool_indexes: set[int] = set()

    def translated_events(self, event):
        if event.get("type") == "message_start":
            self.first_tool_index, self.tool_indexes = None, set()
        if event.get("type") == "content_block_start" and event["content_block"].get("type") == "tool_use":
            self.tool_indexes.add(event["index"])
            if self.first_tool_index is None:
                self.first_tool_index = event["index"]
        if event.get("index") in self.tool_indexes:
            event = {**event, "index": self.first_tool_index}
        return [event]


@fault
class ToolCallAsEndTurn(TranslationFault):
    name = "tool-call-as-end-turn"
    description = "reports a turn that ends with a tool call as end_turn (router-for-me/CLIProxyAPI#876)"
    # Claude Code 2.1.331 in print mode still runs the tool_use blocks of such a turn (E2E-2 passes: measured).
    breaks = ("TRN-3",)

    def translated_events(self, event):
        if event.get("type") == "message_delta" and event.get("delta", {}).get("stop_reason") == "tool_use":
            event = {**event, "delta": {**event["delta"], "stop_reason": "end_turn"}}
        return [event]

    def translated_message(self, message, upstream_body):
        return {**message, "stop_reason": "end_turn"} if message.get("stop_reason") == "tool_use" else message


@fault
class DropToolArguments(TranslationFault):
    name = "drop-tool-arguments"
    description = "drops the tool call's argument fragments: every tool runs with empty input"
    breaks = ("TRN-2", "E2E-2")

    def translated_events(self, event):
        if event.get("type") == "content_block_delta" and event.get("delta", {}).get("type") == "input_json_delta":
            return []
        return [event]


@fault
class UnsafeToolIds(TranslationFault):
    name = "unsafe-tool-ids"
    description = "passes the upstream's call ids through even with characters Anthropic refuses (danny-avila/agents#140)"
    breaks = ("TRN-2",)

    @classmethod
    def applies_to(cls, upstream_format) -> bool:
        return upstream_format.family == OTHER and upstream_format.call_ids  # Gemini gives no ids: the translator makes them

    def translated_events(self, event):
        block = event.get("content_block") or {}
        if event.get("type") == "content_block_start" and block.get("type") == "tool_use":
            event = {**event, "content_block": {**block, "id": upstream_tool_id(block["id"])}}
        return [event]


@fault
class SwapToolResults(TranslationFault):
    name = "swap-tool-results"
    description = "attaches each tool result of a turn to another call (results detached from their calls)"
    breaks = ("TRN-4",)

    def translate(self, upstream_format, request, stream, betas=()):
        request = json.loads(json.dumps(request))
        for message in request.get("messages", []):
            results = [b for b in message.get("content") or () if isinstance(b, dict) and b.get("type") == "tool_result"]
            ids = [b["tool_use_id"] for b in results]
            for block, other in zip(results, ids[1:] + ids[:1]):
                block["tool_use_id"] = other
        return upstream_format.upstream_call(request, stream, betas)


@fault
class DropSystem(TranslationFault):
    name = "drop-system"
    description = "sends the upstream no system prompt"
    breaks = ("TRN-4",)

    def translate(self, upstream_format, request, stream, betas=()):
        return upstream_format.upstream_call({k: v for k, v in request.items() if k != "system"}, stream, betas)


@fault
class ClaudeFieldsToUpstream(TranslationFault):
    name = "claude-fields-to-upstream"
    description = "copies Claude-only fields (thinking, context_management, output_config) into the provider's request"
    breaks = ("TRN-5", "BODY-16", "E2E-1", "E2E-2", "E2E-4")

    def translate(self, upstream_format, request, stream, betas=()):
        call = upstream_format.upstream_call(request, stream, betas)
        extra = {k: request[k] for k in ("thinking", "context_management", "output_config") if k in request}
        if not extra:
            return call
        return type(call)(call.path, json.dumps({**json.loads(call.body), **extra}).encode(), call.headers)


@fault
class PlaceholderUsage(TranslationFault):
    name = "placeholder-usage"
    description = "reports placeholder usage (0 input, 1 output) instead of the upstream's counts (MadAppGang/claudish#123)"
    breaks = ("TRN-6",)
    PLACEHOLDER = {"input_tokens": 0, "output_tokens": 1}

    def translated_events(self, event):
        if event.get("type") == "message_start":
            event = {**event, "message": {**event["message"], "usage": dict(self.PLACEHOLDER)}}
        elif event.get("type") == "message_delta":
            event = {**event, "usage": {"output_tokens": 1}}
        return [event]

    def translated_message(self, message, upstream_body):
        return {**message, "usage": dict(self.PLACEHOLDER)}


@fault
class UpstreamJsonForStreamFalse(TranslationFault):
    name = "upstream-json-for-stream-false"
    description = "answers stream:false with the upstream's own JSON (decolua/9router#3319)"
    breaks = ("TRN-8", "MSG-1", "MSG-2", "SSE-11", "ERR-6", "PATH-1")

    def translated_message(self, message, upstream_body):
        return upstream_body


@fault
class LeakDone(TranslationFault):
    name = "leak-done"
    description = "ends the translated stream with the upstream's data: [DONE] sentinel"
    breaks = ("SSE-13", "TRN-8")

    @classmethod
    def applies_to(cls, upstream_format) -> bool:
        return re_encoding(upstream_format)

    def stream_trailer(self):
        return b"data: [DONE]\n\n"


@fault
class RewordContextWindow(TranslationFault):
    name = "reword-context-window"
    description = "words a context-window error its own way, without 'prompt is too long' (spec ERR-3)"
    breaks = ("TRN-7", "ERR-3")

    @classmethod
    def applies_to(cls, upstream_format) -> bool:
        return re_encoding(upstream_format)

    def translated_error(self, status, error_type, message, retry_after):
        for wording in (PROMPT_TOO_LONG, BEDROCK_TOO_LONG):
            if message.startswith(wording):
                message = "ContextWindowExceededError: " + message[len(wording):].lstrip(": ")
        return status, error_type, message, retry_after


@fault
class RateLimitAs500(TranslationFault):
    name = "rate-limit-as-500"
    description = "turns the upstream's 429 into a 500 api_error"
    breaks = ("TRN-7",)

    @classmethod
    def applies_to(cls, upstream_format) -> bool:
        return re_encoding(upstream_format)

    def translated_error(self, status, error_type, message, retry_after):
        return (500, "api_error", message, None) if status == 429 else (status, error_type, message, retry_after)


@fault
class DropRetryAfter(TranslationFault):
    name = "lose-retry-after"
    description = "does not carry the provider's retry-after (header or Gemini's RetryInfo) to the client's 429"
    breaks = ("TRN-7",)

    @classmethod
    def applies_to(cls, upstream_format) -> bool:
        return re_encoding(upstream_format) and upstream_format.gives_retry_after

    def translated_error(self, status, error_type, message, retry_after):
        return status, error_type, message, None


@fault
class NoPings(TranslationFault):
    name = "no-pings"
    description = "sends no ping events while the upstream is silent (BerriAI/litellm#36024)"
    breaks = ("SSE-14",)
    ping_interval_s = None

    @classmethod
    def applies_to(cls, upstream_format) -> bool:
        return upstream_format.pingless


@fault
class ReasoningAsText(TranslationFault):
    name = "reasoning-as-text"
    description = "sends the upstream's reasoning as answer text"
    breaks = ("TRN-9",)

    def translated_events(self, event):
        block = event.get("content_block") or {}
        delta = event.get("delta") or {}
        if event.get("type") == "content_block_start" and block.get("type") == "thinking":
            return [{**event, "content_block": {"type": "text", "text": ""}}]
        if delta.get("type") == "thinking_delta":
            return [{**event, "delta": {"type": "text_delta", "text": delta["thinking"]}}]
        if delta.get("type") == "signature_delta":
            return []
        return [event]


@fault
class ModelByRequestKind(TranslationFault):
    name = "model-by-request-kind"
    description = "routes stream:false requests to another upstream model than streamed ones"
    breaks = ("TRN-10",)

    def translate(self, upstream_format, request, stream, betas=()):
        if not stream:
            request = {**request, "model": f"{request.get('model')}-batch"}
        return upstream_format.upstream_call(request, stream, betas)


@fault
class CharactersSplitAcrossChunks(TranslationFault):
    name = "characters-split-across-chunks"
    description = "decodes each upstream chunk on its own: a character split across two chunks arrives as U+FFFD"
    breaks = ("TRN-1", "E2E-1")

    def translated_events(self, event):
        delta = event.get("delta") or {}
        text = delta.get("text", "")
        if delta.get("type") == "text_delta" and not text.isascii():
            first = next(i for i, c in enumerate(text) if not c.isascii())
            mangled = text[:first] + "\ufffd" * len(text[first].encode()) + text[first + 1:]
            event = {**event, "delta": {**delta, "text": mangled}}
        return [event]


@fault
class BetasNotInBedrockBody(TranslationFault):
    name = "betas-not-in-bedrock-body"
    description = "sends Bedrock no anthropic_beta array: the client's betas are lost (spec PROV-3)"
    breaks = ("PROV-3", "BODY-2", "BODY-5", "BODY-6", "BODY-7", "BODY-8", "SSE-12")

    @classmethod
    def applies_to(cls, upstream_format) -> bool:
        return upstream_format.name == "bedrock"

    def translate(self, upstream_format, request, stream, betas=()):
        return upstream_format.upstream_call(request, stream, ())
