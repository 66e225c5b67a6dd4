#!/usr/bin/env bash
# Runs every gateway recipe in each of its set-ups and prints the README table rows: gateway, upstream format,
# version, date, verdict, and the failed requirements with the first line of what the gateway did.
#   examples/gateways/run-all.sh [RECIPE:SETUP ...]   (default: all of them)
set -uo pipefail
cd "$(dirname "$0")"
REPO="$(cd ../.. && pwd)"
mkdir -p "$REPO/.cache/gateways"
RUNS=("$@")
[ ${#RUNS[@]} -gt 0 ] || RUNS=(litellm:anthropic litellm:openai-responses litellm:openai-chat litellm:bedrock
  claude-code-router:anthropic claude-code-router:openai claude-code-router:gemini portkey:anthropic portkey:bedrock)
NAMES=()
for run in "${RUNS[@]}"; do
  recipe=${run%%:*} setup=${run#*:}
  name=$recipe; [ "$setup" = anthropic ] || name="$recipe-$setup"
  NAMES+=("$recipe:$name")
  started=$SECONDS
  bash "$recipe/run.sh" "$setup" >"$REPO/.cache/gateways/$name.run.log" 2>&1
  echo "$name: exit $?, $((SECONDS - started)) s (log: .cache/gateways/$name.run.log)"
done
python3 - "$REPO" "${NAMES[@]}" <<'PY'
import json, re, sys
from pathlib import Path
repo = Path(sys.argv[1])
print("| gateway | upstream format | version | date | verdict | failed MUST | failed SHOULD |")
print("| --- | --- | --- | --- | --- | --- | --- |")
lines = []
for pair in sys.argv[2:]:
    recipe, name = pair.split(":")
    report = repo / "reports" / "gateways" / name / "conformance.json"
    if not report.exists():
        print(f"| {name} | | | | no report: see .cache/gateways/{name}.run.log | | |")
        continue
    doc = json.loads(report.read_text())
    version = re.search(r"^VERSION=(\S+)", (repo / "examples" / "gateways" / recipe / "run.sh").read_text(), re.M).group(1)
    failed = {}
    for test in doc["tests"]:
        if test["outcome"] == "failed":
            did = next((l for l in test["message"].splitlines() if l.startswith("What the gateway did: ")), "")
            for rid in test["requirements"]:
                failed.setdefault(rid, did.removeprefix("What the gateway did: ")[:200])
    levels = {r["id"]: r["level"] for r in doc["requirements"]}
    must = ", ".join(sorted(r for r in failed if levels[r] == "MUST")) or "none"
    should = ", ".join(sorted(r for r in failed if levels[r] == "SHOULD")) or "none"
    fmt = (doc.get("upstream_format") or {}).get("name", "anthropic")
    print(f"| {recipe} | {fmt} | {version} | {doc['started_at'][:10]} | {doc['verdict']} | {must} | {should} |")
    lines += [f"- {name} {rid} ({levels[rid]}): {what}" for rid, what in sorted(failed.items(), key=lambda i: (levels[i[0]] != "MUST", i[0]))]
print()
print("\n".join(lines))
PY
