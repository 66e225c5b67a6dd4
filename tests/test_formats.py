"""The provider formats the recording upstream plays (conformance/formats/): their frames, refusals and the
reference translator's reading of them, without a gateway in between."""

from __future__ import annotations

import json

import pytest
from botocore.eventstream import EventStreamBuffer

from conformance.formats import TRANSLATED, eventstream
from conformance.formats.base import TOOL_ID, Call, client_tool_id, upstream_tool_id
from conformance.formats.messages import message_from_events
from conformance.upstream import Raw, Sleep, sse_script
from conformance.upstream.answers import turn_events

MODEL = "claude-sonnet-4-6"
TURN = [{"type": "thinking", "thinking": "Let me look.", "signature": "c2ln"},
        {"type": "text", "fragments": ["Grüße ", "— 日本"]},
        {"type": "tool_use", "id": "call_1", "name": "Read", "input": {"file_path": "/a b", "limit": 3}},
        {"type": "tool_use", "id": "call_2", "name": "Grep", "input": {"pattern": "x"}}]


def test_event_stream_frames_are_read_back_by_botocore_with_their_crcs():
    buffer = EventStreamBuffer()
    buffer.add_data(eventstream.event("chunk", b'{"bytes":"e30="}') + eventstream.exception("throttlingException", b'{"message":"slow"}'))
    first, second = list(buffer)
    assert first.headers == {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}
    assert first.payload == b'{"bytes":"e30="}' and second.headers[":exception-type"] == "throttlingException"


@pytest.mark.parametrize("name", sorted(n for n, f in TRANSLATED.items() if not f.relays_stream))
def test_a_rendered_stream_reads_back_as_the_scripted_turn(name):
    fmt = TRANSLATED[name]
    call = Call("messages", True, MODEL)
    script = fmt.render(call, sse_script(turn_events(MODEL, TURN, "tool_use")))
    reader = fmt.reader(MODEL)
    events = []
    for step in script.body_steps:  # fed piece by piece: frames are split inside multi-byte characters
        if isinstance(step, Raw):
            events += reader.feed(step.data)
    message = message_from_events(events + reader.end())
    texts = [b.get("text") for b in message["content"] if b["type"] == "text"]
    tools = [(b["name"], b["input"]) for b in message["content"] if b["type"] == "tool_use"]
    assert texts == ["Grüße — 日本"] and tools == [("Read", TURN[2]["input"]), ("Grep", TURN[3]["input"])]
    assert message["stop_reason"] == "tool_use" and all(TOOL_ID.match(b["id"]) for b in message["content"] if b["type"] == "tool_use")


def test_a_silence_in_the_script_stays_a_silence_in_every_format():
    events = turn_events(MODEL, [{"type": "text", "fragments": ["a", "b"]}], "end_turn", pause_after_first_text_s=21)
    for fmt in TRANSLATED.values():
        steps = fmt.render(Call("messages", True, MODEL), sse_script(events)).body_steps
        assert Sleep(21) in steps, fmt.name


@pytest.mark.parametrize(("name", "body", "wording"), [
    ("openai", {"model": "m", "messages": [{"role": "assistant", "content": [{"type": "thinking", "thinking": "x"}]}]},
     "Invalid value: 'thinking'"),
    ("openai", {"model": "m", "messages": [{"role": "user", "content": "x"}], "thinking": {}}, "Unrecognized request argument"),
    ("bedrock-converse", {"messages": [{"role": "user", "content": [{"text": "x"}]},
                                       {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t", "name": "R", "input": {}}}]},
                                       {"role": "user", "content": [{"toolResult": {"toolUseId": "t", "content": [{"text": "r"}]}}]}]},
     "The toolConfig field must be defined"),
    ("gemini", {"contents": [{"role": "user", "parts": [{"text": "x"}]}], "thinking": {}}, 'Unknown name "thinking"'),
    ("openai-responses", {"model": "m", "input": "x", "context_management": {}}, "Unknown parameter: 'context_management'"),
    ("bedrock", {"model": "m", "messages": []}, "extraneous key [model]"),
])
def test_the_provider_refuses_what_the_real_one_refuses(name, body, wording):
    refusal = TRANSLATED[name].refusal(Call("messages", False, "m"), body)
    assert refusal and wording in refusal


@pytest.mark.parametrize("upstream_id", ["call_abc-1", "call|cgc:7/odd", "tooluse_ü"])
def test_tool_ids_the_client_gets_are_valid_and_map_back(upstream_id):
    client_id = client_tool_id(upstream_id)
    assert TOOL_ID.match(client_id) and upstream_tool_id(client_id) == upstream_id
    assert (client_id == upstream_id) == bool(TOOL_ID.match(upstream_id))


def test_openai_usage_chunk_only_when_asked():
    events = turn_events(MODEL, [{"type": "text", "fragments": ["hi"]}], "end_turn")
    for wants, expected in ((True, 1), (False, 0)):
        script = TRANSLATED["openai"].render(Call("messages", True, MODEL, wants), sse_script(events))
        chunks = [json.loads(s.data[6:]) for s in script.body_steps if isinstance(s, Raw) and s.data.startswith(b"data: {")]
        assert sum(1 for c in chunks if c.get("usage")) == expected
