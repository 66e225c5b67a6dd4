"""Google Gemini API (`POST /v1beta/models/{model}:generateContent` and `:streamGenerateContent?alt=sse`): what
claude-code-router's Gemini transformer and LiteLLM's `gemini/` models translate Claude Code to.

Wire facts this module follows (ai.google.dev API reference, GenerateContentResponse): the stream is
`data: {GenerateContentResponse}` events, no sentinel; `functionCall` parts arrive whole (name and args
object) and carry no id in the classic API; `finishReason` is STOP even after a function call, MAX_TOKENS
for a length cut; `usageMetadata.promptTokenCount` includes `cachedContentTokenCount`; a function response
turn must follow the function call turn with one response per call; unknown JSON fields are refused
("Invalid JSON payload received. Unknown name ..."), JSON Schema keys such as `$schema` and
`additionalProperties` in function parameters included; errors are `{"error": {"code", "message",
"status"}}`, a 429 carrying a RetryInfo detail with `retryDelay`.
"""

from __future__ import annotations

import json
import re
import secrets
import urllib.parse
from typing import Any

from conformance.formats.base import (
    OTHER,
    UPSTREAM_STOP,
    Call,
    StreamEncoder,
    StreamReader,
    UpstreamCall,
    UpstreamFormat,
    content_blocks,
    json_answer,
    system_texts,
)
from conformance.formats.messages import (
    PROMPT_TOO_LONG,
    StreamBuilder,
    anthropic_usage,
    loads,
    message_from_events,
    text_of,
    usage_parts,
)
from conformance.sse import SSEParser
from conformance.upstream.script import Script

MODEL_PATH = re.compile(r"/models/([^/:]+):(generateContent|streamGenerateContent)$")
KNOWN_FIELDS = {"contents", "systemInstruction", "system_instruction", "tools", "toolConfig", "tool_config",
                "generationConfig", "generation_config", "safetySettings", "safety_settings", "cachedContent",
                "cached_content", "labels"}
# `parameters` is the API's Schema object; `parametersJsonSchema` (newer) takes any JSON Schema.
def with_snake_case(names: set[str]) -> set[str]:
    """The API's JSON takes each field in lowerCamelCase and in its proto name (snake_case)."""
    return names | {re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name) for name in names}


PART_FIELDS = with_snake_case({"text", "thought", "thoughtSignature", "inlineData", "fileData", "functionCall",
                               "functionResponse", "executableCode", "codeExecutionResult", "videoMetadata"})
GENERATION_FIELDS = with_snake_case({"maxOutputTokens", "temperature", "topP", "topK", "stopSequences", "candidateCount",
                                     "seed", "responseMimeType", "responseSchema", "responseJsonSchema", "presencePenalty",
                                     "frequencyPenalty", "thinkingConfig", "responseModalities", "responseLogprobs",
                                     "logprobs", "mediaResolution", "speechConfig"})
# JSON Schema keys the API's Schema object has no field for (claude-code-router's Gemini transformer drops them).
UNSUPPORTED_SCHEMA_KEYS = ("$schema", "additionalProperties")
FINISH = {"end_turn": "STOP", "tool_use": "STOP", "stop_sequence": "STOP", "max_tokens": "MAX_TOKENS",
          "refusal": "SAFETY", "pause_turn": "STOP"}
STOP_REASON = {"STOP": "end_turn", "MAX_TOKENS": "max_tokens", "SAFETY": "refusal", "RECITATION": "refusal"}
STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
          429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
CONTEXT_WINDOW = 200_000


def unknown(name: str, where: str = "") -> str:
    at = f" at '{where}'" if where else ""
    return f'Invalid JSON payload received. Unknown name "{name}"{at}: Cannot find field.'


def schema_problem(schema: Any, where: str) -> str | None:
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key in UNSUPPORTED_SCHEMA_KEYS:
                return unknown(key, where)
            if problem := schema_problem(value, f"{where}.{key}"):
                return problem
    elif isinstance(schema, list):
        return next((p for i, v in enumerate(schema) if (p := schema_problem(v, f"{where}[{i}]"))), None)
    return None


