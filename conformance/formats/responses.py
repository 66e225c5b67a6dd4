"""OpenAI Responses API (`POST /v1/responses`): where LiteLLM's `/v1/messages` sends `openai/` models by default.

Wire facts this module follows (platform.openai.com API reference, Responses and its streaming events): the
request has `instructions`, `input` items (messages with input_text / output_text parts, `function_call` items
with `call_id`, `name`, `arguments`, and `function_call_output` items answering a `call_id`), flat function
`tools`, `max_output_tokens`, and no stop sequences; the stream is typed SSE events (response.created,
response.output_item.added, response.output_text.delta, response.function_call_arguments.delta,
response.reasoning_text.delta, response.output_item.done, response.completed or response.incomplete with the
response and its usage, response.failed, error); there is no finish reason: function_call items mean a tool
turn, `incomplete_details.reason: max_output_tokens` a length cut; `usage.input_tokens` includes
`input_tokens_details.cached_tokens`; unknown parameters are refused ("Unknown parameter: '...'.").
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from conformance.formats.base import (
    Call,
    StreamEncoder,
    StreamReader,
    UpstreamCall,
    client_tool_id,
    content_blocks,
    system_texts,
    upstream_tool_id,
)
from conformance.formats.messages import (
    StreamBuilder,
    anthropic_usage,
    events_from_message,
    loads,
    message_from_events,
    text_of,
    usage_parts,
)
from conformance.formats.openai import OpenAIChat, image_url, openai_tool_choice
from conformance.sse import SSEParser

KNOWN_FIELDS = {"model", "input", "instructions", "tools", "tool_choice", "max_output_tokens", "temperature", "top_p",
                "stream", "reasoning", "store", "parallel_tool_calls", "text", "truncation", "metadata", "include",
                "previous_response_id", "user", "service_tier", "background", "prompt", "top_logprobs", "stream_options",
                "prompt_cache_key", "prompt_cache_retention", "safety_identifier", "max_tool_calls", "conversation"}
PART_TYPES = {"user": ("input_text", "input_image", "input_file"), "system": ("input_text",), "developer": ("input_text",),
              "assistant": ("output_text", "refusal")}
ITEM_TYPES = ("message", "function_call", "function_call_output", "reasoning")


def unknown_parameter(name: str) -> str:
    return f"Unknown parameter: '{name}'."


class OpenAIResponses(OpenAIChat):
    name = "openai-responses"
    title = "OpenAI Responses API"
    setup = ("the provider's base URL (LiteLLM: `api_base` = `http://HOST:PORT/v1` for an `openai/` model, which "
             "LiteLLM's /v1/messages sends to /v1/responses); any API key")
    takes_stop_sequences = False
    plain_stop_after_tool_calls = False

    # ---------------------------------------------------------------- the recording upstream's side
    def classify(self, method: str, path: str, body: Any) -> Call:
        path = path.split("?", 1)[0].rstrip("/")
        if path.endswith("/responses") and method == "POST":
            body = body if isinstance(body, dict) else {}
            return Call("messages", bool(body.get("stream")), body.get("model"))
        return super().classify(method, path, body)

    def refusal(self, call: Call, body: Any) -> str | None:
        if not isinstance(body, dict):
            return "We could not parse the JSON body of your request."
        if extra := sorted(set(body) - KNOWN_FIELDS):
            return unknown_parameter(extra[0])
        if not isinstance(body.get("model"), str):
            return "Missing required parameter: 'model'."
        items = body.get("input")
        if isinstance(items, str):
            return None
        if not isinstance(items, list) or not items:
            return "Invalid 'input': expected a string or a non-empty array of input items."
        calls: set[str] = set()
        for i, item in enumerate(items):
            kind = item.get("type", "message") if isinstance(item, dict) else None
            if kind not in ITEM_TYPES:
                return f"Invalid value: '{kind}'. Supported values are: {', '.join(repr(t) for t in ITEM_TYPES)}."
            if kind == "message":
                role = item.get("role")
                if role not in PART_TYPES:
                    return f"Invalid value: '{role}'. Supported values are: 'assistant', 'system', 'developer', and 'user'."
                content = item.get("content")
                for part in content if isinstance(content, list) else ():
                    if part.get("type") not in PART_TYPES[role]:
                        allowed = ", ".join(f"'{t}'" for t in PART_TYPES[role])
                        return f"Invalid value: '{part.get('type')}'. Supported values are: {allowed}. (input[{i}].content)"
            elif kind == "function_call":
                if not item.get("call_id") or not isinstance(item.get("arguments"), str):
                    return f"Missing required parameter: 'input[{i}].call_id'."
                calls.add(item["call_id"])
            elif kind == "function_call_output" and item.get("call_id") not in calls:
                return f"No tool call found for function call output with call_id {item.get('call_id')}."
        for tool in body.get("tools") or ():
            if tool.get("type") == "function" and not tool.get("name"):
                return "Missing required parameter: 'tools[0].name'."
        return None

    def meaning(self, call: Call, body: Any) -> dict[str, Any]:
        system = [{"type": "text", "text": body["instructions"]}] if body.get("instructions") else []
        messages: list[dict[str, Any]] = []

        def add(role: str, block: dict[str, Any]) -> None:
            if messages and messages[-1]["role"] == role:
                messages[-1]["content"].append(block)
            else:
                messages.append({"role": role, "content": [block]})

        items = body.get("input")
        for item in [{"type": "message", "role": "user", "content": items}] if isinstance(items, str) else items:
            kind = item.get("type", "message")
            if kind == "message":
                content = item.get("content")
                text = content if isinstance(content, str) else "".join(p.get("text", "") for p in content or ())
                if item["role"] in ("system", "developer"):
                    system.append({"type": "text", "text": text})
                elif text:
                    add(item["role"], {"type": "text", "text": text})
            elif kind == "function_call":
                add("assistant", {"type": "tool_use", "id": item["call_id"], "name": item.get("name"),
                                  "input": loads(item["arguments"].encode())})
            elif kind == "function_call_output":
                output = item.get("output")
                add("user", {"type": "tool_result", "tool_use_id": item.get("call_id"),
                             "content": output if isinstance(output, str) else json.dumps(output)})
        meaning: dict[str, Any] = {"model": body.get("model"), "system": system, "messages": messages,
                                   "max_tokens": body.get("max_output_tokens")}
        if "tools" in body:
            meaning["tools"] = [{"name": t.get("name"), "description": t.get("description"), "input_schema": t.get("parameters")}
                                for t in body["tools"] if t.get("type") == "function"]
        if "temperature" in body:
            meaning["temperature"] = body["temperature"]
        return meaning

    def encoder(self, call: Call) -> StreamEncoder:
        return ResponseEventEncoder(call)

    def json_message(self, call: Call, message: dict[str, Any]) -> Any:
        encoder = ResponseEventEncoder(call)
        for event in events_from_message(message):
            encoder.feed(event)
        return encoder.response(encoder.status())

    # ---------------------------------------------------------------- the reference translator's side
    def upstream_call(self, request: dict[str, Any], stream: bool, betas: tuple[str, ...] = ()) -> UpstreamCall:
        items: list[dict[str, Any]] = []
        for message in request.get("messages", []):
            blocks = content_blocks(message.get("content"))
            role = message.get("role")
            if role == "assistant":
                text = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
                if text:
                    items.append({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]})
                items += [{"type": "function_call", "call_id": upstream_tool_id(b["id"]), "name": b["name"],
                           "arguments": json.dumps(b.get("input", {}))} for b in blocks if b.get("type") == "tool_use"]
                continue
            items += [{"type": "function_call_output", "call_id": upstream_tool_id(b["tool_use_id"]),
                       "output": ("Error: " if b.get("is_error") else "") + text_of(b.get("content"))}
                      for b in blocks if b.get("type") == "tool_result"]
            parts = [{"type": "input_text", "text": b["text"]} for b in blocks if b.get("type") == "text"]
            parts += [{"type": "input_image", "image_url": image_url(b)} for b in blocks if b.get("type") == "image"]
            if parts:
                items.append({"type": "message", "role": "user", "content": parts})
        body: dict[str, Any] = {"model": request.get("model"), "input": items, "max_output_tokens": request.get("max_tokens"),
                                "store": False}
        if texts := system_texts(request):
            body["instructions"] = "\n\n".join(texts)
        for name in ("temperature", "top_p"):
            if name in request:
                body[name] = request[name]
        tools = [t for t in request.get("tools") or () if "input_schema" in t]
        if tools:
            body["tools"] = [{"type": "function", "name": t["name"], "description": t.get("description", ""),
                              "parameters": t["input_schema"]} for t in tools]
            choice = openai_tool_choice(request.get("tool_choice"))
            if isinstance(choice, dict):
                choice = {"type": "function", "name": choice["function"]["name"]}
            if choice:
                body["tool_choice"] = choice
        if stream:
            body["stream"] = True
        return UpstreamCall("/v1/responses", json.dumps(body).encode())

    def read_message(self, body: Any, model: str) -> dict[str, Any]:
        reader = ResponseEventReader(model)
        events = reader.finished(body if isinstance(body, dict) else {})
        return message_from_events(events)

    def reader(self, model: str) -> StreamReader:
        return ResponseEventReader(model)


class ResponseEventEncoder(StreamEncoder):
    """Anthropic events as Responses stream events; the last one carries the whole response and its usage."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.id = "resp_" + secrets.token_hex(8)
        self.output: list[dict[str, Any]] = []
        self.items: dict[int, dict[str, Any]] = {}  # Anthropic block index -> output item
        super().__init__()
        self.stop = "end_turn"
        self.sequence = 0

    def event(self, kind: str, **data: Any) -> bytes:
        self.sequence += 1
        payload = {"type": kind, "sequence_number": self.sequence, **data}
        return f"event: {kind}\ndata: ".encode() + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n"

    def status(self) -> str:
        return "incomplete" if self.stop == "max_tokens" else "completed"

    def response(self, status: str) -> dict[str, Any]:
        plain, cached, written, output = usage_parts(self.usage)
        total_input = plain + cached + written  # input_tokens includes the cached part
        return {"id": self.id, "object": "response", "created_at": int(time.time()), "status": status, "model": self.call.model,
                "output": self.output, "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
                "usage": {"input_tokens": total_input, "input_tokens_details": {"cached_tokens": cached},
                          "output_tokens": output, "output_tokens_details": {"reasoning_tokens": 0},
                          "total_tokens": total_input + output}}

    def render(self, event: dict[str, Any]) -> list[bytes]:
        kind, index = event.get("type"), event.get("index")
        if kind == "message_start":
            return [self.event("response.created", response={**self.response("in_progress"), "usage": None})]
        if kind == "content_block_start":
            block = event["content_block"]
            item_id = f"item_{index}_{secrets.token_hex(4)}"
            if block.get("type") == "tool_use":
                item = {"type": "function_call", "id": item_id, "call_id": block["id"], "name": block["name"], "arguments": "", "status": "in_progress"}
            elif block.get("type") == "thinking":
                item = {"type": "reasoning", "id": item_id, "summary": [], "content": [{"type": "reasoning_text", "text": ""}]}
            elif block.get("type") == "text":
                item = {"type": "message", "id": item_id, "role": "assistant", "status": "in_progress",
                        "content": [{"type": "output_text", "text": "", "annotations": []}]}
            else:
                return []
            self.items[index] = item
            self.output.append(item)
            return [self.event("response.output_item.added", output_index=len(self.output) - 1, item=item)]
        item = self.items.get(index) if index is not None else None
        if kind == "content_block_delta" and item is not None:
            delta, position = event.get("delta", {}), self.output.index(item)
            if delta.get("type") == "text_delta":
                item["content"][0]["text"] += delta["text"]
                return [self.event("response.output_text.delta", item_id=item["id"], output_index=position, content_index=0, delta=delta["text"])]
            if delta.get("type") == "input_json_delta":
                item["arguments"] += delta["partial_json"]
                return [self.event("response.function_call_arguments.delta", item_id=item["id"], output_index=position, delta=delta["partial_json"])]
            if delta.get("type") == "thinking_delta":
                item["content"][0]["text"] += delta["thinking"]
                return [self.event("response.reasoning_text.delta", item_id=item["id"], output_index=position, content_index=0, delta=delta["thinking"])]
        if kind == "content_block_stop" and item is not None:
            item["status"] = "completed"
            return [self.event("response.output_item.done", output_index=self.output.index(item), item=item)]
        if kind == "message_delta":
            self.stop = event.get("delta", {}).get("stop_reason") or "end_turn"
        if kind == "message_stop":
            status = self.status()
            return [self.event(f"response.{status}", response=self.response(status))]
        if kind == "error":
            error = event.get("error", {})
            return [self.event("error", code=error.get("type"), message=error.get("message"), param=None)]
        return []


