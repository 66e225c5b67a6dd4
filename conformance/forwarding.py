"""What the gateway forwards: Claude Code's captured requests, and the differences between what the
client sent and what reached the upstream, described for a reviewer (JSON paths, header values, bytes)."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from conformance.resources import fixture
from conformance.upstream import ReceivedRequest

Headers = list[tuple[str, str]]


@dataclass(frozen=True)
class CapturedRequest:
    """A request as Claude Code sent it (fixtures/claude-code/requests/NAME.json)."""

    name: str
    method: str
    path: str
    headers: Headers
    body: dict[str, Any] | None
    source: str


def captured_request(name: str) -> CapturedRequest:
    data = fixture(f"claude-code/requests/{name}.json")
    return CapturedRequest(name, data["method"], data["path"], [(k, v) for k, v in data["headers"]], data["body"], data["source"])


def with_marker(body: dict[str, Any], marker: str, model: str) -> dict[str, Any]:
    """A copy of a captured body for this run: its model is the run's (--model), and its last user message
    also carries the scenario marker."""
    body = copy.deepcopy(body)
    body["model"] = model
    last_user = next(m for m in reversed(body["messages"]) if m.get("role") == "user")
    if isinstance(last_user["content"], str):
        last_user["content"] += f"\n{marker}"
    else:
        last_user["content"].append({"type": "text", "text": marker})
    return body


def exact_json(raw: bytes) -> Any:
    """JSON with every number as an exact Decimal: 9007199254740991 stays itself, 1.0 equals 1."""
    return json.loads(raw, parse_float=Decimal, parse_int=Decimal)


def json_differences(sent: Any, received: Any, path: str = "$", limit: int = 20) -> list[str]:
    """Where two JSON documents differ in content (object key order is not content)."""
    found: list[str] = []

    def walk(a: Any, b: Any, where: str) -> None:
        if len(found) >= limit:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in a.keys() - b.keys():
                found.append(f"{where}.{key}: dropped (sent {_short(a[key])})")
            for key in b.keys() - a.keys():
                found.append(f"{where}.{key}: added ({_short(b[key])})")
            for key in a.keys() & b.keys():
                walk(a[key], b[key], f"{where}.{key}")
        elif isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                found.append(f"{where}: {len(a)} items sent, {len(b)} received")
            for index, (x, y) in enumerate(zip(a, b)):
                walk(x, y, f"{where}[{index}]")
        elif isinstance(a, str) and isinstance(b, str) and a != b and max(len(a), len(b)) > 120:
            at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            found.append(f"{where}: strings differ from character {at}: sent …{_short(a[max(0, at - 40):at + 60])}, "
                         f"received …{_short(b[max(0, at - 40):at + 60])}")
        elif a != b or type(a) is not type(b):
            found.append(f"{where}: sent {_short(a)}, received {_short(b)}")

    walk(sent, received, path)
    return found


def _short(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "…"


def byte_differences(sent: bytes, received: bytes) -> str:
    """BODY-17's report: both lengths, the first differing offset, and the kinds of change found."""
    if sent == received:
        return ""
    offset = next((i for i, (a, b) in enumerate(zip(sent, received)) if a != b), min(len(sent), len(received)))
    kinds = []
    try:
        a, b = json.loads(sent), json.loads(received)
        if _key_orders(a) != _key_orders(b):
            kinds.append("object key order")
        if received.count(b"\\u") > sent.count(b"\\u") or received.count(b"\\/") > sent.count(b"\\/"):
            kinds.append("string escapes")
        if b" " in _outside_strings(received) and b" " not in _outside_strings(sent):
            kinds.append("whitespace")
        if not kinds:
            kinds.append("formatting (numbers or spacing)")
    except ValueError:
        kinds.append("the received body is not JSON")
    return (f"sent {len(sent)} bytes, received {len(received)} bytes, first difference at offset {offset} "
            f"(sent {sent[max(0, offset - 30):offset + 30]!r}, received {received[max(0, offset - 30):offset + 30]!r}); "
            f"kinds: {', '.join(kinds)}")


def _key_orders(value: Any) -> Any:
    if isinstance(value, dict):
        return [(k, _key_orders(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_key_orders(v) for v in value]
    return None


def _outside_strings(raw: bytes) -> bytes:
    out, in_string, escaped = bytearray(), False, False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        else:
            out.append(byte)
    return bytes(out)


def beta_values(header: str | None) -> list[str]:
    return [v.strip() for v in (header or "").split(",") if v.strip()]


def is_subsequence(wanted: list[str], within: list[str]) -> bool:
    """Every wanted value, in order, among `within` (a gateway may merge in values of its own)."""
    remaining = iter(within)
    return all(any(value == candidate for candidate in remaining) for value in wanted)


def side_by_side(rows: list[tuple[str, str | None, str | None]]) -> str:
    """name | sent | received, one line each, for evidence a reviewer reads without code."""
    width = max((len(name) for name, _, _ in rows), default=4)
    lines = [f"{'':<{width}}  sent -> received"]
    for name, sent, received in rows:
        mark = "  " if sent == received else "≠ "
        lines.append(f"{mark}{name:<{width}}  {sent!r} -> {received!r}")
    return "\n".join(lines)


def header_rows(sent: Headers, received: ReceivedRequest, names: list[str] | None = None) -> list[tuple[str, str | None, str | None]]:
    wanted = names or [k for k, _ in sent]
    rows = []
    for name in dict.fromkeys(n.lower() for n in wanted):
        values = [v for k, v in sent if k.lower() == name]
        rows.append((name, ", ".join(values) if values else None, received.header(name)))
    return rows
