"""Amazon Bedrock Converse (`POST /model/{modelId}/converse` and `/converse-stream`): the provider-neutral Bedrock
API that LiteLLM's `bedrock/converse/` models and other gateways translate Claude Code to.

Wire facts this module follows (docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html and
ConverseStream): the stream is AWS event-stream framing with events messageStart, contentBlockStart (a toolUse's
toolUseId and name), contentBlockDelta (text, toolUse.input fragments, reasoningContent text and signature),
contentBlockStop, messageStop (stopReason end_turn, tool_use, max_tokens, stop_sequence, ...) and metadata
(usage inputTokens without the cached part, outputTokens, cacheReadInputTokens, cacheWriteInputTokens); errors
mid-stream are exception messages (throttlingException, modelStreamErrorException, ...); HTTP errors carry
`x-amzn-ErrorType` and `{"message": ...}`; requests are validated (unknown keys, alternating roles, toolUse or
toolResult blocks without toolConfig: "The toolConfig field must be defined when using toolUse and toolResult
content blocks."), and a context-window error reads "Input is too long for requested model.".
"""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

from conformance.formats import eventstream
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
    system_texts,
    upstream_tool_id,
)
from conformance.formats.messages import (
    PROMPT_TOO_LONG,
    StreamBuilder,
    anthropic_usage,
    error_envelope,
    loads,
    message_from_events,
    text_of,
    usage_parts,
)
from conformance.upstream.script import JSON_HEADERS, Raw, Respond, Script

MODEL_PATH = re.compile(r"/model/([^/]+)/(converse|converse-stream)$")
KNOWN_FIELDS = {"messages", "system", "inferenceConfig", "toolConfig", "guardrailConfig", "additionalModelRequestFields",
                "additionalModelResponseFieldPaths", "promptVariables", "requestMetadata", "performanceConfig"}
BLOCK_FIELDS = {"text", "image", "document", "video", "toolUse", "toolResult", "guardContent", "cachePoint", "reasoningContent",
                "citationsContent"}
INFERENCE_FIELDS = {"maxTokens", "temperature", "topP", "stopSequences"}
ERROR_TYPES = {400: "ValidationException", 401: "UnrecognizedClientException", 403: "AccessDeniedException",
               404: "ResourceNotFoundException", 408: "ModelTimeoutException", 429: "ThrottlingException",
               500: "InternalServerException", 503: "ServiceUnavailableException", 529: "ServiceUnavailableException"}
TOO_LONG = "Input is too long for requested model."  # Bedrock's own wording, which Claude Code recognises (ERR-3)


def validation(message: str) -> str:
    return f"1 validation error detected: {message}"


