"""AWS event-stream framing (`application/vnd.amazon.eventstream`), as Bedrock streams use it.

Reading is botocore's parser (it checks both CRCs); writing has no maintained Python library outside the AWS
SDKs' transports, and is the prelude, string headers, payload and two CRC32s of the published framing
(docs.aws.amazon.com/transcribe/latest/dg/streaming-setting-up.html#streaming-event-stream): the self-tests read
every frame written here back with botocore."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

from botocore.eventstream import EventStreamBuffer, ParserError

CONTENT_TYPE = "application/vnd.amazon.eventstream"
STRING_HEADER = 7


def frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message with string headers."""
    encoded = b"".join(struct.pack(">B", len(name.encode())) + name.encode() + struct.pack(">BH", STRING_HEADER, len(value.encode()))
                       + value.encode() for name, value in headers.items())
    prelude = struct.pack(">II", 12 + len(encoded) + len(payload) + 4, len(encoded))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return message + struct.pack(">I", zlib.crc32(message))


def event(event_type: str, payload: bytes) -> bytes:
    return frame({":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}, payload)


def exception(exception_type: str, payload: bytes) -> bytes:
    return frame({":exception-type": exception_type, ":content-type": "application/json", ":message-type": "exception"}, payload)


class FrameReader:
    """Messages out of arbitrary chunks: (headers, payload) pairs, CRCs checked by botocore."""

    def __init__(self) -> None:
        self.buffer = EventStreamBuffer()

    def feed(self, chunk: bytes) -> Iterator[tuple[dict[str, str], bytes]]:
        self.buffer.add_data(chunk)
        try:
            for message in self.buffer:
                yield {k: str(v) for k, v in message.headers.items()}, message.payload
        except ParserError as exc:
            yield {":message-type": "exception", ":exception-type": "invalidEventStream"}, str(exc).encode()
