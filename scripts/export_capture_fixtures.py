"""Turn recorded Claude Code requests (shared/claude-code-capture/<scenario>.json, written by the
recorder there or by scripts/record_claude_code.sh) into replay fixtures under fixtures/claude-code/requests/.

Credential and transport headers are dropped (the suite adds its own); every "<redacted N chars>"
string is filled with realistic text of exactly N characters (prose, code, XML-like tags, non-ASCII),
so replayed bodies have the recorded size and the kinds of content that trip body inspection.

    python scripts/export_capture_fixtures.py [CAPTURE_DIR ...]   (first folder that has a scenario wins)
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CAPTURES = REPO.parent / "shared" / "claude-code-capture"
OUT = REPO / "fixtures" / "claude-code" / "requests"
DROPPED_HEADERS = {"authorization", "x-api-key", "host", "connection", "content-length"}
REDACTED = re.compile(r"^<redacted (\d+) chars>$")
FILLER = (
    "<system-reminder>\nThe user is working in /home/dev/project (git repo, branch main). "
    "Use the Read tool before editing; prefer `rg` over `grep -r`. </system-reminder>\n"
    "def parse(line: str) -> dict[str, int]:\n    return {k: int(v) for k, v in (p.split('=') for p in line.split(';'))}\n"
    "<example><input>café ünïcode — “quotes” ✓</input><output>{\"ok\": true, \"n\": 3}</output></example>\n"
)
# One replay fixture per request kind: (name, capture scenario, request path, index among matches).
SELECTION = [
    ("messages-print", "a-auth-token", "/v1/messages", 0),
    ("messages-interactive", "d6-discovery-interactive", "/v1/messages", 0),
    ("messages-unknown-model", "m2-model-gpt-4o", "/v1/messages", 0),
    ("count-tokens-all-tools", "h-interactive-context-count-tokens", "/v1/messages/count_tokens", 9),
    ("discovery", "d1-discovery", "/v1/models", 0),
]


def fill(length: int) -> str:
    return (FILLER * (length // len(FILLER) + 1))[:length]


def unredact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: unredact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unredact(v) for v in value]
    if isinstance(value, str) and (match := REDACTED.match(value)):
        return fill(int(match.group(1)))
    return value


def export(capture_dirs: list[Path]) -> None:
    """Export each selected request from the first capture folder that has its scenario."""
    OUT.mkdir(parents=True, exist_ok=True)
    for name, scenario, path, index in SELECTION:
        captures = next(d for d in capture_dirs if (d / f"{scenario}.json").exists())
        requests = [r for r in json.loads((captures / f"{scenario}.json").read_text()) if r["path"] == path]
        request = requests[index]
        fixture = {
            "source": f"Claude Code 2.1.331, scenario {scenario} "
                      f"({'shared/claude-code-capture' if captures == DEFAULT_CAPTURES else 'recorded by scripts/record_claude_code.py'}), "
                      f"request {index + 1} to {path}; redacted strings filled to their recorded length",
            "method": request["method"],
            "path": request["raw_path"],
            "headers": [[k, v] for k, v in request["headers"] if k.lower() not in DROPPED_HEADERS],
            "body": unredact(request["body"]) if isinstance(request["body"], dict) else None,
        }
        (OUT / f"{name}.json").write_text(json.dumps(fixture, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"{name}: {scenario} {request['method']} {request['raw_path']}")


if __name__ == "__main__":
    export([Path(arg) for arg in sys.argv[1:]] or [DEFAULT_CAPTURES])
