"""Incremental Server-Sent Events parsing by the WHATWG rules, keeping raw bytes and arrival times.

Why not a library: httpx-sse and sseclient parse events but drop what a conformance check needs,
the raw bytes of each event and comment and the moment each one arrived. The rules are short:
line ends LF, CRLF or CR (also split across chunks); a line starting with ':' is a comment; one
optional space after the field's colon; several data lines join with "\\n"; a blank line ends the
event; an event whose data buffer is empty is not dispatched.
https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SSEEvent:
    event: str | None  # None when the event had no `event:` field
    data: str
    id: str | None
    raw: bytes  # every line of the event, terminators included, comments between its fields too
    received_at: float  # when the blank line that ended it arrived

    def json(self) -> Any:
        """The data parsed as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.data)
        except ValueError:
            return None


@dataclass
class SSEComment:
    text: str
    raw: bytes
    received_at: float


@dataclass
class SSEParser:
    """Feed decoded body chunks with their arrival times; get events and comments back."""

    events: list[SSEEvent] = field(default_factory=list)
    comments: list[SSEComment] = field(default_factory=list)
    _pending: bytes = b""
    _pending_cr: bool = False  # the last chunk ended in CR: a following LF belongs to it
    _cr_line_item: SSEEvent | SSEComment | None = None  # what that CR-ended line produced, to give it the LF
    _raw: bytearray = field(default_factory=bytearray)
    _event: str = ""
    _data: list[str] = field(default_factory=list)
    _id: str | None = None

    def feed(self, chunk: bytes, received_at: float) -> list[SSEEvent | SSEComment]:
        out: list[SSEEvent | SSEComment] = []
        if self._pending_cr and chunk.startswith(b"\n"):
            if self._cr_line_item is not None:
                self._cr_line_item.raw += b"\n"
            else:
                self._raw += b"\n"
            chunk = chunk[1:]
        self._pending_cr = False
        buf = self._pending + chunk
        start = 0
        i = 0
        while i < len(buf):
            byte = buf[i]
            if byte in (0x0A, 0x0D):
                line = buf[start:i]
                end = i + 1
                if byte == 0x0D:
                    if end < len(buf) and buf[end] == 0x0A:
                        end += 1
                    elif end == len(buf):
                        self._pending_cr = True
                item = self._line(line, buf[start:end], received_at)
                if item is not None:
                    out.append(item)
                self._cr_line_item = item if isinstance(item, SSEEvent) or (item is not None and not self._raw) else None
                start = i = end
                continue
            i += 1
        self._pending = buf[start:]
        return out

    @property
    def unterminated(self) -> bytes:
        """Bytes of an event (or line) that had started but not ended when the stream stopped."""
        return bytes(self._raw) + self._pending

    def _line(self, line: bytes, raw: bytes, received_at: float) -> SSEEvent | SSEComment | None:
        self._raw += raw
        text = line.decode("utf-8", errors="replace")
        if text == "":
            return self._dispatch(received_at)
        if text.startswith(":"):
            comment = SSEComment(text[1:].removeprefix(" "), raw, received_at)
            self.comments.append(comment)
            if not self._event and not self._data:
                self._raw.clear()  # a comment between events belongs to no event
            return comment
        name, colon, value = text.partition(":")
        if colon:
            value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id = value
        return None

    def _dispatch(self, received_at: float) -> SSEEvent | None:
        raw = bytes(self._raw)
        self._raw.clear()
        if not self._data:
            self._event = ""
            return None
        event = SSEEvent(self._event or None, "\n".join(self._data), self._id, raw, received_at)
        self._event, self._data = "", []
        self.events.append(event)
        return event


def parse_sse(body: bytes) -> SSEParser:
    """Parse a complete body in one go (arrival times all 0)."""
    parser = SSEParser()
    parser.feed(body, 0.0)
    return parser
