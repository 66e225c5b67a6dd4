#!/usr/bin/env bash
# Runs every gateway recipe and prints the README table rows: gateway, version, date, verdict, and the
# failed requirements with the first line of what the gateway did.   examples/gateways/run-all.sh
set -uo pipefail
cd "$(dirname "$0")"
REPO="$(cd ../.. && pwd)"
for recipe in litellm claude-code-router portkey; do
  started=$SECONDS
  bash "$recipe/run.sh" >"$REPO/.cache/gateways/$recipe.run.log" 2>&1
  echo "$recipe: exit $?, $((SECONDS - started)) s (log: .cache/gateways/$recipe.run.log)"
done
python3 - "$REPO" <<'PY'
import json, re, sys
from pathlib import Path
repo = Path(sys.argv[1])
for recipe in ("litellm", "claude-code-router", "portkey"):
    report = repo / "reports" / "gateways" / recipe / "conformance.json"
    if not report.exists():
        print(f"| {recipe} | no report: see .cache/gateways/{recipe}.run.log |")
        continue
    doc = json.loads(report.read_text())
    version = re.search(r"^VERSION=(\S+)", (repo / "examples" / "gateways" / recipe / "run.sh").read_text(), re.M).group(1)
    failed = {}
    for test in doc["tests"]:
        if test["outcome"] == "failed":
            did = next((l for l in test["message"].splitlines() if l.startswith("What the gateway did: ")), "")
            for rid in test["requirements"]:
                failed.setdefault(rid, did.removeprefix("What the gateway did: ")[:160])
    levels = {r["id"]: r["level"] for r in doc["requirements"]}
    rows = "; ".join(f"{rid} ({levels[rid]}): {what}" for rid, what in sorted(failed.items(), key=lambda i: (levels[i[0]] != "MUST", i[0])))
    print(f"| {recipe} | {version} | {doc['started_at'][:10]} | {doc['verdict']} | {rows} |")
PY
