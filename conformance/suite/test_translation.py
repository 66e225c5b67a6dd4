"""Section L2 of the protocol contract: translating gateways (TRN-1 to TRN-10), with SSE-5, SSE-14 and ERR-8.

The recording upstream plays the provider named by --upstream-format: every answer below is scripted once in
Anthropic terms and rendered in that provider's wire format (its streams, JSON, errors and finish reasons), and
every request the gateway sends is checked as strictly as the real provider checks it, then read back as an
Anthropic request to compare its meaning with what the client sent. The client side is Claude Code's: the same
Anthropic SSE and Message shapes as a relay must give. For --upstream-format anthropic (a relay) these
requirements are not applicable.
"""

from __future__ import annotations

import copy
import json

import pytest

from conformance.bounds import TRANSLATING_SILENCE_S
from conformance.expect import answered, check, fail, not_applicable
from conformance.formats.messages import PROMPT_TOO_LONG, TOOL_ID, text_of
from conformance.forwarding import captured_request, with_marker
from conformance.overlap import overlapping
from conformance.requests import captured_headers, message_body, with_header
from conformance.streaming import ReceivedStream, stream_scripted
from conformance.upstream import json_script, sse_script
from conformance.upstream.answers import error_body, message, turn_events

MULTI_BYTE_FRAGMENTS = ["Grüße aus ", "Köln — naïve ", "café, 日本語", " und 🎉 fertig."]
READ_CALL = {"type": "tool_use", "id": "call_cgc_read_1", "name": "Read", "input": {"file_path": "/tmp/cgc notes.txt", "limit": 5}}
GREP_CALL = {"type": "tool_use", "id": "call_cgc_grep_2", "name": "Grep",
             "input": {"pattern": "fn main\\(", "path": "src", "glob": "*.rs", "-n": True}}
# Ids some providers give and Anthropic validators refuse (danny-avila/agents#140): the client must get a valid one.
ODD_ID_CALL = {"type": "tool_use", "id": "call|cgc:7/odd", "name": "Read", "input": {"file_path": "/tmp/odd.txt"}}
CACHED_USAGE = {"input_tokens": 100, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 900, "output_tokens": 42}
# SSE-14's check (spec): a run shorter than SSE-5's "with >= 60 s of upstream silence", after the first text.
BANNER_SILENCE_S = TRANSLATING_SILENCE_S
BANNER_GAP_S = 20.0  # after 20 s without data Claude Code shows "Waiting for API response ..."
WATCHDOG_SILENCE_S = 310.0  # SSE-5: over the client's 300 s byte watchdog (opt-in: -m long_silence)
WATCHDOG_GAP_S = 300.0


def stream(gateway, upstream, model, events, what, body=None):
    """Stream a scripted turn through the gateway; fail TRN-8 when no Anthropic stream came back."""
    scenario, received = stream_scripted(gateway, upstream, model, sse_script(events), what, body)
    answered(received.exchange, "TRN-8")
    check(received.exchange.status == 200 and received.exchange.content_type == "text/event-stream", "TRN-8",
          f"the streamed request got {received.exchange.summary(300)}", "HTTP 200 with an Anthropic SSE stream")
    return scenario, received


def whole(gateway, upstream, model, events_or_message, requirement="TRN-8", body=None):
    """The same turn asked with stream:false: the Message the client got (TRN-8 fails a foreign body)."""
    script = json_script(events_or_message) if isinstance(events_or_message, dict) else sse_script(events_or_message)
    scenario = upstream.scenario(script)
    request = message_body(model, scenario.marker, max_tokens=1024) if body is None else with_marker(body, scenario.marker, model)
    exchange = answered(gateway.post_messages(request), requirement)
    data = exchange.json()
    check(exchange.status == 200 and isinstance(data, dict) and data.get("type") == "message", "TRN-8",
          f"stream:false got {exchange.summary(400)}", "HTTP 200 with an Anthropic Message (type message), never the upstream's JSON")
    return scenario, data