class BedrockConverse(UpstreamFormat):
    name = "bedrock-converse"
    family = OTHER
    title = "Amazon Bedrock Converse"
    gives_retry_after = False
    plain_stop_after_tool_calls = False
    stream_headers = (("content-type", eventstream.CONTENT_TYPE),)
    setup = ("the Bedrock runtime endpoint override (LiteLLM: `aws_bedrock_runtime_endpoint` = `http://HOST:PORT`, "
             "model `bedrock/converse/<model id>`); dummy AWS credentials (any key id and secret, a region)")

    # ---------------------------------------------------------------- the recording upstream's side
    def classify(self, method: str, path: str, body: Any) -> Call:
        bare = path.split("?", 1)[0]
        match = MODEL_PATH.search(bare)
        if match and method == "POST":
            return Call("messages", match.group(2) == "converse-stream", urllib.parse.unquote(match.group(1)))
        return Call("other")

    def refusal(self, call: Call, body: Any) -> str | None:
        if not isinstance(body, dict):
            return "Malformed input request, please reformat your input and try again."
        if extra := sorted(set(body) - KNOWN_FIELDS):
            return f"Malformed input request: extraneous key [{extra[0]}] is not permitted, please reformat your input and try again."
        if extra := sorted(set(body.get("inferenceConfig") or {}) - INFERENCE_FIELDS):
            return f"Malformed input request: extraneous key [{extra[0]}] is not permitted, please reformat your input and try again."
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return validation("Value at 'messages' failed to satisfy constraint: Member must have length greater than or equal to 1")
        if messages[0].get("role") != "user":
            return "A conversation must start with a user message. Try again with a conversation that starts with a user message."
        uses_tools = False
        pending: set[str] = set()
        for i, message in enumerate(messages):
            if i and message.get("role") == messages[i - 1].get("role"):
                return "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again."
            content = message.get("content")
            if not isinstance(content, list) or not content:
                return validation(f"Value at 'messages.{i + 1}.member.content' failed to satisfy constraint: Member must not be null")
            for block in content:
                if not isinstance(block, dict) or len(block) != 1 or next(iter(block)) not in BLOCK_FIELDS:
                    return f"Malformed input request: #/messages/{i}/content: extraneous key [{next(iter(block or {'?': 0}))}] is not permitted"
                if "toolUse" in block:
                    uses_tools = True
                    pending.add(block["toolUse"].get("toolUseId"))
                if "toolResult" in block:
                    uses_tools = True
                    if block["toolResult"].get("toolUseId") not in pending:
                        return ("The toolUse block ids in the previous assistant turn do not match the toolResult block ids: "
                                f"{block['toolResult'].get('toolUseId')}")
        if uses_tools and not (body.get("toolConfig") or {}).get("tools"):
            return "The toolConfig field must be defined when using toolUse and toolResult content blocks."
        return None

    def meaning(self, call: Call, body: Any) -> dict[str, Any]:
        system = [{"type": "text", "text": b["text"]} for b in body.get("system") or () if "text" in b]
        messages = []
        for message in body.get("messages", []):
            blocks = []
            for block in message["content"]:
                if "text" in block:
                    blocks.append({"type": "text", "text": block["text"]})
                elif "toolUse" in block:
                    use = block["toolUse"]
                    blocks.append({"type": "tool_use", "id": use.get("toolUseId"), "name": use.get("name"), "input": use.get("input")})
                elif "toolResult" in block:
                    result = block["toolResult"]
                    text = "\n".join(c.get("text", json.dumps(c.get("json"))) for c in result.get("content") or ())
                    blocks.append({"type": "tool_result", "tool_use_id": result.get("toolUseId"), "content": text,
                                   "is_error": result.get("status") == "error"})
                elif "image" in block:
                    blocks.append({"type": "image", "source": block["image"]})
            messages.append({"role": message["role"], "content": blocks})
        config = body.get("inferenceConfig") or {}
        meaning: dict[str, Any] = {"model": call.model, "system": system, "messages": messages, "max_tokens": config.get("maxTokens")}
        tools = [t["toolSpec"] for t in (body.get("toolConfig") or {}).get("tools") or () if "toolSpec" in t]
        if tools:
            meaning["tools"] = [{"name": t["name"], "description": t.get("description"),
                                 "input_schema": (t.get("inputSchema") or {}).get("json")} for t in tools]
        if "stopSequences" in config:
            meaning["stop_sequences"] = config["stopSequences"]
        if "temperature" in config:
            meaning["temperature"] = config["temperature"]
        return meaning

    def encoder(self, call: Call) -> StreamEncoder:
        return ConverseEncoder()

    def json_message(self, call: Call, message: dict[str, Any]) -> Any:
        content = []
        for block in message.get("content", []):
            if block.get("type") == "text":
                content.append({"text": block.get("text", "")})
            elif block.get("type") == "thinking":
                content.append({"reasoningContent": {"reasoningText": {"text": block.get("thinking", ""), "signature": block.get("signature", "")}}})
            elif block.get("type") == "tool_use":
                content.append({"toolUse": {"toolUseId": block["id"], "name": block["name"], "input": block.get("input", {})}})
        stop = message.get(UPSTREAM_STOP) or message.get("stop_reason") or "end_turn"
        return {"output": {"message": {"role": "assistant", "content": content}}, "stopReason": stop,
                "usage": converse_usage(message.get("usage", {})), "metrics": {"latencyMs": 100}}

    def error(self, call: Call, status: int, error_type: str, message: str, retry_after: str | None) -> Script:
        return bedrock_error(status, message)

    # ---------------------------------------------------------------- the reference translator's side
    def upstream_call(self, request: dict[str, Any], stream: bool, betas: tuple[str, ...] = ()) -> UpstreamCall:
        messages: list[dict[str, Any]] = []
        for message in request.get("messages", []):
            content: list[dict[str, Any]] = []
            for block in content_blocks(message.get("content")):
                kind = block.get("type")
                if kind == "text" and block.get("text"):
                    content.append({"text": block["text"]})
                elif kind == "image" and block.get("source", {}).get("type") == "base64":
                    source = block["source"]
                    content.append({"image": {"format": source["media_type"].split("/")[-1], "source": {"bytes": source["data"]}}})
                elif kind == "tool_use":
                    content.append({"toolUse": {"toolUseId": upstream_tool_id(block["id"]), "name": block["name"], "input": block.get("input", {})}})
                elif kind == "tool_result":
                    content.append({"toolResult": {"toolUseId": upstream_tool_id(block["tool_use_id"]),
                                                   "content": [{"text": text_of(block.get("content")) or " "}],
                                                   "status": "error" if block.get("is_error") else "success"}})
            if not content:
                continue
            if messages and messages[-1]["role"] == message.get("role"):
                messages[-1]["content"] += content  # Converse wants alternating roles
            else:
                messages.append({"role": message.get("role"), "content": content})
        body: dict[str, Any] = {"messages": messages, "inferenceConfig": {"maxTokens": request.get("max_tokens")}}
        for ours, theirs in (("temperature", "temperature"), ("top_p", "topP"), ("stop_sequences", "stopSequences")):
            if ours in request:
                body["inferenceConfig"][theirs] = request[ours]
        if texts := system_texts(request):
            body["system"] = [{"text": t} for t in texts]
        tools = [t for t in request.get("tools") or () if "input_schema" in t]
        if not tools and any("toolUse" in b or "toolResult" in b for m in messages for b in m["content"]):
            # Converse refuses tool history without toolConfig (Claude Code's compaction requests send no tools):
            # declare the tools the history used (BerriAI/litellm: "Bedrock doesn't support tool calling without tools=").
            used = dict.fromkeys(b["toolUse"]["name"] for m in messages for b in m["content"] if "toolUse" in b)
            tools = [{"name": name, "description": name, "input_schema": {"type": "object"}} for name in used]
        if tools:
            body["toolConfig"] = {"tools": [{"toolSpec": {"name": t["name"], "description": t.get("description") or t["name"],
                                                          "inputSchema": {"json": t["input_schema"]}}} for t in tools]}
        model = urllib.parse.quote(str(request.get("model", "")), safe="")
        return UpstreamCall(f"/model/{model}/{'converse-stream' if stream else 'converse'}", json.dumps(body).encode())

    def read_message(self, body: Any, model: str) -> dict[str, Any]:
        body = body if isinstance(body, dict) else {}
        reader = ConverseReader(model)
        events = reader.builder.start()
        for block in ((body.get("output") or {}).get("message") or {}).get("content") or ():
            if "text" in block:
                events += reader.builder.text(block["text"])
            elif "reasoningContent" in block:
                reasoning = block["reasoningContent"].get("reasoningText") or {}
                events += reader.builder.reasoning(reasoning.get("text", ""), reasoning.get("signature", ""))
            elif "toolUse" in block:
                use = block["toolUse"]
                events += reader.builder.tool_call(use.get("toolUseId"), client_tool_id(use.get("toolUseId", "")), use.get("name"),
                                                   json.dumps(use.get("input") or {}))
        reader.finish, reader.usage = body.get("stopReason"), usage_from_converse(body.get("usage") or {})
        return message_from_events(events + reader.end())

    def reader(self, model: str) -> StreamReader:
        return ConverseReader(model)

    def read_error(self, status: int, body: bytes) -> tuple[str, str]:
        return bedrock_read_error(status, body)

    def credential_headers(self, key: str) -> tuple[tuple[str, str], ...]:
        return AWS_SIGNATURE