class ResponseEventReader(StreamReader):
    def __init__(self, model: str) -> None:
        self.parser = SSEParser()
        self.builder = StreamBuilder("msg_responses", model)
        self.final: dict[str, Any] | None = None

    def feed(self, chunk: bytes) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for event in self.parser.feed(chunk, 0.0):
            data = event.json()
            if not isinstance(data, dict) or self.failed or self.final is not None:
                continue
            kind = data.get("type")
            out += self.builder.start()
            if kind == "response.output_item.added" and (data.get("item") or {}).get("type") == "function_call":
                item = data["item"]
                out += self.builder.tool_call(item.get("id"), client_tool_id(item.get("call_id", "")), item.get("name"), item.get("arguments") or "")
            elif kind == "response.function_call_arguments.delta":
                out += self.builder.tool_call(data.get("item_id"), arguments=data.get("delta", ""))
            elif kind == "response.output_text.delta":
                out += self.builder.text(data.get("delta", ""))
            elif kind in ("response.reasoning_text.delta", "response.reasoning_summary_text.delta"):
                out += self.builder.reasoning(data.get("delta", ""))
            elif kind == "response.output_item.done":
                out += self.builder.close()
            elif kind in ("response.completed", "response.incomplete"):
                self.final = data.get("response") or {}
            elif kind in ("response.failed", "error"):
                error = (data.get("response") or {}).get("error") or data
                out += self.upstream_error("api_error", str(error.get("message")))
        return out

    def finished(self, response: dict[str, Any]) -> list[dict[str, Any]]:
        """A whole response (stream:false) as events."""
        out = self.builder.start()
        for item in response.get("output") or ():
            if item.get("type") == "message":
                out += self.builder.text("".join(p.get("text", "") for p in item.get("content") or ()))
            elif item.get("type") == "reasoning":
                out += self.builder.reasoning("".join(p.get("text", "") for p in (item.get("content") or item.get("summary") or ())))
            elif item.get("type") == "function_call":
                out += self.builder.tool_call(item.get("id"), client_tool_id(item.get("call_id", "")), item.get("name"), item.get("arguments") or "")
            out += self.builder.close()
        self.final = response
        return out + self.end()

    def end(self) -> list[dict[str, Any]]:
        if self.failed:
            return []
        if self.final is None:
            return self.cut_short("response.completed")
        usage = self.final.get("usage") or {}
        counted = anthropic_usage(usage.get("input_tokens") or 0, usage.get("output_tokens") or 0,
                                  (usage.get("input_tokens_details") or {}).get("cached_tokens") or 0, total_includes_cache=True)
        if (self.final.get("incomplete_details") or {}).get("reason") == "max_output_tokens":
            stop = "max_tokens"
        else:
            stop = "tool_use" if self.builder.tool_calls else "end_turn"
        return self.builder.finish(stop, usage=counted)