def blocks(received: ReceivedStream) -> list[dict]:
    """The content blocks the client assembled from the stream, with the index each came on."""
    found: dict[int, dict] = {}
    partial: dict[int, str] = {}
    for data in received.datas:
        index = data.get("index")
        if data["type"] == "content_block_start":
            found[index] = {**data["content_block"], "index": index, "starts": found.get(index, {}).get("starts", 0) + 1}
        elif data["type"] == "content_block_delta" and index in found:
            delta = data.get("delta", {})
            if delta.get("type") == "text_delta":
                found[index]["text"] = found[index].get("text", "") + delta.get("text", "")
            elif delta.get("type") == "thinking_delta":
                found[index]["thinking"] = found[index].get("thinking", "") + delta.get("thinking", "")
            elif delta.get("type") == "input_json_delta":
                partial[index] = partial.get(index, "") + delta.get("partial_json", "")
        elif data["type"] == "content_block_stop" and index in found:
            found[index]["stops"] = found[index].get("stops", 0) + 1
    for index, text in partial.items():
        try:
            found[index]["input"] = json.loads(text or "{}")
        except ValueError:
            found[index]["input"] = f"<not JSON: {text[:200]!r}>"
    return [found[i] for i in sorted(found)]


def final_stop_reason(received: ReceivedStream):
    deltas = [d for d in received.datas if d["type"] == "message_delta"]
    return deltas[-1].get("delta", {}).get("stop_reason") if deltas else "<no message_delta>"


# ---------------------------------------------------------------- TRN-1 text


@pytest.mark.req("TRN-1")
def test_text_arrives_whole_with_multi_byte_characters(gateway, upstream, model):
    expected = "".join(MULTI_BYTE_FRAGMENTS)
    events = turn_events(model, [{"type": "text", "fragments": MULTI_BYTE_FRAGMENTS}], "end_turn")
    _, received = stream(gateway, upstream, model, events, "a text answer in 4 fragments with multi-byte characters")
    texts = [b for b in blocks(received) if b.get("type") == "text"]
    got = "".join(b.get("text", "") for b in texts)
    check(got == expected, "TRN-1", f"the client's text deltas join to {got!r}",
          f"exactly the upstream's text {expected!r} (its frames were split inside multi-byte characters)")
    check(texts and all(b.get("starts") == 1 and b.get("stops") == 1 for b in texts), "TRN-1",
          f"the text came in {len(texts)} text block(s), opened {[b.get('starts') for b in texts]} and closed "
          f"{[b.get('stops') for b in texts]} times", "each text block opened and closed once")


# ---------------------------------------------------------------- TRN-2 tool calls


def check_tool_blocks(received: ReceivedStream, calls: list[dict]) -> list[dict]:
    tools = [b for b in blocks(received) if b.get("type") == "tool_use"]
    shown = [{k: b.get(k) for k in ("index", "id", "name", "input")} for b in tools]
    check(len(tools) == len(calls) and len({b["index"] for b in tools}) == len(calls), "TRN-2",
          f"{len(calls)} upstream tool call(s) became {len(tools)} tool_use block(s): {json.dumps(shown)[:600]}",
          "one tool_use block per upstream call, each on its own index")
    for block, call in zip(tools, calls):
        check(block.get("name") == call["name"] and block.get("input") == call["input"], "TRN-2",
              f"tool_use block {json.dumps({k: block.get(k) for k in ('id', 'name', 'input')})[:400]}",
              f"name {call['name']!r} and arguments JSON-equal to the upstream's {json.dumps(call['input'])}")
        check(isinstance(block.get("id"), str) and TOOL_ID.match(block["id"]), "TRN-2",
              f"tool_use id {block.get('id')!r}", "an id matching ^[a-zA-Z0-9_-]+$ (Claude Code sends it back as tool_use_id)")
    return tools


@pytest.mark.req("TRN-2")
def test_one_tool_call_streamed_in_pieces(gateway, upstream, model):
    events = turn_events(model, [{"type": "text", "fragments": ["Reading it."]}, READ_CALL], "tool_use")
    _, received = stream(gateway, upstream, model, events, "text, then one tool call whose arguments come in two pieces")
    check_tool_blocks(received, [READ_CALL])


@pytest.mark.req("TRN-2")
def test_parallel_tool_calls_stay_separate(gateway, upstream, model):
    events = turn_events(model, [READ_CALL, GREP_CALL], "tool_use")
    _, received = stream(gateway, upstream, model, events, "two parallel tool calls")
    check_tool_blocks(received, [READ_CALL, GREP_CALL])