# A SigV4 signature with dummy credentials is what gateways send Bedrock; the recording upstream does not verify it.
AWS_SIGNATURE = (("authorization", "AWS4-HMAC-SHA256 Credential=AKIDCONFORMANCE/20261201/us-east-1/bedrock/aws4_request, "
                                   "SignedHeaders=host;x-amz-date, Signature=0"), ("x-amz-date", "20261201T000000Z"))


def bedrock_error(status: int, message: str) -> Script:
    """A Bedrock runtime error: its exception name in x-amzn-ErrorType, {"message"}; its own context-window wording."""
    code = 503 if status == 529 else status
    if message.startswith(PROMPT_TOO_LONG):
        message = TOO_LONG
    kind = ERROR_TYPES.get(code, "InternalServerException" if code >= 500 else "ValidationException")
    headers = (("x-amzn-errortype", f"{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"), ("x-amzn-requestid", "cgc-request"))
    return Script((Respond(code, JSON_HEADERS + headers), Raw(json.dumps({"message": message}).encode())))


def bedrock_read_error(status: int, body: bytes) -> tuple[str, str]:
    """(Anthropic error type or "", message) of a Bedrock runtime error; its context-window wording is kept as it is,
    Claude Code recognises it (ERR-3)."""
    data = loads(body)
    message = str(data.get("message") or data.get("Message")) if isinstance(data, dict) else body.decode("utf-8", "replace")[:500]
    if message.startswith("Input is too long"):
        return "invalid_request_error", message
    return ("rate_limit_error" if status == 429 else ""), message


