"""The Anthropic API persona: an upstream that answers like the real Messages API on the requests live mode
relies on, so the suite's live mode can be tested against the reference gateway and its faults without the
suite observing the upstream (--upstream live in the self-tests).

What it shares with the API (the API's documented wording and status):
- an unknown `anthropic-beta` value: 400 "Unexpected value(s) `...` for the `anthropic-beta` header";
- an unknown top-level body field: 400 "<field>: Extra inputs are not permitted";
- a `temperature` above 1: 400 "temperature: Input should be less than or equal to 1";
- a model it does not serve: 404 not_found_error "model: <name>";
- a prompt over its context window: 400 "prompt is too long: N tokens > 200000 maximum";
- a thinking block sent back with a signature that does not match its text: 400 "Invalid `signature` in `thinking` block";
- streams of long answers spread over time, as a model generates them;
- usage on every answer, billed: `billed` counts exactly the tokens its answers reported.

`strict=False` plays an upstream that is not the Anthropic API (a router's other provider): it ignores betas,
unknown fields, temperature and signatures, and answers every request.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from conformance.live import CONTEXT_WINDOW
from conformance.resources import data_dir
from conformance.upstream.answers import UPSTREAM_CATALOGUE, error_body, models_page
from conformance.upstream.recorder import endpoint_kind, serve_lifespan
from conformance.upstream.script import Event

THINKING_MIN_BUDGET = 1024


def _captured() -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((data_dir("fixtures") / "claude-code" / "requests").glob("*.json"))]


# Every beta value and top-level body field the pinned Claude Code sends (the API knows them all), plus ones the API
# documents: the persona refuses any other, as the API does.
KNOWN_BETAS = frozenset({
    *(value.strip() for capture in _captured() for name, header in capture["headers"] if name.lower() == "anthropic-beta"
      for value in header.split(",")),
    "prompt-caching-2024-07-31", "token-counting-2024-11-01", "output-128k-2025-02-19", "context-1m-2025-08-07",
    "fine-grained-tool-streaming-2025-05-14", "interleaved-thinking-2025-05-14", "context-management-2025-06-27",
    "oauth-2025-04-20",
})
BODY_FIELDS = frozenset({
    *(field for capture in _captured() if isinstance(capture["body"], dict) for field in capture["body"]),
    "model", "messages", "max_tokens", "system", "stream", "metadata", "temperature", "top_p", "top_k", "stop_sequences",
    "tools", "tool_choice", "thinking", "context_management", "output_config", "service_tier", "container", "mcp_servers",
})
# A long answer (max_tokens at least this) streams over about LONG_ANSWER_S, as generation takes time.
LONG_ANSWER_TOKENS, LONG_ANSWER_S = 100, 2.5


def estimated_tokens(text: str) -> int:
    return max(1, len(text.encode()) // 4)


@dataclass
class Billing:
    input_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0


class AnthropicPersona:
    def __init__(self, strict: bool = True) -> None:
        self.strict = strict
        self._key = secrets.token_bytes(16)
        self._lock = threading.Lock()
        self.billed = Billing()

    def sign(self, thinking: str) -> str:
        return base64.b64encode(hmac.new(self._key, thinking.encode(), hashlib.sha256).digest()).decode()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            return await serve_lifespan(receive, send)
        request = Request(scope, receive)
        response = await self.answer(request)
        await response(scope, receive, send)

    async def answer(self, request: Request) -> Response:
        kind = endpoint_kind(request.url.path)
        if request.method == "GET" and kind == "models":
            return JSONResponse(models_page(UPSTREAM_CATALOGUE, request.url.query))
        body = await request.body()
        try:
            payload = json.loads(body)
        except ValueError:
            return refusal(400, "invalid_request_error", "There was an error parsing the body of your request")
        if not isinstance(payload, dict):
            return refusal(400, "invalid_request_error", "The request body must be a JSON object")
        if request.method == "POST" and kind == "count_tokens":
            return JSONResponse({"input_tokens": estimated_tokens(json.dumps(payload.get("messages", "")))})
        if request.method != "POST" or kind != "messages":
            return refusal(404, "not_found_error", "Not Found")
        input_tokens = estimated_tokens(json.dumps(payload))
        return self.refused(request, payload, input_tokens) or self.reply(payload, input_tokens)

    def refused(self, request: Request, payload: dict, input_tokens: int) -> Response | None:
        """The API's refusals, in the order it validates; None: the request is served."""
        if self.strict:
            betas = [v.strip() for v in (request.headers.get("anthropic-beta") or "").split(",") if v.strip()]
            if unknown := [v for v in betas if v not in KNOWN_BETAS]:
                return refusal(400, "invalid_request_error", f"Unexpected value(s) `{', '.join(unknown)}` for the "
                               "`anthropic-beta` header. Please consult our documentation at docs.claude.com or try again "
                               "without the header.")
            if extra := sorted(set(payload) - BODY_FIELDS):
                return refusal(400, "invalid_request_error", f"{extra[0]}: Extra inputs are not permitted")
            temperature = payload.get("temperature")
            if isinstance(temperature, (int, float)) and temperature > 1:
                return refusal(400, "invalid_request_error", "temperature: Input should be less than or equal to 1")
        if payload.get("model") not in UPSTREAM_CATALOGUE:
            return refusal(404, "not_found_error", f"model: {payload.get('model')}")
        if input_tokens > CONTEXT_WINDOW:
            return refusal(400, "invalid_request_error", f"prompt is too long: {input_tokens} tokens > {CONTEXT_WINDOW} maximum")
        if self.strict:
            for m, message in enumerate(payload.get("messages") or []):
                content = message.get("content") if isinstance(message, dict) else None
                for c, block in enumerate(content if isinstance(content, list) else []):
                    if isinstance(block, dict) and block.get("type") == "thinking" and block.get("signature") != self.sign(str(block.get("thinking"))):
                        return refusal(400, "invalid_request_error", f"messages.{m}.content.{c}: Invalid `signature` in `thinking` block")
        return None

    def reply(self, payload: dict, input_tokens: int) -> Response:
        max_tokens = int(payload.get("max_tokens") or 1)
        thinking = isinstance(payload.get("thinking"), dict) and payload["thinking"].get("type") == "enabled"
        words = [f"{n}" for n in range(1, max(1, min(max_tokens, 200)) + 1)] if max_tokens >= LONG_ANSWER_TOKENS else ["ok"]
        thought = "The user wants a short answer." if thinking else ""
        usage = {"input_tokens": input_tokens, "cache_creation_input_tokens": 0,
                 "cache_read_input_tokens": 0, "output_tokens": len(words) + (estimated_tokens(thought) if thinking else 0)}
        with self._lock:
            self.billed.input_tokens += usage["input_tokens"]
            self.billed.output_tokens += usage["output_tokens"]
            self.billed.requests += 1
        blocks = ([{"type": "thinking", "thinking": thought, "signature": self.sign(thought)}] if thinking else []) + [
            {"type": "text", "text": "\n".join(words)}]
        message = {"id": "msg_persona_" + secrets.token_hex(6), "type": "message", "role": "assistant",
                   "model": payload["model"], "content": blocks, "stop_reason": "end_turn", "stop_sequence": None, "usage": usage}
        if not payload.get("stream"):
            return JSONResponse(message)
        return StreamingResponse(stream(message, words), media_type="text/event-stream")


