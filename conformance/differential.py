"""The differential view of the end-to-end area: the same Claude Code scenario run once straight at the
recording upstream (the control) and once through the gateway, and every difference in what the upstream
received, split into what the contract forbids and what it lets a gateway change."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from conformance.forwarding import beta_values, is_subsequence, json_differences
from conformance.upstream import ReceivedRequest
from conformance.upstream.recorder import conversation_turn

# Values that differ between any two Claude Code runs: session and device ids, the scenario nonce.
_VOLATILE_IDS = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"\b[0-9a-f]{64}\b"), "<device-id>"),
    (re.compile(r"conformance-scenario [A-Za-z0-9]+"), "conformance-scenario <nonce>"),
]
# And in bodies only, the prompt's date of today: a free-standing date, not one inside a beta name like
# effort-2025-11-24. Header values keep their dates: anthropic-version is one.
_TODAY = (re.compile(r"(?<![\w-])\d{4}-\d{2}-\d{2}(?![\w-])"), "<date>")
# Set per connection or by the credential swap every gateway makes: never a protocol difference.
TRANSPORT_HEADERS = frozenset({"host", "content-length", "connection", "keep-alive", "transfer-encoding", "accept-encoding",
                               "authorization", "x-api-key", "via", "forwarded", "x-forwarded-for", "x-forwarded-host",
                               "x-forwarded-proto", "x-real-ip"})


def normalise(text: str, dates: bool = False) -> str:
    for pattern, placeholder in _VOLATILE_IDS + ([_TODAY] if dates else []):
        text = pattern.sub(placeholder, text)
    return text


def _normalised_json(value: Any) -> Any:
    if isinstance(value, str):
        return normalise(value, dates=True)
    if isinstance(value, list):
        return [_normalised_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _normalised_json(v) for k, v in value.items()}
    return value


@dataclass
class Differences:
    forbidden: list[tuple[str, str]] = field(default_factory=list)  # (contract requirement, what changed)
    allowed: list[str] = field(default_factory=list)  # changes the contract permits, listed for the reviewer

    def report(self) -> str:
        lines = [f"FORBIDDEN{f' ({rid})' if rid else ''}: {what}" for rid, what in self.forbidden]
        lines += [f"allowed: {what}" for what in self.allowed]
        return "\n".join(lines) or "no difference"


def compare(control: list[ReceivedRequest], through: list[ReceivedRequest], gateway_header_names: set[str]) -> Differences:
    """Pair each request Claude Code sent directly with the first one of the same turn and stream flag that
    came through the gateway; extra requests through the gateway (retries, non-streaming fallbacks) are listed."""
    found = Differences()
    unpaired = list(through)
    for direct in control:
        key = _turn_key(direct)
        where = f"turn {key[0]}{'' if key[1] else ' (non-streaming)'}"
        relayed = next((r for r in unpaired if _turn_key(r) == key), None)
        if relayed is None:
            found.forbidden.append(("", f"{where}: Claude Code sent it directly, but it never reached the upstream through the gateway"))
            continue
        unpaired.remove(relayed)
        _compare_request(where, direct, relayed, gateway_header_names, found)
    for extra in unpaired:
        turn, streaming = _turn_key(extra)
        found.allowed.append(f"an extra request through the gateway: turn {turn}, stream {streaming} "
                             "(Claude Code retried or fell back to non-streaming; see E2E-1 and E2E-4)")
    return found


def _turn_key(request: ReceivedRequest) -> tuple[int, bool]:
    try:
        streaming = bool(json.loads(request.body).get("stream"))
    except (ValueError, AttributeError):
        streaming = False
    return conversation_turn(request.body), streaming


def _compare_request(where: str, direct: ReceivedRequest, relayed: ReceivedRequest, gateway_header_names: set[str],
                     found: Differences) -> None:
    if (direct.method, direct.kind, direct.query) != (relayed.method, relayed.kind, relayed.query):
        found.allowed.append(f"{where}: {direct.method} {direct.raw_path} became {relayed.method} {relayed.raw_path}")
    _compare_bodies(where, direct.body, relayed.body, found)
    direct_headers, relayed_headers = _headers(direct), _headers(relayed)
    for name in sorted(set(direct_headers) | set(relayed_headers)):
        if name in TRANSPORT_HEADERS or name in gateway_header_names:
            continue
        sent, received = direct_headers.get(name), relayed_headers.get(name)
        if sent == received:
            continue
        change = f"{where}: header {name}: {sent!r} -> {received!r}"
        if name == "anthropic-version":
            found.forbidden.append(("HDR-1", change))
        elif name == "anthropic-beta" and not is_subsequence(beta_values(sent), beta_values(received)):
            found.forbidden.append(("HDR-2", change))
        else:
            found.allowed.append(change)


def _compare_bodies(where: str, direct: bytes, relayed: bytes, found: Differences) -> None:
    try:
        sent, received = json.loads(direct), json.loads(relayed)
    except ValueError:
        if direct != relayed:
            found.forbidden.append(("BODY-1", f"{where}: body is not the same JSON ({len(direct)} bytes directly, {len(relayed)} through the gateway)"))
        return
    for difference in json_differences(_normalised_json(sent), _normalised_json(received)):
        found.forbidden.append(("BODY-1", f"{where}: body {difference}"))


def _headers(request: ReceivedRequest) -> dict[str, str]:
    merged: dict[str, list[str]] = {}
    for name, value in request.headers:
        merged.setdefault(name.lower(), []).append(normalise(value))
    return {name: ", ".join(values) for name, values in merged.items()}
