"""The Anthropic dialects (spec L2): Google Vertex AI rawPredict and Amazon Bedrock InvokeModel carry the Messages
body and events, with the model in the URL and a dialect's `anthropic_version` in the body.

Vertex (docs.cloud.google.com/vertex-ai/generative-ai/docs/partner-models/claude): `POST .../publishers/anthropic/
models/{model}:rawPredict` and `:streamRawPredict`, body without `model`, `anthropic_version: "vertex-2023-10-16"`,
the anthropic-beta header forwarded; the answer is the Messages API's own JSON or SSE, pings included.

Bedrock (docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages.html):
`POST /model/{modelId}/invoke` and `/invoke-with-response-stream`, body without `model` and `stream`,
`anthropic_version: "bedrock-2023-05-31"`, the beta values as an `anthropic_beta` array (PROV-3); the stream is
AWS event-stream framing whose `chunk` events carry `{"bytes": base64 of one Anthropic event}`; no pings, so a
translating gateway pings on its own (SSE-5, SSE-14); errors carry `x-amzn-ErrorType`, mid-stream ones are
exception messages; "Input is too long for requested model." is its context-window wording.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from typing import Any

from conformance.formats import eventstream
from conformance.formats.base import (
    DIALECT,
    Call,
    StreamEncoder,
    StreamReader,
    UpstreamCall,
    UpstreamFormat,
)
from conformance.formats.converse import (
    AWS_SIGNATURE,
    bedrock_error,
    bedrock_exception,
    bedrock_read_error,
    error_of_exception,
)
from conformance.formats.messages import error_envelope, loads, read_script
from conformance.upstream.answers import default_answer
from conformance.upstream.script import JSON_HEADERS, Raw, Respond, Script

VERTEX_PATH = re.compile(r"/publishers/anthropic/models/([^/:]+):(rawPredict|streamRawPredict)$")
BEDROCK_PATH = re.compile(r"/model/([^/]+)/(invoke|invoke-with-response-stream|count-tokens)$")
VERTEX_VERSION = "vertex-2023-10-16"
BEDROCK_VERSION = "bedrock-2023-05-31"


class AnthropicDialect(UpstreamFormat):
    """A provider that takes the Messages body with its documented changes: its request's meaning is that body."""

    family = DIALECT
    plain_stop_after_tool_calls = False  # the Messages API's own stop reasons

    def meaning(self, call: Call, body: Any) -> dict[str, Any]:
        return self.anthropic_body(call, body)


