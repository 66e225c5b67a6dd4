"""`claude-gateway-conformance diff OLD.json NEW.json`: requirements whose status changed between two
runs, regressions first; exit 1 when a requirement that held in OLD fails in NEW (the release-gate view).

A requirement that passed and is now an accepted failure is not a regression (someone accepted it in
writing), but it is a change a reviewer must see: it is listed right after the regressions, with the reason.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HELD = ("passed", "not_applicable", "accepted")
PROVEN = ("passed", "not_applicable")
EXIT_SAME, EXIT_REGRESSION, EXIT_BAD_INPUT = 0, 1, 4


class DiffInputError(ValueError):
    """A file that is not a conformance.json (missing, unreadable, not JSON, not the suite's result)."""


def status_changes(old: dict, new: dict) -> list[tuple[str, str, str, str]]:
    """(id, level, old status, new status) for every requirement whose status differs, regressions first,
    then requirements newly accepted as failures."""
    before = {r["id"]: r["status"] for r in old["requirements"]}
    changes = [(r["id"], r["level"], before.get(r["id"], "absent"), r["status"])
               for r in new["requirements"] if before.get(r["id"], "absent") != r["status"]]
    return sorted(changes, key=lambda c: (not is_regression(c), not is_newly_accepted(c), c[1] != "MUST", c[0]))


def is_regression(change: tuple[str, str, str, str]) -> bool:
    return change[2] in HELD and change[3] == "failed"


def is_newly_accepted(change: tuple[str, str, str, str]) -> bool:
    return change[2] in PROVEN and change[3] == "accepted"


def load_result(path: str) -> dict:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise DiffInputError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise DiffInputError(f"{path}: not JSON ({exc})") from None
    if not (isinstance(document, dict) and isinstance(document.get("requirements"), list) and "verdict" in document):
        raise DiffInputError(f"{path}: not a conformance.json written by this suite (no verdict and requirements)")
    return document


def headline(document: dict) -> str:
    return document.get("verdict_headline") or document["verdict"]


def main(old_path: str, new_path: str) -> int:
    try:
        old, new = load_result(old_path), load_result(new_path)
    except DiffInputError as exc:
        print(f"claude-gateway-conformance diff: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    reasons = {r["id"]: r.get("reason", "") for r in new["requirements"]}
    changes = status_changes(old, new)
    print(f"verdict: {headline(old)} -> {headline(new)}")
    for change in changes:
        if is_regression(change):
            print(f"REGRESSION {change[0]} [{change[1]}]: {change[2]} -> {change[3]}")
        elif is_newly_accepted(change):
            print(f"NEWLY ACCEPTED FAILURE {change[0]} [{change[1]}]: {change[2]} -> {change[3]} "
                  f"(reason: {reasons.get(change[0]) or 'none given'}) -- review it")
        else:
            print(f"{change[0]} [{change[1]}]: {change[2]} -> {change[3]}")
    if not changes:
        print("no requirement changed status")
    return EXIT_REGRESSION if any(is_regression(c) for c in changes) else EXIT_SAME