@pytest.mark.req("TRN-2")
def test_tool_id_the_client_cannot_send_back_is_mapped_and_maps_back(gateway, upstream, model):
    events = turn_events(model, [ODD_ID_CALL], "tool_use")
    _, received = stream(gateway, upstream, model, events, f"a tool call with the id {ODD_ID_CALL['id']!r}")
    (block,) = check_tool_blocks(received, [ODD_ID_CALL])
    # The next turn, as Claude Code sends it: the tool_use back in history and its result.
    body = message_body(model, "", max_tokens=256)
    body["messages"] += [{"role": "assistant", "content": [{k: block[k] for k in ("type", "id", "name", "input")}]},
                         {"role": "user", "content": [{"type": "tool_result", "tool_use_id": block["id"], "content": "odd file"}]}]
    scenario, _ = whole(gateway, upstream, model, message(model), "TRN-2", body)
    history = scenario.requests[0].messages_request()["messages"] if scenario.requests else []
    calls = [b.get("id") for m in history for b in m["content"] if b.get("type") == "tool_use"]
    results = [b.get("tool_use_id") for m in history for b in m["content"] if b.get("type") == "tool_result"]
    check(results and calls == results, "TRN-2",
          f"the client's tool_use {block['id']!r} and its tool_result reached the upstream as call ids {calls} and result ids {results}",
          "the tool result attached to the call it answers")
    if upstream.recorder.format.call_ids:  # Gemini's calls carry no id: they pair by position and name
        check(calls == [ODD_ID_CALL["id"]], "TRN-2", f"the upstream's call id {ODD_ID_CALL['id']!r} came back as {calls}",
              "the id the client sent back maps to the upstream's own call id")


# ---------------------------------------------------------------- TRN-3 stop reasons


STOP_CASES = {
    "tool call, upstream says tool_calls": ([READ_CALL], "tool_use", None, "tool_use"),
    "tool call, upstream says stop": ([READ_CALL], "tool_use", "end_turn", "tool_use"),
    "length cut": ([{"type": "text", "fragments": ["cut sh"]}], "max_tokens", None, "max_tokens"),
    "normal end": ([{"type": "text", "fragments": ["done"]}], "end_turn", None, "end_turn"),
}


@pytest.mark.req("TRN-3")
@pytest.mark.parametrize("case", list(STOP_CASES))
def test_stop_reason_keeps_its_meaning(gateway, upstream, model, case):
    content, anthropic_stop, upstream_stop, expected = STOP_CASES[case]
    if upstream_stop and not upstream.recorder.format.plain_stop_after_tool_calls:
        not_applicable(f"{upstream.recorder.format.title} never reports a plain stop after tool calls")
    events = turn_events(model, content, anthropic_stop, upstream_stop=upstream_stop)
    _, received = stream(gateway, upstream, model, events, case)
    got = final_stop_reason(received)
    check(got == expected, "TRN-3", f"{case}: the stream's final stop_reason is {got!r}", f"stop_reason {expected!r}")
    _, data = whole(gateway, upstream, model, events, "TRN-3")
    check(data.get("stop_reason") == expected, "TRN-3", f"{case}, stream:false: the Message's stop_reason is {data.get('stop_reason')!r}",
          f"stop_reason {expected!r}")


# ---------------------------------------------------------------- TRN-4, TRN-5 the request


def claude_code_history(model: str) -> dict:
    """Claude Code's captured print-mode request (system blocks, 12 tools, thinking, cache_control,
    context_management, output_config) continued by a tool turn: signed thinking, text and two parallel tool
    calls, then both results (one an error with two blocks) and the next instruction."""
    body = copy.deepcopy(captured_request("messages-print").body)
    body["model"] = model
    body.update(stop_sequences=["cgc-stop"], stream=False)
    body["messages"] += [
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "The user wants the note and the grep.", "signature": "RXVjbGlkZWFuIHNpZ25hdHVyZQ=="},
            {"type": "text", "text": "Reading both."}, READ_CALL, GREP_CALL]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": READ_CALL["id"], "content": "1\tthe note", "cache_control": {"type": "ephemeral"}},
            {"type": "tool_result", "tool_use_id": GREP_CALL["id"], "is_error": True,
             "content": [{"type": "text", "text": "grep failed:"}, {"type": "text", "text": "no such directory src"}]},
            {"type": "text", "text": "Now summarise."}]},
    ]
    return body