def declarations_of(tool: dict[str, Any]) -> list[dict[str, Any]]:
    return tool.get("functionDeclarations") or tool.get("function_declarations") or []


def clean_schema(schema: Any) -> Any:
    """A JSON Schema without the keys Gemini refuses (the translator's side)."""
    if isinstance(schema, dict):
        return {k: clean_schema(v) for k, v in schema.items() if k not in UNSUPPORTED_SCHEMA_KEYS}
    if isinstance(schema, list):
        return [clean_schema(v) for v in schema]
    return schema


class Gemini(UpstreamFormat):
    name = "gemini"
    family = OTHER
    title = "Google Gemini API"
    call_ids = False
    setup = ("the Gemini API base URL (claude-code-router: the provider's `api_base_url` = "
             "`http://HOST:PORT/v1beta/models/`; LiteLLM: `api_base` = `http://HOST:PORT`); any API key")

    # ---------------------------------------------------------------- the recording upstream's side
    def classify(self, method: str, path: str, body: Any) -> Call:
        bare, _, query = path.partition("?")
        match = MODEL_PATH.search(bare)
        if match and method == "POST":
            streaming = match.group(2) == "streamGenerateContent"
            if streaming and "alt=sse" not in query:
                return Call("other")  # a JSON-array stream: the gateways this suite knows ask for SSE
            return Call("messages", streaming, urllib.parse.unquote(match.group(1)))
        if bare.rstrip("/").endswith("/models") and method == "GET":
            return Call("models")
        return Call("other")

    def refusal(self, call: Call, body: Any) -> str | None:
        if not isinstance(body, dict):
            return "Invalid JSON payload received."
        if extra := sorted(set(body) - KNOWN_FIELDS):
            return unknown(extra[0])
        config = body.get("generationConfig") or body.get("generation_config") or {}
        if extra := sorted(set(config) - GENERATION_FIELDS):
            return unknown(extra[0], "generation_config")
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            return "* GenerateContentRequest.contents: contents is not specified"
        calls_pending = 0
        for i, content in enumerate(contents):
            if content.get("role") not in ("user", "model"):
                return f"Please use a valid role: user, model. (contents[{i}].role = {content.get('role')!r})"
            parts = content.get("parts")
            if not isinstance(parts, list) or not parts:
                return f"* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty."
            for j, part in enumerate(parts):
                if extra := sorted(set(part) - PART_FIELDS):
                    return unknown(extra[0], f"contents[{i}].parts[{j}]")
            responses = sum(1 for p in parts if "functionResponse" in p)
            if responses and responses != calls_pending:
                return ("Please ensure that function response turn comes immediately after a function call turn. And the "
                        "number of function response parts should be equal to number of function call parts of the "
                        "function call turn.")
            calls_pending = sum(1 for p in parts if "functionCall" in p) if content["role"] == "model" else 0
        for i, tool in enumerate(body.get("tools") or ()):
            for j, declaration in enumerate(declarations_of(tool)):
                if problem := schema_problem(declaration.get("parameters"), f"tools[{i}].function_declarations[{j}].parameters"):
                    return problem
        return None

    def meaning(self, call: Call, body: Any) -> dict[str, Any]:
        instruction = body.get("systemInstruction") or body.get("system_instruction") or {}
        system = [{"type": "text", "text": p["text"]} for p in instruction.get("parts", []) if "text" in p]
        messages: list[dict[str, Any]] = []
        calls_before: list[tuple[str, str]] = []  # (id, name) of each call of the last model turn
        for turn, content in enumerate(body.get("contents", [])):
            blocks = []
            for position, part in enumerate(p for p in content["parts"] if "functionCall" in p or "functionResponse" in p):
                kind = "functionCall" if "functionCall" in part else "functionResponse"
                name = part[kind].get("name")
                part_id = part[kind].get("id") or f"{turn}:{position}:{name}"
                if kind == "functionResponse" and not part[kind].get("id"):
                    # Without an id a response answers the call at its position when the names agree, else the
                    # previous turn's call of its name.
                    same_place = calls_before[position] if position < len(calls_before) else None
                    part_id = same_place[0] if same_place and same_place[1] == name else next(
                        (i for i, n in calls_before if n == name), part_id)
                if kind == "functionCall":
                    blocks.append({"type": "tool_use", "id": part_id, "name": name, "input": part[kind].get("args", {})})
                else:
                    response = part[kind].get("response") or {}
                    text = response.get("output", response.get("error", response))
                    blocks.append({"type": "tool_result", "tool_use_id": part_id, "is_error": "error" in response,
                                   "content": text if isinstance(text, str) else json.dumps(text)})
            if content["role"] == "model":
                calls_before = [(b["id"], b["name"]) for b in blocks if b["type"] == "tool_use"]
            text = "".join(p.get("text", "") for p in content["parts"] if "text" in p and not p.get("thought"))
            if text:
                blocks.append({"type": "text", "text": text})
            messages.append({"role": "assistant" if content["role"] == "model" else "user", "content": blocks})
        config = body.get("generationConfig") or {}
        meaning: dict[str, Any] = {"model": call.model, "system": system, "messages": messages,
                                   "max_tokens": config.get("maxOutputTokens")}
        declarations = [d for t in body.get("tools") or () for d in declarations_of(t)]
        if declarations:
            meaning["tools"] = [{"name": d["name"], "description": d.get("description"),
                                 "input_schema": d.get("parameters", d.get("parametersJsonSchema"))} for d in declarations]
        if "stopSequences" in config:
            meaning["stop_sequences"] = config["stopSequences"]
        if "temperature" in config:
            meaning["temperature"] = config["temperature"]
        return meaning

    def encoder(self, call: Call) -> StreamEncoder:
        return GeminiEncoder()

    def json_message(self, call: Call, message: dict[str, Any]) -> Any:
        encoder = GeminiEncoder()
        parts = [encoder.part(block) for block in message.get("content", [])]
        finish = FINISH.get(message.get(UPSTREAM_STOP) or message.get("stop_reason") or "end_turn", "STOP")
        return {"candidates": [{"content": {"role": "model", "parts": [p for p in parts if p]}, "finishReason": finish, "index": 0}],
                "usageMetadata": gemini_usage(message.get("usage", {})), "modelVersion": call.model,
                "responseId": "cgc-" + secrets.token_hex(6)}

    def error(self, call: Call, status: int, error_type: str, message: str, retry_after: str | None) -> Script:
        code = 503 if status == 529 else status
        details = []
        if message.startswith(PROMPT_TOO_LONG):
            message = (f"The input token count ({CONTEXT_WINDOW + 10_000}) exceeds the maximum number of tokens allowed "
                       f"({CONTEXT_WINDOW}).")
        if code == 503:
            message = "The model is overloaded. Please try again later."
        if retry_after:
            details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_after}s"})
        error = {"code": code, "message": message, "status": STATUS.get(code, "INTERNAL" if code >= 500 else "FAILED_PRECONDITION")}
        if details:
            error["details"] = details
        return json_answer({"error": error}, code)

    def models(self) -> Script:
        return json_answer({"models": [{"name": "models/gemini-conformance", "supportedGenerationMethods": ["generateContent"]}]})

    # ---------------------------------------------------------------- the reference translator's side
    def upstream_call(self, request: dict[str, Any], stream: bool, betas: tuple[str, ...] = ()) -> UpstreamCall:
        names = {b["id"]: b["name"] for m in request.get("messages", []) for b in content_blocks(m.get("content"))
                 if b.get("type") == "tool_use"}
        contents = []
        for message in request.get("messages", []):
            parts: list[dict[str, Any]] = []
            for block in content_blocks(message.get("content")):
                kind = block.get("type")
                if kind == "text" and block.get("text"):
                    parts.append({"text": block["text"]})
                elif kind == "image" and block.get("source", {}).get("type") == "base64":
                    parts.append({"inlineData": {"mimeType": block["source"]["media_type"], "data": block["source"]["data"]}})
                elif kind == "tool_use":
                    parts.append({"functionCall": {"name": block["name"], "args": block.get("input", {})}})
                elif kind == "tool_result":
                    key = "error" if block.get("is_error") else "output"
                    parts.insert(sum(1 for p in parts if "functionResponse" in p),  # responses first, in order
                                 {"functionResponse": {"name": names.get(block["tool_use_id"], ""), "response": {key: text_of(block.get("content"))}}})
            if parts:
                contents.append({"role": "model" if message.get("role") == "assistant" else "user", "parts": parts})
        body: dict[str, Any] = {"contents": contents}
        if texts := system_texts(request):
            body["systemInstruction"] = {"parts": [{"text": t} for t in texts]}
        tools = [t for t in request.get("tools") or () if "input_schema" in t]
        if tools:
            body["tools"] = [{"functionDeclarations": [{"name": t["name"], "description": t.get("description", ""),
                                                        "parameters": clean_schema(t["input_schema"])} for t in tools]}]
        config: dict[str, Any] = {"maxOutputTokens": request.get("max_tokens")}
        for ours, theirs in (("temperature", "temperature"), ("top_p", "topP"), ("stop_sequences", "stopSequences")):
            if ours in request:
                config[theirs] = request[ours]
        body["generationConfig"] = config
        model = urllib.parse.quote(str(request.get("model", "")), safe="")
        path = f"/v1beta/models/{model}:streamGenerateContent?alt=sse" if stream else f"/v1beta/models/{model}:generateContent"
        return UpstreamCall(path, json.dumps(body).encode())

    def read_message(self, body: Any, model: str) -> dict[str, Any]:
        reader = GeminiReader(model)
        return message_from_events(reader.chunk(body if isinstance(body, dict) else {}) + reader.end())

    def reader(self, model: str) -> StreamReader:
        return GeminiReader(model)

    def read_error(self, status: int, body: bytes) -> tuple[str, str]:
        data = loads(body)
        error = data.get("error") if isinstance(data, dict) and isinstance(data.get("error"), dict) else {}
        message = str(error.get("message") or body.decode("utf-8", "replace")[:500])
        if "exceeds the maximum number of tokens" in message:
            return "invalid_request_error", f"{PROMPT_TOO_LONG}: {message}"
        return "", message

    def retry_after(self, body: bytes) -> str | None:
        data = loads(body)
        details = ((data or {}).get("error") or {}).get("details") or [] if isinstance(data, dict) else []
        delay = next((d.get("retryDelay") for d in details if isinstance(d, dict) and "retryDelay" in d), None)
        return str(delay).removesuffix("s").split(".")[0] if delay else None

    def credential_headers(self, key: str) -> tuple[tuple[str, str], ...]:
        return (("x-goog-api-key", key),)


