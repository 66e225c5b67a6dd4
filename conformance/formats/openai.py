"""OpenAI Chat Completions (`POST /v1/chat/completions`): what OpenAI-compatible providers (OpenAI, OpenRouter,
DeepSeek, local servers) speak, and what claude-code-router and LiteLLM's chat route translate Claude Code to.

Wire facts this module follows (platform.openai.com API reference, chat object and chunk object): a stream
is `data: {chat.completion.chunk}` events ending with `data: [DONE]`; tool calls arrive as
`delta.tool_calls[]` with an `index`, the `id` and `function.name` in the first piece and `function.arguments`
in fragments; `finish_reason` is stop, length, tool_calls or content_filter; usage comes in a last chunk with
empty choices only when the request asked `stream_options: {"include_usage": true}`; `prompt_tokens` includes
`prompt_tokens_details.cached_tokens`; errors are `{"error": {"message", "type", "param", "code"}}`.
"""

from __future__ import annotations

import json
import time
from typing import Any

from conformance.formats.base import (
    OTHER,
    UPSTREAM_STOP,
    Call,
    StreamEncoder,
    StreamReader,
    UpstreamCall,
    UpstreamFormat,
    client_tool_id,
    content_blocks,
    json_answer,
    system_texts,
    upstream_tool_id,
)
from conformance.formats.messages import (
    PROMPT_TOO_LONG,
    StreamBuilder,
    anthropic_usage,
    loads,
    text_of,
    usage_parts,
)
from conformance.sse import SSEParser
from conformance.upstream.script import Script

# Top-level fields the Chat Completions API takes; anything else is refused ("Unrecognized request argument").
KNOWN_FIELDS = {
    "model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "stop", "stream",
    "stream_options", "tools", "tool_choice", "parallel_tool_calls", "user", "n", "seed", "presence_penalty",
    "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "response_format", "reasoning_effort",
    "metadata", "store", "service_tier", "modalities", "audio", "prediction", "web_search_options", "prompt_cache_key",
    "safety_identifier", "verbosity", "prompt_cache_retention", "functions", "function_call",
}
PART_TYPES = {"user": ("text", "image_url", "input_audio", "file"), "system": ("text",), "developer": ("text",),
              "assistant": ("text", "refusal"), "tool": ("text",)}
FINISH = {"end_turn": "stop", "stop_sequence": "stop", "tool_use": "tool_calls", "max_tokens": "length",
          "refusal": "content_filter", "pause_turn": "stop"}
STOP_REASON = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "function_call": "tool_use",
               "content_filter": "refusal"}
ERRORS = {400: ("invalid_request_error", None), 401: ("invalid_request_error", "invalid_api_key"),
          403: ("invalid_request_error", "unsupported_country_region_territory"),
          404: ("invalid_request_error", "model_not_found"), 429: ("requests", "rate_limit_exceeded"),
          500: ("server_error", None), 503: ("server_error", "service_unavailable"), 529: ("server_error", "overloaded")}
CONTEXT_WINDOW = 200_000