def tool_definitions(tools) -> dict:
    return {t.get("name"): (t.get("description") or "", sorted((t.get("input_schema") or {}).get("properties", {})),
                            sorted((t.get("input_schema") or {}).get("required", [])))
            for t in tools or () if "input_schema" in t}


@pytest.fixture
def history_request(gateway, upstream, model):
    body = claude_code_history(model)
    scenario = upstream.scenario(json_script(message(model)))
    exchange = answered(gateway.post_messages(with_marker(body, scenario.marker, model), headers=captured_headers("messages")), "TRN-5")
    return body, exchange, scenario


@pytest.mark.req("TRN-5")
def test_claude_only_content_is_adapted_not_refused_upstream(history_request):
    body, exchange, scenario = history_request
    check(exchange.status == 200, "TRN-5",
          f"Claude Code's request with thinking history, cache_control, context_management and output_config got "
          f"{exchange.summary(500)} (the evidence shows what the provider received)",
          "HTTP 200: Claude-only content dropped or mapped before it reaches the provider")


@pytest.mark.req("TRN-5")
def test_tool_history_without_tool_definitions_is_accepted(gateway, upstream, model):
    # Claude Code's compaction and side requests carry the conversation's tool turns without `tools`
    # (anthropics/claude-code#10222: Bedrock refuses tool history without toolConfig).
    body = claude_code_history(model)
    del body["tools"]
    body["system"] = body["system"][:1]
    scenario = upstream.scenario(json_script(message(model)))
    exchange = answered(gateway.post_messages(with_marker(body, scenario.marker, model), headers=captured_headers("messages")), "TRN-5")
    check(exchange.status == 200, "TRN-5", f"a request with tool_use/tool_result history and no tool definitions got {exchange.summary(500)}",
          "HTTP 200: the history adapted to what the provider accepts (e.g. the used tools declared, as LiteLLM does)")


@pytest.mark.req("TRN-4")
def test_request_meaning_reaches_the_upstream(history_request, upstream):
    body, exchange, scenario = history_request
    if exchange.status != 200 or not scenario.requests:
        pytest.skip(f"the request was not answered 200 (HTTP {exchange.status}; see TRN-5)")
    got = scenario.requests[-1].messages_request()
    upstream_system = "\n".join(b.get("text", "") for b in got.get("system") or ())
    position = 0
    for text in [b["text"] for b in body["system"] if not b["text"].startswith("x-anthropic-billing-header")]:
        elsewhere = any(text in text_of(m["content"]) for m in got["messages"])
        check(text in upstream_system, "TRN-4", f"the system block starting {text[:80]!r} is not in what the upstream received as "
              f"its system prompt ({len(upstream_system)} characters)"
              + ("; it arrived as the text of a conversation turn, where the model reads it as something the user said" if elsewhere else ""),
              "every system block's text, in order, in the provider's system instruction")
        found = upstream_system.find(text, position)
        check(found >= 0, "TRN-4", f"the system block starting {text[:80]!r} arrived before the block the client sent ahead of it",
              "every system block's text, in the client's order")
        position = found + len(text)
    check(tool_definitions(got.get("tools")) == tool_definitions(body["tools"]), "TRN-4",
          f"the upstream received tools {sorted(tool_definitions(got.get('tools')))}",
          f"the client's {len(tool_definitions(body['tools']))} tools with the same descriptions, properties and required lists")
    calls = [(b.get("name"), b.get("input")) for m in got["messages"] for b in m["content"] if b.get("type") == "tool_use"]
    check(calls == [(READ_CALL["name"], READ_CALL["input"]), (GREP_CALL["name"], GREP_CALL["input"])], "TRN-4",
          f"the assistant's tool calls reached the upstream as {calls}", "both tool calls, same names and arguments")
    results = [b for m in got["messages"] for b in m["content"] if b.get("type") == "tool_result"]
    texts = [json.dumps(r.get("content"), ensure_ascii=False) for r in results]
    check(len(results) == 2 and "the note" in texts[0] and "grep failed:" in texts[1] and "no such directory src" in texts[1],
          "TRN-4", f"the tool results reached the upstream as {texts}", "both tool results of the turn, with all their text")
    call_ids = [b.get("id") for m in got["messages"] for b in m["content"] if b.get("type") == "tool_use"]
    check([r.get("tool_use_id") for r in results] == call_ids, "TRN-4",
          f"tool results for {[r.get('tool_use_id') for r in results]}, calls {call_ids}", "each result attached to its call")
    if any("is_error" in r for r in results):  # where the provider's tool result can say so
        check(results[1].get("is_error") is True, "TRN-4", f"the failed tool's result arrived as {json.dumps(results[1])[:300]}",
              "the error flag kept")
    stops = body["stop_sequences"] if upstream.recorder.format.takes_stop_sequences else None  # the Responses API has none
    check(got.get("max_tokens") == body["max_tokens"] and got.get("stop_sequences") == stops, "TRN-4",
          f"max_tokens {got.get('max_tokens')!r} and stop sequences {got.get('stop_sequences')!r} arrived",
          f"max_tokens {body['max_tokens']} and stop sequences {stops}")
    last_text = "".join(b.get("text", "") for b in got["messages"][-1]["content"] if b.get("type") == "text")
    check("Now summarise." in last_text, "TRN-4", f"the last user message's text arrived as {last_text[:200]!r}",
          "the user's text after the tool results")