def bedrock_exception(error: dict[str, Any]) -> bytes:
    """An Anthropic stream error as the exception message a Bedrock stream carries."""
    name = "throttlingException" if error.get("type") == "rate_limit_error" else "modelStreamErrorException"
    return eventstream.exception(name, json.dumps({"message": error.get("message", "")}).encode())


def error_of_exception(headers: dict[str, str], payload: bytes) -> dict[str, Any]:
    """A Bedrock stream's exception message as an Anthropic error event (TRN-7)."""
    kind = headers.get(":exception-type", "")
    error_type = ("rate_limit_error" if kind == "throttlingException" else
                  "overloaded_error" if kind in ("serviceUnavailableException", "modelStreamErrorException") else "api_error")
    return error_envelope(error_type, f"{kind}: {(loads(payload) or {}).get('message', '')}")


def converse_usage(usage: dict[str, Any]) -> dict[str, Any]:
    plain, cached, written, output = usage_parts(usage)  # inputTokens leaves the cached part out
    return {"inputTokens": plain, "outputTokens": output, "totalTokens": plain + cached + written + output,
            "cacheReadInputTokens": cached, "cacheWriteInputTokens": written}


def usage_from_converse(usage: dict[str, Any]) -> dict[str, int]:
    return anthropic_usage(usage.get("inputTokens") or 0, usage.get("outputTokens") or 0, usage.get("cacheReadInputTokens") or 0,
                           usage.get("cacheWriteInputTokens") or 0, total_includes_cache=False)