def gemini_usage(usage: dict[str, Any]) -> dict[str, Any]:
    plain, cached, written, output = usage_parts(usage)
    prompt = plain + cached + written  # promptTokenCount includes the cached part
    return {"promptTokenCount": prompt, "candidatesTokenCount": output, "totalTokenCount": prompt + output,
            "cachedContentTokenCount": cached}


class GeminiEncoder(StreamEncoder):
    def __init__(self) -> None:
        super().__init__()
        self.arguments: dict[int, str] = {}
        self.tools: dict[int, dict[str, Any]] = {}
        self.finish = "STOP"

    @staticmethod
    def frame(data: dict[str, Any]) -> bytes:
        return b"data: " + json.dumps(data, ensure_ascii=False).encode() + b"\r\n\r\n"

    def parts(self, parts: list[dict[str, Any]], **extra: Any) -> bytes:
        return self.frame({"candidates": [{"content": {"role": "model", "parts": parts}, "index": 0, **extra}]})

    @staticmethod
    def part(block: dict[str, Any]) -> dict[str, Any] | None:
        if block.get("type") == "text":
            return {"text": block.get("text", "")}
        if block.get("type") == "thinking":
            return {"text": block.get("thinking", ""), "thought": True}
        if block.get("type") == "tool_use":
            return {"functionCall": {"name": block["name"], "args": block.get("input", {})}}
        return None

    def render(self, event: dict[str, Any]) -> list[bytes]:
        kind = event.get("type")
        if kind == "content_block_start" and event["content_block"].get("type") == "tool_use":
            self.tools[event["index"]] = event["content_block"]
        elif kind == "content_block_delta":
            delta = event.get("delta", {})
            if delta.get("type") == "text_delta":
                return [self.parts([{"text": delta["text"]}])]
            if delta.get("type") == "thinking_delta":
                return [self.parts([{"text": delta["thinking"], "thought": True}])]
            if delta.get("type") == "input_json_delta":
                self.arguments[event["index"]] = self.arguments.get(event["index"], "") + delta["partial_json"]
        elif kind == "content_block_stop" and event.get("index") in self.tools:
            block = self.tools.pop(event["index"])  # a function call arrives whole, arguments and all
            args = json.loads(self.arguments.pop(event["index"], "") or "{}")
            return [self.parts([{"functionCall": {"name": block["name"], "args": args}}])]
        elif kind == "message_delta":
            self.finish = FINISH.get(event.get(UPSTREAM_STOP) or event.get("delta", {}).get("stop_reason") or "end_turn", "STOP")
        elif kind == "message_stop":
            return [self.frame({"candidates": [{"content": {"role": "model", "parts": [{"text": ""}]}, "finishReason": self.finish,
                                                "index": 0}], "usageMetadata": gemini_usage(self.usage)})]
        elif kind == "error":
            return [self.frame({"error": {"code": 503, "message": event.get("error", {}).get("message", ""), "status": "UNAVAILABLE"}})]
        return []