# ---------------------------------------------------------------- TRN-6 usage


@pytest.mark.req("TRN-6")
def test_usage_is_real_and_split_the_anthropic_way(gateway, upstream, model, evidence):
    events = turn_events(model, [{"type": "text", "fragments": ["cached answer"]}], "end_turn", usage=CACHED_USAGE)
    _, received = stream(gateway, upstream, model, events, "a turn with 900 of 1,000 input tokens read from cache, 42 output")
    usage: dict = {}
    for data in received.datas:
        if data["type"] == "message_start":
            usage.update((data.get("message") or {}).get("usage") or {})
        elif data["type"] == "message_delta":
            usage.update({k: v for k, v in (data.get("usage") or {}).items() if v is not None})
    _, message_data = whole(gateway, upstream, model, events, "TRN-6")
    for mode, got in (("stream", usage), ("stream:false", message_data.get("usage") or {})):
        evidence.add(f"usage the client got ({mode})", json.dumps(got))
        total = sum(got.get(k) or 0 for k in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"))
        check(got.get("output_tokens") == 42 and got.get("cache_read_input_tokens") == 900 and total == 1000, "TRN-6",
              f"{mode}: the client got usage {json.dumps(got)}",
              "output_tokens 42, cache_read_input_tokens 900, and input + cache read + cache write = the upstream's 1,000 input tokens")


# ---------------------------------------------------------------- TRN-7 errors


ERROR_CASES = {
    400: ("invalid_request_error", (400,)), 401: ("authentication_error", (401,)), 403: ("permission_error", (403,)),
    404: ("not_found_error", (404,)), 429: ("rate_limit_error", (429,)), 500: ("api_error", (500,)),
    529: ("overloaded_error", (529, 503)),
}


@pytest.mark.req("TRN-7")
@pytest.mark.parametrize("status", list(ERROR_CASES))
def test_upstream_error_comes_back_in_the_anthropic_envelope(gateway, upstream, model, status):
    error_type, statuses = ERROR_CASES[status]
    text = f"conformance: scripted {status} from the upstream"
    headers = (("retry-after", "7"),) if status == 429 else ()
    scenario = upstream.scenario(json_script(error_body(error_type, text), status=status, headers=headers))
    exchange = answered(gateway.post_messages(message_body(model, scenario.marker, stream=True)), "TRN-7")
    data = exchange.json()
    error = data.get("error") if isinstance(data, dict) and isinstance(data.get("error"), dict) else {}
    check(exchange.status in statuses and isinstance(data, dict) and data.get("type") == "error" and error.get("type") == error_type,
          "TRN-7", f"the upstream's {status} came back as {exchange.summary(400)}",
          f"HTTP {' or '.join(map(str, statuses))} with {{\"type\": \"error\", \"error\": {{\"type\": \"{error_type}\", ...}}}}")
    if status == 400:
        check(text in str(error.get("message")), "TRN-7", f"the message came back as {error.get('message')!r}",
              f"the upstream's message kept ({text!r})")
    if status == 429 and upstream.recorder.format.gives_retry_after:  # Bedrock's 429 says nothing of when to retry
        check(exchange.header("retry-after") == "7", "TRN-7", f"retry-after: {exchange.header('retry-after')!r}",
              "retry-after: 7, as the upstream gave it")


@pytest.mark.req("TRN-7")
def test_context_window_error_keeps_wording_claude_code_recognises(gateway, upstream, model):
    scenario = upstream.scenario(json_script(error_body("invalid_request_error", f"{PROMPT_TOO_LONG}: 210000 tokens > 200000 maximum"), status=400))
    exchange = answered(gateway.post_messages(message_body(model, scenario.marker, stream=True)), "TRN-7")
    data = exchange.json()
    message_text = str((data.get("error") or {}).get("message", "")) if isinstance(data, dict) else ""
    recognised = message_text.startswith(PROMPT_TOO_LONG) or message_text.startswith("Input is too long")
    check(exchange.status == 400 and recognised, "TRN-7",
          f"the provider's own context-window error came back as {exchange.summary(400)}",
          "HTTP 400 invalid_request_error whose message starts with 'prompt is too long' (or Bedrock's 'Input is too "
          "long'), so Claude Code compacts and retries")


# ---------------------------------------------------------------- TRN-8 both modes


@pytest.mark.req("TRN-8")
def test_both_modes_get_anthropic_shapes(gateway, upstream, model):
    events = turn_events(model, [{"type": "text", "fragments": ["shape check"]}], "end_turn")
    _, received = stream(gateway, upstream, model, events, "a text answer")
    foreign = [e.raw[:120] for e in received.events if not isinstance(e.json(), dict) or "choices" in e.json() or "candidates" in e.json()]
    check(received.datas and received.datas[0]["type"] == "message_start" and not foreign, "TRN-8",
          f"the stream began with {received.datas[0]['type'] if received.datas else 'no event'!r}"
          + (f" and carried non-Anthropic events {foreign[:3]}" if foreign else ""),
          "Anthropic events only, starting with message_start")
    _, data = whole(gateway, upstream, model, events)
    text = "".join(b.get("text", "") for b in data.get("content", []) if isinstance(b, dict) and b.get("type") == "text")
    check(text == "shape check" and data.get("role") == "assistant", "TRN-8", f"stream:false got the Message {json.dumps(data)[:400]}",
          "a Message with role assistant and the upstream's text in a text block")


# ---------------------------------------------------------------- TRN-9 reasoning


@pytest.mark.req("TRN-9")
def test_reasoning_never_lands_in_the_answer_text(gateway, upstream, model):
    reasoning = "First I consider the question carefully."
    events = turn_events(model, [{"type": "thinking", "thinking": reasoning, "signature": ""},
                                 {"type": "text", "fragments": ["The answer is 4."]}], "end_turn")
    _, received = stream(gateway, upstream, model, events, "reasoning, then the answer's text")
    found = blocks(received)
    text = "".join(b.get("text", "") for b in found if b.get("type") == "text")
    check(text == "The answer is 4.", "TRN-9", f"the answer's text arrived as {text!r}", "the answer's text only, no reasoning in it")
    kinds = [b.get("type") for b in found]
    check("thinking" not in kinds or kinds.index("thinking") < kinds.index("text"), "TRN-9",
          f"the blocks came in the order {kinds}", "a thinking block before the text, or none")


# ---------------------------------------------------------------- TRN-10 model routing


@pytest.mark.req("TRN-10")
def test_one_client_model_reaches_one_upstream_model(gateway, upstream, model):
    kinds = {"streamed": True, "not streamed": False}
    arrived = {}
    for label, streamed in kinds.items():
        for attempt in range(2):
            scenario = upstream.scenario()
            answered(gateway.post_messages(message_body(model, scenario.marker, stream=streamed, max_tokens=16)), "TRN-10")
            arrived[f"{label} #{attempt + 1}"] = scenario.requests[0].call.model if scenario.requests and scenario.requests[0].call else None
    check(len(set(arrived.values())) == 1 and None not in arrived.values(), "TRN-10",
          f"requests for {model!r} reached the upstream as models {arrived}", "one upstream model for one client model")


# ---------------------------------------------------------------- ERR-8 unknown betas


@pytest.mark.req("ERR-8")
def test_unknown_beta_is_not_fatal(gateway, upstream, model):
    headers = captured_headers("messages")
    current = next(v for k, v in headers if k.lower() == "anthropic-beta")
    scenario = upstream.scenario()
    exchange = answered(gateway.post_messages(message_body(model, scenario.marker, max_tokens=16),
                                              headers=with_header(headers, "anthropic-beta", f"{current},cgc-future-2099-01-01")), "ERR-8")
    check(exchange.status == 200, "ERR-8", f"a request with an unknown beta value got {exchange.summary(300)}",
          "HTTP 200: a beta the gateway does not know is ignored or dropped for a non-Anthropic upstream")


# ---------------------------------------------------------------- PROV-3 Bedrock's beta array


@pytest.mark.req("PROV-3")
def test_beta_header_values_reach_bedrock_in_its_body(gateway, upstream, model):
    headers = captured_headers("messages")
    sent = [v.strip() for v in next(v for k, v in headers if k.lower() == "anthropic-beta").split(",")] + ["cgc-future-2099-01-01"]
    scenario = upstream.scenario(json_script(message(model)))
    body = with_marker(captured_request("messages-print").body, scenario.marker, model)
    exchange = answered(gateway.post_messages(body, headers=with_header(headers, "anthropic-beta", ",".join(sent))), "PROV-3")
    if not scenario.requests:
        fail("PROV-3", f"the request never reached the upstream; the gateway answered {exchange.summary(300)}", "the request forwarded")
    arrived = json.loads(scenario.requests[0].body).get("anthropic_beta")
    check(arrived == sent, "PROV-3", f"the client sent anthropic-beta: {', '.join(sent)}; Bedrock received anthropic_beta {arrived!r}",
          "the same values, in the same order, in the body's anthropic_beta array")


# ---------------------------------------------------------------- SSE-14, SSE-5 silences


def silence_turn(gateway, upstream, model, seconds: float):
    events = turn_events(model, [{"type": "text", "fragments": ["before the silence, ", "after it"]}], "end_turn",
                         pause_after_first_text_s=seconds)
    return stream_scripted(gateway, upstream, model, sse_script(events), f"an upstream silent for {seconds:g} s", silence_s=seconds)


def longest_silence(received: ReceivedStream, what: str, requirement: str) -> float:
    if received.exchange.status != 200 or not received.datas:
        fail(requirement, f"the streamed request got {received.exchange.summary(300)}", "HTTP 200 with an Anthropic stream")
    if received.ending():
        fail("SSE-10", f"{what}: {received.ending()}", "the stream ends with message_stop after the silence")
    started = received.exchange.headers_at or received.exchange.started_at
    return max(received.read_gaps(started, received.exchange.finished_at))


@overlapping("banner-silence", timed=True)
def banner_silence(job):
    return silence_turn(job.gateway(), job.upstream(), job.model, BANNER_SILENCE_S)


@pytest.mark.req("SSE-14")
@pytest.mark.overlapping("banner-silence")
def test_client_gaps_stay_under_twenty_seconds(overlapped, measurements):
    _, received = overlapped("banner-silence")
    gap = longest_silence(received, f"an upstream silence of {BANNER_SILENCE_S:g} s", "SSE-14")
    measurements[f"longest client-side gap while the upstream was silent for {BANNER_SILENCE_S:g} s"] = f"{gap:.1f} s"
    check(gap < BANNER_GAP_S, "SSE-14", f"the client received nothing for {gap:.1f} s while the upstream was silent for "
          f"{BANNER_SILENCE_S:g} s", f"ping events so that no client-side gap reaches {BANNER_GAP_S:g} s")


@pytest.mark.req("SSE-5")
@pytest.mark.long_silence
def test_client_gaps_stay_under_the_watchdog(gateway, upstream, model, measurements):
    _, received = silence_turn(gateway, upstream, model, WATCHDOG_SILENCE_S)  # opt-in: over 5 minutes
    gap = longest_silence(received, f"an upstream silence of {WATCHDOG_SILENCE_S:g} s", "SSE-5")
    measurements[f"longest client-side gap while the upstream was silent for {WATCHDOG_SILENCE_S:g} s"] = f"{gap:.1f} s"
    check(gap < WATCHDOG_GAP_S, "SSE-5", f"the client received nothing for {gap:.1f} s while the upstream was silent for "
          f"{WATCHDOG_SILENCE_S:g} s", f"ping events so that no client-side gap reaches {WATCHDOG_GAP_S:g} s (the client's byte watchdog)")
