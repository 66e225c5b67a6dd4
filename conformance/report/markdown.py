"""conformance.md: the verdict and the failures in Markdown, for a CI job summary or a pull-request comment,
rendered from the same JSON document as the other reports."""

from __future__ import annotations

from typing import Any

from conformance.report.document import claude_code_setup, failures_by_impact



def render_markdown(doc: dict[str, Any]) -> str:
    covered = doc["coverage"]
    lines = [
        f"## Claude Code gateway conformance: **{doc['verdict'].upper()}**",
        "",
        doc["verdict_reason"],
        "",
        f"- Gateway: `{doc['gateway']['url']}`{' (bundled reference gateway)' if doc['gateway']['reference'] else ''}",
        f"- Claude Code set-up: {claude_code_setup(doc)}",
        f"- Model `{doc['gateway']['model']}`, upstream mode {doc['upstream_mode']}, suite {doc['suite']['version']}, "
        f"fixtures from Claude Code {doc['suite']['claude_code_fixture_version']}",
        f"- Coverage: {covered['tested']} of {covered['total']} requirements tested; "
        + ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in sorted(doc["counts"].items())),
    ]
    lines += [f"- ⚠ {w}" for w in doc["warnings"]]
    failed = failures_by_impact(doc)
    if failed:
        lines += ["", "| requirement | level | status | what Claude Code users see | first fix |", "| --- | --- | --- | --- | --- |"]
        for r in failed:
            status = r["status"] + (f": {r['reason']}" if r["status"] == "accepted" else "")
            lines.append(f"| {r['id']} {_cell(r['title'])} | {r['level']} | {_cell(status)} | {_cell(r.get('impact') or '')} | {_cell(r['first_fix'])} |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