class GeminiReader(StreamReader):
    def __init__(self, model: str) -> None:
        self.parser = SSEParser()
        self.builder = StreamBuilder("msg_gemini_" + secrets.token_hex(6), model)
        self.finish: str | None = None
        self.usage: dict[str, int] = {}

    def feed(self, chunk: bytes) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for event in self.parser.feed(chunk, 0.0):
            data = event.json()
            if isinstance(data, dict) and not self.failed:
                out += self.chunk(data)
        return out

    def chunk(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        if isinstance(data.get("error"), dict):
            status = data["error"].get("status")
            return self.upstream_error("overloaded_error" if status == "UNAVAILABLE" else "api_error", str(data["error"].get("message")))
        out = self.builder.start()
        if usage := data.get("usageMetadata"):
            self.usage = anthropic_usage(usage.get("promptTokenCount") or 0, usage.get("candidatesTokenCount") or 0,
                                         usage.get("cachedContentTokenCount") or 0, total_includes_cache=True)
        for candidate in data.get("candidates") or ():
            for part in (candidate.get("content") or {}).get("parts") or ():
                if "functionCall" in part:
                    call = part["functionCall"]
                    # Gemini gives no id: mint one; the translator pairs the result by the call's name (TRN-2, TRN-4).
                    out += self.builder.tool_call(self.builder.tool_calls, "toolu_" + secrets.token_hex(10), call.get("name"),
                                                  json.dumps(call.get("args") or {}))
                    out += self.builder.close()
                elif part.get("thought"):
                    out += self.builder.reasoning(part.get("text", ""))
                elif part.get("text"):
                    out += self.builder.text(part["text"])
            if candidate.get("finishReason"):
                self.finish = candidate["finishReason"]
        return out

    def end(self) -> list[dict[str, Any]]:
        if self.failed:
            return []
        if self.finish is None:
            return self.cut_short("a finish reason")
        stop = "tool_use" if self.builder.tool_calls and self.finish == "STOP" else STOP_REASON.get(self.finish, "end_turn")
        return self.builder.finish(stop, usage=self.usage)
