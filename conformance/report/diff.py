"""`claude-gateway-conformance diff OLD.json NEW.json`: requirements whose status changed between two
runs, regressions first; exit 1 when a requirement that held in OLD fails in NEW (the release-gate view)."""

from __future__ import annotations

import json
from pathlib import Path

HELD = ("passed", "not_applicable", "accepted")


def status_changes(old: dict, new: dict) -> list[tuple[str, str, str, str]]:
    """(id, level, old status, new status) for every requirement whose status differs, regressions first."""
    before = {r["id"]: r["status"] for r in old["requirements"]}
    changes = [(r["id"], r["level"], before.get(r["id"], "absent"), r["status"])
               for r in new["requirements"] if before.get(r["id"], "absent") != r["status"]]
    return sorted(changes, key=lambda c: (not is_regression(c), c[1] != "MUST", c[0]))


def is_regression(change: tuple[str, str, str, str]) -> bool:
    return change[2] in HELD and change[3] == "failed"


def main(old_path: str, new_path: str) -> int:
    old, new = (json.loads(Path(p).read_text(encoding="utf-8")) for p in (old_path, new_path))
    changes = status_changes(old, new)
    print(f"verdict: {old['verdict']} -> {new['verdict']}")
    for change in changes:
        print(f"{'REGRESSION ' if is_regression(change) else ''}{change[0]} [{change[1]}]: {change[2]} -> {change[3]}")
    if not changes:
        print("no requirement changed status")
    return 1 if any(is_regression(c) for c in changes) else 0