class OpenAIChat(UpstreamFormat):
    name = "openai"
    family = OTHER
    title = "OpenAI Chat Completions"
    setup = ("the provider's base URL (LiteLLM: `api_base`; claude-code-router: the provider's `api_base_url`) = "
             "`http://HOST:PORT/v1` of the recording upstream; any API key")

    # ---------------------------------------------------------------- the recording upstream's side
    def classify(self, method: str, path: str, body: Any) -> Call:
        path = path.split("?", 1)[0].rstrip("/")
        if path.endswith("/chat/completions") and method == "POST":
            body = body if isinstance(body, dict) else {}
            options = body.get("stream_options") if isinstance(body.get("stream_options"), dict) else {}
            return Call("messages", bool(body.get("stream")), body.get("model"), bool(options.get("include_usage")))
        if path.endswith("/models") and method == "GET":
            return Call("models")
        return Call("other")

    def refusal(self, call: Call, body: Any) -> str | None:
        if not isinstance(body, dict):
            return "We could not parse the JSON body of your request."
        unknown = sorted(set(body) - KNOWN_FIELDS)
        if unknown:
            return f"Unrecognized request argument supplied: {unknown[0]}"
        if not isinstance(body.get("model"), str):
            return "you must provide a model parameter"
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return "[] is too short - 'messages'"
        if "stream_options" in body and not body.get("stream"):
            return "The 'stream_options' parameter is only allowed when 'stream' is enabled."
        for name in ("max_tokens", "max_completion_tokens"):
            if name in body and (not isinstance(body[name], int) or body[name] < 1):
                return f"Invalid '{name}': integer below minimum value."
        pending: set[str] = set()
        for i, message in enumerate(messages):
            role = message.get("role") if isinstance(message, dict) else None
            if role not in PART_TYPES:
                return f"Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', 'tool', and 'developer'."
            if pending and role != "tool":
                return ("An assistant message with 'tool_calls' must be followed by tool messages responding to each "
                        f"'tool_call_id'. The following tool_call_ids did not have response messages: {', '.join(sorted(pending))}")
            content = message.get("content")
            if isinstance(content, list):
                for part in content:
                    kind = part.get("type") if isinstance(part, dict) else None
                    if kind not in PART_TYPES[role]:
                        allowed = ", ".join(f"'{t}'" for t in PART_TYPES[role])
                        return f"Invalid value: '{kind}'. Supported values are: {allowed}."
            elif content is not None and not isinstance(content, str):
                return f"Invalid type for 'messages[{i}].content'."
            if role == "tool":
                call_id = message.get("tool_call_id")
                if call_id not in pending:
                    return ("Invalid parameter: messages with role 'tool' must be a response to a preceeding message "
                            "with 'tool_calls'.")
                pending.discard(call_id)
            for call in message.get("tool_calls") or ():
                function = call.get("function", {}) if isinstance(call, dict) else {}
                if role != "assistant" or not isinstance(function.get("arguments"), str) or not call.get("id"):
                    return f"Invalid 'messages[{i}].tool_calls': each needs an id and function.arguments as a string."
                pending.add(call["id"])
        if pending:
            return f"The following tool_call_ids did not have response messages: {', '.join(sorted(pending))}"
        for tool in body.get("tools") or ():
            function = tool.get("function") if isinstance(tool, dict) else None
            if tool.get("type") != "function" or not isinstance(function, dict) or not function.get("name"):
                return "Invalid 'tools': each tool is {\"type\": \"function\", \"function\": {\"name\", ...}}."
        return None

    def meaning(self, call: Call, body: Any) -> dict[str, Any]:
        system, messages = [], []
        for message in body.get("messages", []):
            role, content = message.get("role"), message.get("content")
            text = content if isinstance(content, str) else text_of(content)
            if role in ("system", "developer"):
                system.append({"type": "text", "text": text})
            elif role == "tool":
                block = {"type": "tool_result", "tool_use_id": message.get("tool_call_id"), "content": text}
                if messages and messages[-1]["role"] == "user" and any(b["type"] == "tool_result" for b in messages[-1]["content"]):
                    messages[-1]["content"].append(block)
                else:
                    messages.append({"role": "user", "content": [block]})
            else:
                blocks = [{"type": "text", "text": text}] if text else []
                if isinstance(content, list):
                    blocks += [{"type": "image", "source": p["image_url"]} for p in content if p.get("type") == "image_url"]
                for tool_call in message.get("tool_calls") or ():
                    blocks.append({"type": "tool_use", "id": tool_call["id"], "name": tool_call["function"]["name"],
                                   "input": loads(tool_call["function"]["arguments"].encode())})
                if role == "user" and messages and messages[-1]["role"] == "user":
                    messages[-1]["content"] += blocks  # the user text that followed tool results in one turn
                else:
                    messages.append({"role": role, "content": blocks})
        meaning: dict[str, Any] = {"model": body.get("model"), "system": system, "messages": messages,
                                   "max_tokens": body.get("max_tokens", body.get("max_completion_tokens"))}
        if "tools" in body:
            meaning["tools"] = [{"name": t["function"]["name"], "description": t["function"].get("description"),
                                 "input_schema": t["function"].get("parameters")} for t in body["tools"]]
        if "stop" in body:
            meaning["stop_sequences"] = [body["stop"]] if isinstance(body["stop"], str) else body["stop"]
        for name in ("temperature", "tool_choice"):
            if name in body:
                meaning[name] = body[name]
        return meaning

    def encoder(self, call: Call) -> StreamEncoder:
        return ChunkEncoder(call)

    def json_message(self, call: Call, message: dict[str, Any]) -> Any:
        text = "".join(b.get("text", "") for b in message.get("content", []) if b.get("type") == "text")
        reasoning = "".join(b.get("thinking", "") for b in message.get("content", []) if b.get("type") == "thinking")
        tool_calls = [{"id": b["id"], "type": "function", "function": {"name": b["name"], "arguments": json.dumps(b.get("input", {}))}}
                      for b in message.get("content", []) if b.get("type") == "tool_use"]
        answer: dict[str, Any] = {"role": "assistant", "content": text or None}
        if reasoning:
            answer["reasoning_content"] = reasoning
        if tool_calls:
            answer["tool_calls"] = tool_calls
        finish = FINISH.get(message.get(UPSTREAM_STOP) or message.get("stop_reason") or "end_turn", "stop")
        return {"id": "chatcmpl-" + message.get("id", "x"), "object": "chat.completion", "created": int(time.time()),
                "model": call.model, "choices": [{"index": 0, "message": answer, "finish_reason": finish}],
                "usage": openai_usage(message.get("usage", {}))}

    def error(self, call: Call, status: int, error_type: str, message: str, retry_after: str | None) -> Script:
        kind, code = ERRORS.get(status, ("server_error" if status >= 500 else "invalid_request_error", None))
        if message.startswith(PROMPT_TOO_LONG):
            code = "context_length_exceeded"
            message = (f"This model's maximum context length is {CONTEXT_WINDOW} tokens. However, your messages resulted "
                       f"in {CONTEXT_WINDOW + 10_000} tokens. Please reduce the length of the messages.")
        headers = (("retry-after", retry_after),) if retry_after else ()
        return json_answer({"error": {"message": message, "type": kind, "param": None, "code": code}}, status,
                           headers + (("x-request-id", "req_conformance"),))

    def models(self) -> Script:
        return json_answer({"object": "list", "data": [{"id": "gpt-conformance", "object": "model", "created": 0,
                                                        "owned_by": "conformance"}]})

    # ---------------------------------------------------------------- the reference translator's side
    def upstream_call(self, request: dict[str, Any], stream: bool, betas: tuple[str, ...] = ()) -> UpstreamCall:
        messages: list[dict[str, Any]] = []
        if texts := system_texts(request):
            messages.append({"role": "system", "content": "\n\n".join(texts)})
        for message in request.get("messages", []):
            blocks = content_blocks(message.get("content"))
            if message.get("role") == "assistant":
                text = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
                out: dict[str, Any] = {"role": "assistant", "content": text or None}
                calls = [{"id": upstream_tool_id(b["id"]), "type": "function",
                          "function": {"name": b["name"], "arguments": json.dumps(b.get("input", {}))}}
                         for b in blocks if b.get("type") == "tool_use"]
                if calls:
                    out["tool_calls"] = calls
                messages.append(out)
                continue
            for block in blocks:
                if block.get("type") == "tool_result":
                    text = text_of(block.get("content"))
                    messages.append({"role": "tool", "tool_call_id": upstream_tool_id(block["tool_use_id"]),
                                     "content": f"Error: {text}" if block.get("is_error") else text})
            parts = [{"type": "text", "text": b["text"]} for b in blocks if b.get("type") == "text"]
            parts += [{"type": "image_url", "image_url": {"url": image_url(b)}} for b in blocks if b.get("type") == "image"]
            if parts:
                messages.append({"role": "user", "content": parts})
        body: dict[str, Any] = {"model": request.get("model"), "messages": messages, "max_tokens": request.get("max_tokens")}
        for ours, theirs in (("temperature", "temperature"), ("top_p", "top_p"), ("stop_sequences", "stop")):
            if ours in request:
                body[theirs] = request[ours]
        tools = [t for t in request.get("tools") or () if "input_schema" in t]  # server tools have no OpenAI form
        if tools:
            body["tools"] = [{"type": "function", "function": {"name": t["name"], "description": t.get("description", ""),
                                                               "parameters": t["input_schema"]}} for t in tools]
            if choice := openai_tool_choice(request.get("tool_choice")):
                body["tool_choice"] = choice
        if stream:
            body.update(stream=True, stream_options={"include_usage": True})
        return UpstreamCall("/v1/chat/completions", json.dumps(body).encode())

    def read_message(self, body: Any, model: str) -> dict[str, Any]:
        choice = (body.get("choices") or [{}])[0]
        answer = choice.get("message") or {}
        builder = StreamBuilder("msg_" + str(body.get("id", "openai")).replace("chatcmpl-", ""), model)
        content: list[dict[str, Any]] = []
        if answer.get("reasoning_content") or answer.get("reasoning"):
            content.append({"type": "thinking", "thinking": answer.get("reasoning_content") or answer.get("reasoning"), "signature": ""})
        if answer.get("content"):
            content.append({"type": "text", "text": answer["content"]})
        for tool_call in answer.get("tool_calls") or ():
            content.append({"type": "tool_use", "id": client_tool_id(tool_call.get("id", "")), "name": tool_call["function"]["name"],
                            "input": loads(tool_call["function"].get("arguments", "{}").encode()) or {}})
        return {"id": builder.message_id, "type": "message", "role": "assistant", "model": model, "content": content,
                "stop_reason": stop_reason(choice.get("finish_reason"), bool(answer.get("tool_calls"))),
                "stop_sequence": None, "usage": usage_from_openai(body.get("usage") or {})}

    def reader(self, model: str) -> StreamReader:
        return ChunkReader(model)

    def read_error(self, status: int, body: bytes) -> tuple[str, str]:
        data = loads(body)
        error = data.get("error") if isinstance(data, dict) and isinstance(data.get("error"), dict) else {}
        message = str(error.get("message") or body.decode("utf-8", "replace")[:500])
        if error.get("code") == "context_length_exceeded" or "maximum context length" in message:
            return "invalid_request_error", f"{PROMPT_TOO_LONG}: {message}"
        return "", message