async def stream(message: dict, words: list[str]):
    def event(data: dict) -> bytes:
        return Event(data["type"], data).encode()

    usage = message["usage"]
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    yield event({"type": "message_start", "message": start})
    pause = LONG_ANSWER_S / len(words) if len(words) > 1 else 0.0
    for index, block in enumerate(message["content"]):
        if block["type"] == "thinking":
            yield event({"type": "content_block_start", "index": index, "content_block": {"type": "thinking", "thinking": "", "signature": ""}})
            yield event({"type": "content_block_delta", "index": index, "delta": {"type": "thinking_delta", "thinking": block["thinking"]}})
            yield event({"type": "content_block_delta", "index": index, "delta": {"type": "signature_delta", "signature": block["signature"]}})
        else:
            yield event({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}})
            for n, word in enumerate(words):
                await asyncio.sleep(pause)
                yield event({"type": "content_block_delta", "index": index,
                             "delta": {"type": "text_delta", "text": word if n == 0 else "\n" + word}})
        yield event({"type": "content_block_stop", "index": index})
    yield event({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                 "usage": {"output_tokens": usage["output_tokens"]}})
    yield event({"type": "message_stop"})


def refusal(status: int, error_type: str, message: str) -> JSONResponse:
    return JSONResponse({**error_body(error_type, message), "request_id": "req_persona_" + secrets.token_hex(6)}, status_code=status)
