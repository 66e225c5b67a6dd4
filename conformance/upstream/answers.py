"""Default upstream answers, shaped like the Messages API's (spec N.3, N.4, N.6, N.7)."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from conformance.upstream.script import Event, Script, json_script, sse_script

DEFAULT_TEXT = "ok"


def message(model: str, text: str = DEFAULT_TEXT, message_id: str = "msg_conformance_default") -> dict[str, Any]:
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 1},
    }


def message_start(model: str, message_id: str) -> Event:
    """The stream's first event: the Message with no content and no stop reason yet."""
    start = message(model, "", message_id)
    start.update(content=[], stop_reason=None)
    return Event("message_start", {"type": "message_start", "message": start})


def text_stream_events(model: str, deltas: list[str], message_id: str = "msg_conformance_stream") -> list[Event]:
    """A complete text stream: message_start, one text block with the deltas, message_delta, message_stop."""
    events = [
        message_start(model, message_id),
        Event("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        Event("ping", {"type": "ping"}),
    ]
    events += [
        Event("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": d}})
        for d in deltas
    ]
    events += [
        Event("content_block_stop", {"type": "content_block_stop", "index": 0}),
        Event(
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": len(deltas)}},
        ),
        Event("message_stop", {"type": "message_stop"}),
    ]
    return events


def tool_use_events(model: str, tool_id: str, name: str, tool_input: dict[str, Any],
                    thinking: tuple[str, str] | None = None, message_id: str = "msg_conformance_tool") -> list[Event]:
    """A turn that asks the client to run a tool: optionally a signed thinking block (text, signature)
    first, then a tool_use block whose input arrives as input_json_delta fragments; stop_reason tool_use."""
    events = [message_start(model, message_id)]
    index = 0
    if thinking is not None:
        text, signature = thinking
        events += [
            Event("content_block_start", {"type": "content_block_start", "index": 0,
                                          "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
            Event("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": text}}),
            Event("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": signature}}),
            Event("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ]
        index = 1
    arguments = json.dumps(tool_input)
    middle = len(arguments) // 2
    events += [
        Event("content_block_start", {"type": "content_block_start", "index": index,
                                      "content_block": {"type": "tool_use", "id": tool_id, "name": name, "input": {}}}),
        *(Event("content_block_delta", {"type": "content_block_delta", "index": index,
                                        "delta": {"type": "input_json_delta", "partial_json": part}})
          for part in (arguments[:middle], arguments[middle:])),
        Event("content_block_stop", {"type": "content_block_stop", "index": index}),
        Event("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                                "usage": {"output_tokens": 20}}),
        Event("message_stop", {"type": "message_stop"}),
    ]
    return events


# A catalogue the size of a real provider's (well over the API's default page of 20), so a gateway that pages
# or caps its upstream's list is caught (DISC-7). Current models first, as the API lists newest first.
UPSTREAM_CATALOGUE = ["claude-opus-4-8", "claude-sonnet-4-6", "claude-haiku-4-5",
                      *(f"claude-archive-{family}-{n:02d}" for family in ("opus", "sonnet", "haiku") for n in range(1, 40))]
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 20, 1000  # the List Models API's limit: default 20, 1 to 1000


def models_page(ids: list[str], query: str = "") -> dict[str, Any]:
    """A List Models page over `ids`, honouring limit, after_id and before_id as the API does."""
    params = dict(urllib.parse.parse_qsl(query))
    try:
        limit = min(max(int(params.get("limit", DEFAULT_PAGE_SIZE)), 1), MAX_PAGE_SIZE)
    except ValueError:
        limit = DEFAULT_PAGE_SIZE
    start, end = 0, len(ids)
    if params.get("after_id") in ids:
        start = ids.index(params["after_id"]) + 1
    if params.get("before_id") in ids:
        end = ids.index(params["before_id"])
        start = max(start, end - limit)
    chosen = ids[start:min(end, start + limit)]
    data = [{"type": "model", "id": i, "display_name": i.replace("-", " ").title(), "created_at": "2026-01-01T00:00:00Z"}
            for i in chosen]
    return {"data": data, "has_more": start + len(chosen) < end,
            "first_id": chosen[0] if chosen else None, "last_id": chosen[-1] if chosen else None}


def error_body(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}


def default_answer(kind: str, body: bytes, query: str = "") -> Script:
    """What the upstream answers when no scenario was scripted for the request."""
    if kind == "models":
        return json_script(models_page(UPSTREAM_CATALOGUE, query))
    if kind == "count_tokens":
        # Grows with input size, like a real count (spec TOK-3 check): one token per 4 bytes.
        return json_script({"input_tokens": max(1, len(body) // 4)})
    if kind == "messages":
        try:
            request = json.loads(body)
        except ValueError:
            return json_script(error_body("invalid_request_error", "recording upstream: body is not JSON"), status=400)
        model = request.get("model", "claude-sonnet-4-6") if isinstance(request, dict) else "claude-sonnet-4-6"
        if isinstance(request, dict) and request.get("stream"):
            return sse_script(text_stream_events(model, [DEFAULT_TEXT]))
        return json_script(message(model))
    return json_script(error_body("not_found_error", "recording upstream: no such endpoint"), status=404)


def turn_events(model: str, blocks: list[dict[str, Any]], stop_reason: str, *, usage: dict[str, int] | None = None,
                pause_after_first_text_s: float = 0.0, upstream_stop: str | None = None,
                message_id: str = "msg_conformance_turn") -> list[Any]:
    """A complete stream of the given content blocks, as the Messages API streams them: text in the fragments of
    a block's "fragments" list, tool input in two input_json_delta pieces, thinking with its signature.
    upstream_stop: the stop reason whose equivalent a provider of another format reports instead (formats.base.UPSTREAM_STOP)."""
    from conformance.formats.base import UPSTREAM_STOP
    from conformance.upstream.script import Sleep

    usage = usage or {"input_tokens": 12, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 20}
    start = message_start(model, message_id)
    start.data["message"]["usage"] = {**usage, "output_tokens": 1}
    events: list[Any] = [start]
    paused = not pause_after_first_text_s
    for index, block in enumerate(blocks):
        kind = block["type"]
        if kind == "text":
            events.append(Event("content_block_start", {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}))
            for fragment in block["fragments"]:
                events.append(Event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": fragment}}))
                if not paused:
                    events.append(Sleep(pause_after_first_text_s))
                    paused = True
        elif kind == "thinking":
            events += [Event("content_block_start", {"type": "content_block_start", "index": index,
                                                     "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
                       Event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": {"type": "thinking_delta", "thinking": block["thinking"]}}),
                       Event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": {"type": "signature_delta", "signature": block.get("signature", "")}})]
        elif kind == "tool_use":
            arguments = json.dumps(block["input"])
            middle = len(arguments) // 2
            events.append(Event("content_block_start", {"type": "content_block_start", "index": index,
                                                        "content_block": {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}}))
            events += [Event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                     "delta": {"type": "input_json_delta", "partial_json": part}})
                       for part in (arguments[:middle], arguments[middle:])]
        events.append(Event("content_block_stop", {"type": "content_block_stop", "index": index}))
    delta = {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
             "usage": {"output_tokens": usage["output_tokens"]}}
    if upstream_stop:
        delta[UPSTREAM_STOP] = upstream_stop
    events += [Event("message_delta", delta), Event("message_stop", {"type": "message_stop"})]
    return events