class ConverseEncoder(StreamEncoder):
    def __init__(self) -> None:
        super().__init__()
        self.stop = "end_turn"

    @staticmethod
    def event(kind: str, payload: dict[str, Any]) -> bytes:
        return eventstream.event(kind, json.dumps(payload, ensure_ascii=False).encode())

    def render(self, event: dict[str, Any]) -> list[bytes]:
        kind, index = event.get("type"), event.get("index")
        if kind == "message_start":
            return [self.event("messageStart", {"role": "assistant"})]
        if kind == "content_block_start" and event["content_block"].get("type") == "tool_use":
            block = event["content_block"]
            return [self.event("contentBlockStart", {"start": {"toolUse": {"toolUseId": block["id"], "name": block["name"]}},
                                                     "contentBlockIndex": index})]
        if kind == "content_block_delta":
            delta = event.get("delta", {})
            converse = {"text_delta": lambda d: {"text": d["text"]},
                        "input_json_delta": lambda d: {"toolUse": {"input": d["partial_json"]}},
                        "thinking_delta": lambda d: {"reasoningContent": {"text": d["thinking"]}},
                        "signature_delta": lambda d: {"reasoningContent": {"signature": d["signature"]}}}.get(delta.get("type"))
            if converse and not (delta.get("type") == "signature_delta" and not delta.get("signature")):
                return [self.event("contentBlockDelta", {"delta": converse(delta), "contentBlockIndex": index})]
        if kind == "content_block_stop":
            return [self.event("contentBlockStop", {"contentBlockIndex": index})]
        if kind == "message_delta":
            self.stop = event.get(UPSTREAM_STOP) or event.get("delta", {}).get("stop_reason") or "end_turn"
        if kind == "message_stop":
            return [self.event("messageStop", {"stopReason": self.stop}),
                    self.event("metadata", {"usage": converse_usage(self.usage), "metrics": {"latencyMs": 100}})]
        if kind == "error":
            return [bedrock_exception(event.get("error", {}))]
        return []


class ConverseReader(StreamReader):
    def __init__(self, model: str) -> None:
        self.frames = eventstream.FrameReader()
        self.builder = StreamBuilder("msg_bedrock_converse", model)
        self.finish: str | None = None
        self.usage: dict[str, int] = {}

    def feed(self, chunk: bytes) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for headers, payload in self.frames.feed(chunk):
            if self.failed:
                break
            data = loads(payload) or {}
            if headers.get(":message-type") == "exception":
                error = error_of_exception(headers, payload)["error"]
                out += self.upstream_error(error["type"], error["message"])
                continue
            kind = headers.get(":event-type")
            out += self.builder.start()
            if kind == "contentBlockStart" and "toolUse" in (data.get("start") or {}):
                use = data["start"]["toolUse"]
                out += self.builder.tool_call(data.get("contentBlockIndex"), client_tool_id(use.get("toolUseId", "")), use.get("name"))
            elif kind == "contentBlockDelta":
                delta = data.get("delta") or {}
                if "text" in delta:
                    out += self.builder.text(delta["text"])
                elif "toolUse" in delta:
                    out += self.builder.tool_call(data.get("contentBlockIndex"), arguments=delta["toolUse"].get("input", ""))
                elif "reasoningContent" in delta:
                    reasoning = delta["reasoningContent"]
                    out += self.builder.reasoning(reasoning.get("text", ""), reasoning.get("signature", ""))
            elif kind == "contentBlockStop":
                out += self.builder.close()
            elif kind == "messageStop":
                self.finish = data.get("stopReason")
            elif kind == "metadata":
                self.usage = usage_from_converse(data.get("usage") or {})
        return out

    def end(self) -> list[dict[str, Any]]:
        if self.failed:
            return []
        if self.finish is None:
            return self.cut_short("messageStop")
        stop = self.finish if self.finish in ("end_turn", "tool_use", "max_tokens", "stop_sequence") else "end_turn"
        if self.builder.tool_calls and stop == "end_turn":
            stop = "tool_use"
        return self.builder.finish(stop, usage=self.usage)