class Vertex(AnthropicDialect):
    name = "vertex"
    title = "Google Vertex AI rawPredict (Anthropic on Vertex)"
    pingless = False  # the Messages API's own stream, pings and all
    relays_stream = True
    forwards_anthropic_headers = True
    carries_comments = True
    setup = ("the Vertex AI base URL (LiteLLM: `vertex_ai/` model with `api_base` = `http://HOST:PORT`; others: the "
             "endpoint override) and a dummy Google access token")

    def classify(self, method: str, path: str, body: Any) -> Call:
        match = VERTEX_PATH.search(path.split("?", 1)[0])
        if not match or method != "POST":
            return Call("other")
        model = urllib.parse.unquote(match.group(1))
        if model == "count-tokens":
            return Call("count_tokens", False, body.get("model") if isinstance(body, dict) else None)
        return Call("messages", match.group(2) == "streamRawPredict", model)

    def refusal(self, call: Call, body: Any) -> str | None:
        if not isinstance(body, dict):
            return "Invalid JSON payload received."
        if call.kind == "messages" and body.get("anthropic_version") != VERTEX_VERSION:
            return f"anthropic_version: Input should be '{VERTEX_VERSION}'"
        return None

    def anthropic_body(self, call: Call, body: dict[str, Any]) -> dict[str, Any]:
        """The Messages body this dialect request stands for (its documented changes undone)."""
        return {"model": call.model, **{k: v for k, v in body.items() if k != "anthropic_version"}}

    def render(self, call: Call, script: Script) -> Script:
        """The Messages API's own answer, as scripted; a scripted stream asked for by rawPredict comes as its Message."""
        reply = read_script(script)
        if not call.streaming and reply.steps is not None and (message := reply.whole_message()) is not None:
            return Script((Respond(reply.status, JSON_HEADERS), Raw(json.dumps(message).encode())))
        return script

    def answer_count_tokens(self, body: bytes, script: Script | None) -> Script:
        return script or default_answer("count_tokens", body)

    def upstream_call(self, request: dict[str, Any], stream: bool, betas: tuple[str, ...] = ()) -> UpstreamCall:
        body = {k: v for k, v in request.items() if k != "model"}
        body["anthropic_version"] = VERTEX_VERSION
        model = urllib.parse.quote(str(request.get("model", "")), safe="")
        method = "streamRawPredict" if stream else "rawPredict"
        return UpstreamCall(f"/v1/projects/cgc/locations/us-east5/publishers/anthropic/models/{model}:{method}", json.dumps(body).encode())

    def count_tokens_call(self, request: dict[str, Any]) -> UpstreamCall | None:
        return UpstreamCall("/v1/projects/cgc/locations/us-east5/publishers/anthropic/models/count-tokens:rawPredict",
                            json.dumps(request).encode())

    def read_error(self, status: int, body: bytes) -> tuple[str, str]:
        data = loads(body)
        error = data.get("error") if isinstance(data, dict) and isinstance(data.get("error"), dict) else {}
        return str(error.get("type") or ""), str(error.get("message") or body.decode("utf-8", "replace")[:500])


