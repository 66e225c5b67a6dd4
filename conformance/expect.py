"""Verdict helpers for conformance tests: every failure names its requirement, what the gateway did,
what the spec wants, and the first fix; plumbing frames are hidden from the traceback."""

from __future__ import annotations

from typing import NoReturn

import pytest

from conformance.catalog import catalog
from conformance.client import Exchange

NOT_APPLICABLE = "not applicable: "
README_FIXES = "README.md#reading-the-report"


def failure_message(requirement_id: str, observed: str, expected: str = "") -> str:
    r = catalog()[requirement_id]
    lines = [
        f"[{r.id} · {r.level}] {r.title}",
        f"What the gateway did: {observed}",
        f"What the spec wants: {expected or r.title}",
        f"First fix: {r.first_fix}",
        f"Source: {r.source}",
    ]
    if r.impact:
        lines.insert(2, f"What Claude Code users see: {r.impact}")
    return "\n".join(lines)


def fail(requirement_id: str, observed: str, expected: str = "") -> NoReturn:
    __tracebackhide__ = True
    pytest.fail(failure_message(requirement_id, observed, expected), pytrace=False)


def check(condition: object, requirement_id: str, observed: str, expected: str = "") -> None:
    __tracebackhide__ = True
    if not condition:
        fail(requirement_id, observed, expected)


def answered(exchange: Exchange, requirement_id: str) -> Exchange:
    """Fail the requirement when the gateway gave no HTTP response at all (timeout, reset, garbage)."""
    __tracebackhide__ = True
    if exchange.error_kind == "budget":
        pytest.skip(exchange.error)  # live mode's token cap: not judged, never failed
    if exchange.status is None:
        fail(requirement_id, f"{exchange.label}: no HTTP response: {exchange.error}", "an HTTP response within the suite's timeout")
    return exchange


def not_applicable(reason: str) -> NoReturn:
    """The requirement does not apply to this gateway (e.g. an optional endpoint correctly answered 404)."""
    __tracebackhide__ = True
    pytest.skip(NOT_APPLICABLE + reason)
