"""conformance.md: the verdict and the failures in Markdown, for a CI job summary or a pull-request comment,
rendered from the same JSON document as the other reports."""

from __future__ import annotations

from typing import Any

from conformance.report.document import claude_code_setup, failures_by_cause, upstream_format_fact



def render_markdown(doc: dict[str, Any]) -> str:
    covered = doc["coverage"]
    lines = [
        f"## Claude Code gateway conformance: **{doc['verdict_headline']}**",
        "",
        doc["verdict_reason"],
        "",
        f"- Gateway: `{doc['gateway']['url']}`{' (bundled reference gateway)' if doc['gateway']['reference'] else ''}",
        f"- Claude Code set-up: {claude_code_setup(doc)}",
        f"- Model `{doc['gateway']['model']}`, upstream mode {doc['upstream_mode']}, upstream format "
        f"{upstream_format_fact(doc)}, suite {doc['suite']['version']}, "
        f"fixtures from Claude Code {doc['suite']['claude_code_fixture_version']}",
        f"- Coverage: {covered['tested']} of {covered['total']} requirements tested; "
        + ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in sorted(doc["counts"].items())),
    ]
    lines += [f"- Preflight problem: {f['check']}: {f['message']}" + (f". Fix: {f['fix']}" if f["fix"] else "")
              for f in doc.get("preflight", []) if not f["ok"]]
    lines += [f"- ⚠ {w}" for w in doc["warnings"]]
    groups = failures_by_cause(doc)
    if groups:
        lines += ["", "Root causes first; a failure explained by another is listed under it, and the cause's fix comes first.", "",
                  "| requirement | level | status | what Claude Code users see | first fix |", "| --- | --- | --- | --- | --- |"]
        for cause, consequences in groups:
            lines.append(_row(cause, cause.get("status", "failed"), cause["first_fix"]))
            lines += [_row(r, f"consequence of {cause['id']}", f"see {cause['id']}", indent="↳ ") for r in consequences]
    return "\n".join(lines) + "\n"


def _row(r: dict[str, Any], status: str, fix: str, indent: str = "") -> str:
    if r.get("status") == "accepted":
        status = f"accepted: {r['reason']}" if status == "accepted" else f"{status} (accepted: {r['reason']})"
    return (f"| {indent}{r['id']} {_cell(r['title'])} | {r['level']} | {_cell(status)} | {_cell(r.get('impact') or '')} "
            f"| {_cell(fix)} |")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