class BedrockInvoke(AnthropicDialect):
    name = "bedrock"
    title = "Amazon Bedrock InvokeModel (Anthropic on Bedrock)"
    stream_headers = (("content-type", eventstream.CONTENT_TYPE),)
    gives_retry_after = False
    setup = ("the Bedrock runtime endpoint override (LiteLLM: `aws_bedrock_runtime_endpoint` = `http://HOST:PORT`, model "
             "`bedrock/<model id>`; Portkey: `x-portkey-custom-host`); dummy AWS credentials (any key id and secret, a region)")

    def classify(self, method: str, path: str, body: Any) -> Call:
        match = BEDROCK_PATH.search(path.split("?", 1)[0])
        if not match or method != "POST":
            return Call("other")
        model = urllib.parse.unquote(match.group(1))
        if match.group(2) == "count-tokens":
            return Call("count_tokens", False, model)
        return Call("messages", match.group(2) == "invoke-with-response-stream", model)

    def refusal(self, call: Call, body: Any) -> str | None:
        if not isinstance(body, dict):
            return "Malformed input request, please reformat your input and try again."
        if call.kind != "messages":
            return None
        for key in ("model", "stream"):
            if key in body:
                return f"Malformed input request: #: extraneous key [{key}] is not permitted, please reformat your input and try again."
        if body.get("anthropic_version") != BEDROCK_VERSION:
            return f"Malformed input request: #: required key [anthropic_version] not found or not {BEDROCK_VERSION}"
        if "anthropic_beta" in body and not (isinstance(body["anthropic_beta"], list) and all(isinstance(b, str) for b in body["anthropic_beta"])):
            return "Malformed input request: #/anthropic_beta: expected type: JSONArray of strings"
        return None

    def anthropic_body(self, call: Call, body: dict[str, Any]) -> dict[str, Any]:
        rest = {k: v for k, v in body.items() if k not in ("anthropic_version", "anthropic_beta")}
        return {"model": call.model, **rest, **({"stream": True} if call.streaming else {})}

    def encoder(self, call: Call) -> StreamEncoder:
        return ChunkEventEncoder()

    def json_message(self, call: Call, message: dict[str, Any]) -> Any:
        return message

    def error(self, call: Call, status: int, error_type: str, message: str, retry_after: str | None) -> Script:
        return bedrock_error(status, message)

    def render(self, call: Call, script: Script) -> Script:
        reply = read_script(script)
        if reply.message is not None and not call.streaming:
            return Script((Respond(reply.status, JSON_HEADERS), Raw(json.dumps(reply.message).encode())))
        return super().render(call, script)

    def nonce_source(self, body: bytes) -> bytes:
        wrapped = loads(body)
        inner = wrapped.get("input", {}).get("invokeModel", {}).get("body") if isinstance(wrapped, dict) else None
        try:
            return base64.b64decode(inner) if isinstance(inner, str) else body  # count-tokens wraps the request
        except ValueError:
            return body

    def answer_count_tokens(self, body: bytes, script: Script | None) -> Script:
        scripted = read_script(script).other if script is not None else None
        count = (loads(scripted or b"") or {}).get("input_tokens") if scripted else None
        if count is None:
            count = max(1, len(self.nonce_source(body)) // 4)  # grows with the input, like a real count (TOK-3)
        return Script((Respond(200, JSON_HEADERS), Raw(json.dumps({"inputTokens": count}).encode())))

    # ---------------------------------------------------------------- the reference translator's side
    def upstream_call(self, request: dict[str, Any], stream: bool, betas: tuple[str, ...] = ()) -> UpstreamCall:
        body = {k: v for k, v in request.items() if k not in ("model", "stream")}
        body["anthropic_version"] = BEDROCK_VERSION
        if betas:
            body["anthropic_beta"] = list(betas)  # the anthropic-beta header's values, in order (PROV-3)
        model = urllib.parse.quote(str(request.get("model", "")), safe="")
        return UpstreamCall(f"/model/{model}/{'invoke-with-response-stream' if stream else 'invoke'}", json.dumps(body).encode())

    def count_tokens_call(self, request: dict[str, Any]) -> UpstreamCall | None:
        body = {k: v for k, v in request.items() if k != "model"}
        body.update(anthropic_version=BEDROCK_VERSION, max_tokens=body.get("max_tokens", 1))
        wrapped = {"input": {"invokeModel": {"body": base64.b64encode(json.dumps(body).encode()).decode()}}}
        model = urllib.parse.quote(str(request.get("model", "")), safe="")
        return UpstreamCall(f"/model/{model}/count-tokens", json.dumps(wrapped).encode())

    def count_tokens_answer(self, body: Any) -> dict[str, Any]:
        return {"input_tokens": (body or {}).get("inputTokens", 0)}

    def read_message(self, body: Any, model: str) -> dict[str, Any]:
        return body if isinstance(body, dict) else {}

    def reader(self, model: str) -> StreamReader:
        return ChunkEventReader()

    def read_error(self, status: int, body: bytes) -> tuple[str, str]:
        return bedrock_read_error(status, body)

    def credential_headers(self, key: str) -> tuple[tuple[str, str], ...]:
        return AWS_SIGNATURE


class ChunkEventEncoder(StreamEncoder):
    """Each Anthropic event (pings too, when the script has them) as a `chunk` event of base64 bytes."""

    def render(self, event: dict[str, Any]) -> list[bytes]:
        if event.get("type") == "error":
            return [bedrock_exception(event.get("error", {}))]
        data = base64.b64encode(json.dumps(event, ensure_ascii=False).encode()).decode()
        return [eventstream.event("chunk", json.dumps({"bytes": data}).encode())]


class ChunkEventReader(StreamReader):
    def __init__(self) -> None:
        self.frames = eventstream.FrameReader()
        self.stopped = False

    def feed(self, chunk: bytes) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for headers, payload in self.frames.feed(chunk):
            if self.failed:
                break
            if headers.get(":message-type") == "exception":
                self.failed = True
                out.append(error_of_exception(headers, payload))
                continue
            event = loads(base64.b64decode((loads(payload) or {}).get("bytes", "")))
            if isinstance(event, dict):
                self.stopped = self.stopped or event.get("type") == "message_stop"
                out.append(event)
        return out

    def end(self) -> list[dict[str, Any]]:
        if self.failed or self.stopped:
            return []
        return [error_envelope("api_error", "the upstream's stream ended without message_stop")]
