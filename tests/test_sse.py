"""SSE parsing by the WHATWG rules, whatever the chunking and line ends."""

from __future__ import annotations

import pytest

from conformance.sse import SSEParser, parse_sse

STREAM = 'event: message_start\ndata: {"type":"message_start"}\n\n: keep-alive\n\nevent: ping\ndata: {"type":"ping"}\n\n'


@pytest.mark.parametrize("line_end", ["\n", "\r\n", "\r"])
def test_every_line_end_style_gives_the_same_events(line_end):
    parser = parse_sse(STREAM.replace("\n", line_end).encode())
    assert [(e.event, e.data) for e in parser.events] == [("message_start", '{"type":"message_start"}'), ("ping", '{"type":"ping"}')]
    assert [c.text for c in parser.comments] == ["keep-alive"]


@pytest.mark.parametrize("line_end", ["\n", "\r\n", "\r"])
def test_byte_by_byte_chunks_give_the_same_events_with_arrival_times(line_end):
    body = STREAM.replace("\n", line_end).encode()
    parser = SSEParser()
    for index in range(len(body)):
        parser.feed(body[index:index + 1], float(index))
    assert [e.event for e in parser.events] == ["message_start", "ping"]
    assert parser.events[0].received_at < parser.events[1].received_at
    assert parser.unterminated == b""


def test_multi_line_data_joins_with_newline_and_space_after_colon_is_optional():
    parser = parse_sse(b"event:x\ndata:a\ndata: b\n\n")
    assert (parser.events[0].event, parser.events[0].data) == ("x", "a\nb")


def test_event_without_event_field_has_none_name():
    assert parse_sse(b"data: [DONE]\n\n").events[0].event is None


def test_event_with_no_data_is_not_dispatched():
    assert parse_sse(b"event: ping\n\n").events == []


def test_raw_bytes_of_each_event_are_kept():
    body = b'event: a\r\ndata: {"x": 1}\r\n\r\n'
    assert parse_sse(body).events[0].raw == body


def test_unterminated_event_at_end_is_reported():
    parser = parse_sse(b"event: a\ndata: 1\n\nevent: b\ndata: 2\n")
    assert [e.event for e in parser.events] == ["a"]
    assert parser.unterminated == b"event: b\ndata: 2\n"


def test_several_events_in_one_chunk_and_one_event_across_chunks():
    parser = SSEParser()
    parser.feed(b"event: a\ndata: 1\n\nevent: b\nda", 1.0)
    parser.feed(b"ta: 2\n", 2.0)
    parser.feed(b"\n", 3.0)
    assert [(e.event, e.received_at) for e in parser.events] == [("a", 1.0), ("b", 3.0)]