def image_url(block: dict[str, Any]) -> str:
    source = block.get("source", {})
    if source.get("type") == "base64":
        return f"data:{source.get('media_type')};base64,{source.get('data')}"
    return source.get("url", "")


def openai_tool_choice(choice: Any) -> Any:
    if not isinstance(choice, dict):
        return None
    return {"auto": "auto", "any": "required", "none": "none"}.get(choice.get("type")) or (
        {"type": "function", "function": {"name": choice.get("name")}} if choice.get("type") == "tool" else None)


def stop_reason(finish: str | None, tool_calls: bool) -> str:
    """TRN-3: a turn that ends with tool calls is tool_use whatever finish reason the upstream gave."""
    if tool_calls and finish in ("stop", "tool_calls", "function_call", None):
        return "tool_use"
    return STOP_REASON.get(finish or "stop", "end_turn")


def openai_usage(usage: dict[str, Any]) -> dict[str, Any]:
    plain, cached, written, output = usage_parts(usage)
    prompt = plain + cached + written  # prompt_tokens includes the cached part
    return {"prompt_tokens": prompt, "completion_tokens": output, "total_tokens": prompt + output,
            "prompt_tokens_details": {"cached_tokens": cached}}


def usage_from_openai(usage: dict[str, Any]) -> dict[str, int]:
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    return anthropic_usage(usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0, cached,
                           total_includes_cache=True)


