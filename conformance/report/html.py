"""HTML sections for pytest-html's report, rendered from the JSON document: verdict, run facts,
requirement matrix by area. Inline styles only, so the self-contained report opens offline."""

from __future__ import annotations

from html import escape
from typing import Any

from conformance.catalog import AREAS
from conformance.report.document import claude_code_setup, failures_by_cause, upstream_format_fact

STATUS_COLOURS = {
    "passed": "#1a7f37", "failed": "#cf222e", "error": "#8250df", "skipped": "#9a6700",
    "not_applicable": "#57606a", "not_run": "#57606a", "not_covered": "#57606a", "accepted": "#0969da",
}
VERDICT_COLOURS = {"conformant": "#1a7f37", "not conformant": "#cf222e", "incomplete": "#9a6700", "not tested": "#57606a",
                   "error": "#8250df"}

STYLE = """
<style>
.cgc-verdict{padding:12px 16px;color:#fff;font-size:1.3em;border-radius:6px;margin:8px 0}
.cgc-warn{background:#fff8c5;border:1px solid #d4a72c;padding:8px 12px;margin:6px 0;border-radius:6px}
table.cgc{border-collapse:collapse;margin:8px 0;width:100%}
table.cgc td,table.cgc th{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top;font-size:.9em}
.cgc-status{font-weight:bold}
body{display:flex;flex-direction:column}
#environment-header,#environment{order:1}
</style>
"""


def _status(status: str) -> str:
    colour = STATUS_COLOURS.get(status, "#000")
    return f'<span class="cgc-status" style="color:{colour}">{escape(status.replace("_", " "))}</span>'


def verdict_section(doc: dict[str, Any]) -> str:
    colour = VERDICT_COLOURS[doc["verdict"]]
    must = [r for r in doc["requirements"] if r["level"] == "MUST"]
    should_failed = [r["id"] for r in doc["requirements"] if r["level"] == "SHOULD" and r["status"] == "failed"]
    covered = doc["coverage"]
    parts = [
        STYLE,
        f'<div class="cgc-verdict" id="cgc-verdict" style="background:{colour}">Verdict: {escape(doc["verdict_headline"])}</div>',
        f"<p>{escape(doc['verdict_reason'])}</p>",
        preflight_section(doc),
        f"<p>MUST requirements passed: {sum(r['status'] == 'passed' for r in must)} of {len(must)}; "
        f"SHOULD warnings: {len(should_failed)}{(' (' + escape(', '.join(should_failed)) + ')') if should_failed else ''}; "
        f"coverage: {covered['tested']} of {covered['total']} catalogue requirements have tests.</p>",
    ]
    parts += [f'<div class="cgc-warn">⚠ {escape(w)}</div>' for w in doc["warnings"]]
    return "".join(parts)


def preflight_section(doc: dict[str, Any]) -> str:
    """Set-up problems found before any test: what the user must fix, apart from what the gateway does."""
    problems = [f for f in doc.get("preflight", []) if not f["ok"]]
    if not problems:
        return ""
    items = "".join(f"<li><b>{escape(f['check'])}</b>: {escape(f['message'])}"
                    + (f"<br><b>Fix:</b> {escape(f['fix'])}" if f["fix"] else "") + "</li>" for f in problems)
    return f'<h2>Set-up (preflight)</h2><ul id="cgc-preflight">{items}</ul>'


def failures_section(doc: dict[str, Any]) -> str:
    """Root causes, most harmful to Claude Code users first, each with the failures it explains: what a
    reviewer reads before the matrix."""
    groups = failures_by_cause(doc)
    if not groups:
        return ""
    items = []
    for cause, consequences in groups:
        accepted = f"<br><b>Accepted:</b> {escape(cause['reason'])}" if cause.get("status") == "accepted" else ""
        link = (f'<a href="#req-{escape(cause["id"])}">{escape(cause["id"])}</a>' if "reason" in cause else escape(cause["id"]))
        explained = ""
        if consequences:
            explained = ("<br><b>Also failed as a consequence</b> (fix the cause first):<ul>" + "".join(
                f'<li><a href="#req-{escape(r["id"])}">{escape(r["id"])}</a> ({escape(r["level"])}, {_status(r["status"])}): '
                f"{escape(r['title'])}</li>" for r in consequences) + "</ul>")
        items.append(
            f"<li><b>{link}</b> ({escape(cause['level'])}, {_status(cause.get('status', 'failed'))}): "
            f"{escape(cause['title'])}<br><b>What Claude Code users will see:</b> {escape(cause.get('impact') or 'not recorded')}"
            f"<br><b>First fix:</b> {escape(cause['first_fix'])}{accepted}{explained}</li>"
        )
    return ('<h2>Failures, root causes first, most harmful first</h2><ol id="cgc-failures">' + "".join(items) + "</ol>"
            "<p>The evidence for each (what was sent, what came back, timings) is under the failed tests in the Results table at the end.</p>")