class ChunkEncoder(StreamEncoder):
    def __init__(self, call: Call) -> None:
        super().__init__()
        self.call = call
        self.id, self.created = "chatcmpl-conformance", int(time.time())
        self.tool_index: dict[int, int] = {}  # Anthropic block index -> OpenAI tool call index
        self.finish: str | None = None

    def chunk(self, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        data = {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.call.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return b"data: " + json.dumps(data, ensure_ascii=False).encode() + b"\n\n"

    def render(self, event: dict[str, Any]) -> list[bytes]:
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message", {})
            self.id = "chatcmpl-" + str(message.get("id", "conformance"))
            return [self.chunk({"role": "assistant", "content": ""})]
        if kind == "content_block_start" and event["content_block"].get("type") == "tool_use":
            block = event["content_block"]
            index = self.tool_index.setdefault(event["index"], len(self.tool_index))
            return [self.chunk({"tool_calls": [{"index": index, "id": block["id"], "type": "function",
                                                "function": {"name": block["name"], "arguments": ""}}]})]
        if kind == "content_block_delta":
            delta = event.get("delta", {})
            if delta.get("type") == "text_delta":
                return [self.chunk({"content": delta["text"]})]
            if delta.get("type") == "thinking_delta":
                return [self.chunk({"reasoning_content": delta["thinking"]})]
            if delta.get("type") == "input_json_delta" and event["index"] in self.tool_index:
                return [self.chunk({"tool_calls": [{"index": self.tool_index[event["index"]],
                                                    "function": {"arguments": delta["partial_json"]}}]})]
        if kind == "message_delta":
            self.finish = FINISH.get(event.get(UPSTREAM_STOP) or event.get("delta", {}).get("stop_reason") or "end_turn", "stop")
        if kind == "message_stop":
            frames = [self.chunk({}, self.finish or "stop")]
            if self.call.wants_usage:
                frames.append(b"data: " + json.dumps({"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                                                      "model": self.call.model, "choices": [],
                                                      "usage": openai_usage(self.usage)}).encode() + b"\n\n")
            return frames + [b"data: [DONE]\n\n"]
        if kind == "error":
            error = event.get("error", {})
            return [b"data: " + json.dumps({"error": {"message": error.get("message"), "type": "server_error",
                                                      "code": error.get("type")}}).encode() + b"\n\n"]
        return []


class ChunkReader(StreamReader):
    def __init__(self, model: str) -> None:
        self.parser = SSEParser()
        self.builder = StreamBuilder("msg_openai", model)
        self.finish: str | None = None
        self.usage: dict[str, int] = {}

    def feed(self, chunk: bytes) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for event in self.parser.feed(chunk, 0.0):
            if event.data.strip() == "[DONE]" or self.failed:
                continue
            data = event.json()
            if not isinstance(data, dict):
                continue
            if isinstance(data.get("error"), dict):
                out += self.upstream_error("overloaded_error" if "overload" in str(data["error"].get("code")) else "api_error",
                                           str(data["error"].get("message")))
                continue
            if not self.builder.started:
                self.builder.message_id = "msg_" + str(data.get("id", "openai")).replace("chatcmpl-", "")
            out += self.builder.start()
            if data.get("usage"):
                self.usage = usage_from_openai(data["usage"])
            for choice in data.get("choices") or ():
                delta = choice.get("delta") or {}
                if reasoning := delta.get("reasoning_content") or delta.get("reasoning"):
                    out += self.builder.reasoning(reasoning)
                if delta.get("content"):
                    out += self.builder.text(delta["content"])
                for tool_call in delta.get("tool_calls") or ():
                    function = tool_call.get("function") or {}
                    out += self.builder.tool_call(tool_call.get("index", 0), client_tool_id(tool_call["id"]) if tool_call.get("id") else None,
                                                  function.get("name"), function.get("arguments") or "")
                if choice.get("finish_reason"):
                    self.finish = choice["finish_reason"]
        return out

    def end(self) -> list[dict[str, Any]]:
        if self.failed:
            return []
        if self.finish is None:
            return self.cut_short("a finish reason")
        return self.builder.finish(stop_reason(self.finish, self.builder.tool_calls > 0), usage=self.usage)