def facts_section(doc: dict[str, Any]) -> str:
    gateway = doc["gateway"]
    auth = gateway.get("auth", {})
    rows = [
        ("Suite", f"{doc['suite']['name']} {doc['suite']['version']}"),
        ("Gateway URL", gateway["url"] + (" (bundled reference gateway)" if gateway["reference"] else "")),
        ("Claude Code set-up", claude_code_setup(doc)),
        ("Headers sent on every request", "; ".join(gateway.get("extra_headers", [])) or "none"),
        ("Claude Code CLI (end-to-end area)", _cli_fact(doc.get("claude_code_cli", {}))),
        ("Credential header(s) accepted", ", ".join(auth.get("declared", [])) or "none"),
        ("How that was established", auth.get("found_by", "?")),
        ("Model", gateway["model"]),
        ("Upstream mode", doc["upstream_mode"] + (f" ({doc['upstream_url']})" if doc.get("upstream_url") else "")),
        ("Upstream format", upstream_format_fact(doc)),
        ("Optional endpoints", ", ".join(f"{k}: {v}" for k, v in gateway.get("endpoints", {}).items()) or "not probed"),
        ("Fixtures from", f"Claude Code {doc['suite']['claude_code_fixture_version']}"),
        ("Started", doc["started_at"]),
        ("Duration", f"{doc['duration_s']:.1f} s"),
        ("Requests sent to the gateway", str(doc["requests_sent"])),
        ("Exit policy", f"--fail-on {doc['fail_on']}"),
    ]
    rows += [(f"Measured: {k}", str(v)) for k, v in doc["measurements"].items()]
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f'<h2>What was tested</h2><table class="cgc" id="cgc-facts">{body}</table>'


def _cli_fact(cli: dict[str, Any]) -> str:
    if cli.get("version"):
        return f"{cli['version']} at {cli['path']}"
    return cli.get("status", "not used in this run")


def matrix_section(doc: dict[str, Any]) -> str:
    parts = ['<h2>Requirements</h2><table class="cgc" id="cgc-matrix">',
             "<tr><th>Requirement</th><th>Level</th><th>Status</th><th>Title</th><th>What Claude Code users see / first fix</th></tr>"]
    for area in AREAS:
        rows = [r for r in doc["requirements"] if r["area"] == area]
        if not rows:
            continue
        parts.append(f'<tr><th colspan="5">{escape(area.replace("_", " ").title())}</th></tr>')
        for r in rows:
            detail = ""
            if r["status"] in ("failed", "accepted") and r.get("caused_by"):
                detail = f"Consequence of {escape(', '.join(r['caused_by']))}: fix that first."
            elif r["status"] in ("failed", "accepted"):
                detail = (f"{escape(r.get('impact') or '')}<br><b>First fix:</b> {escape(r['first_fix'])}")
            elif r["reason"]:
                detail = escape(r["reason"])
            parts.append(
                f'<tr id="req-{escape(r["id"])}"><td>{_source_link(r)}</td>'
                f"<td>{escape(r['level'])}</td><td>{_status(r['status'])}</td><td>{escape(r['title'])}</td><td>{detail}</td></tr>"
            )
    parts.append("</table>")
    return "".join(parts)


def _source_link(requirement: dict[str, Any]) -> str:
    source, rid = escape(requirement["source"]), escape(requirement["id"])
    return f'<a href="{source}">{rid}</a>' if requirement["source"].startswith("http") else f'<span title="source: {source}">{rid}</span>'


def summary_sections(doc: dict[str, Any]) -> list[str]:
    return [verdict_section(doc), failures_section(doc), facts_section(doc), matrix_section(doc)]


def transcript_html(text: str, reproduce: list[str] | None = None) -> str:
    parts = []
    if text:
        parts.append(f'<details><summary>Evidence (requests and responses)</summary><pre style="white-space:pre-wrap">{escape(text)}</pre></details>')
    if reproduce:
        parts.append('<details class="cgc-reproduce"><summary>Reproduce with curl</summary><pre style="white-space:pre-wrap">'
                     + escape("\n\n".join(reproduce)) + "</pre></details>")
    return "".join(parts)

