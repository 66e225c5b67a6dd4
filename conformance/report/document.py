"""The run's result as one JSON document (schemas/report.schema.json); the HTML and terminal views
are rendered from it, so every output tells the same story."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from conformance import CLAUDE_CODE_FIXTURE_VERSION, __version__
from conformance.catalog import impact_order
from conformance.redaction import Redactor
from conformance.report.rollup import Rollup
from conformance.resources import schema

SUITE_NAME = "claude-gateway-conformance"


@dataclass
class RunFacts:
    """What was tested, and figures measured on the way (shown at the top of every report)."""

    gateway_url: str
    reference_gateway: bool
    model: str
    upstream_mode: str
    upstream_url: str | None
    fail_on: str
    started_at: str
    duration_s: float = 0.0
    auth: dict[str, Any] = field(default_factory=dict)
    endpoints: dict[str, Any] = field(default_factory=dict)
    measurements: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # conditions that make a green run meaningless
    requests_sent: int = 0
    extra_headers: list[str] = field(default_factory=list)  # "Name: value"; secret values are redacted on writing
    e2e: dict[str, Any] = field(default_factory=dict)  # the Claude Code CLI the end-to-end area ran, or why it did not
    preflight: list[dict[str, Any]] = field(default_factory=list)  # set-up checks before any test (conformance.preflight)
    # The wire format the gateway speaks to its upstream (--upstream-format): name, title, family.
    upstream_format: dict[str, str] = field(default_factory=lambda: {"name": "anthropic", "title": "Anthropic Messages",
                                                                      "family": "anthropic relay"})


def build_document(facts: RunFacts, rollup: Rollup, redactor: Redactor) -> dict[str, Any]:
    covered, total = rollup.coverage
    document = {
        "suite": {"name": SUITE_NAME, "version": __version__, "claude_code_fixture_version": CLAUDE_CODE_FIXTURE_VERSION},
        "gateway": {
            "url": facts.gateway_url,
            "reference": facts.reference_gateway,
            "model": facts.model,
            "auth": facts.auth,
            "endpoints": facts.endpoints,
            "extra_headers": facts.extra_headers,
        },
        "claude_code_cli": facts.e2e,
        "upstream_mode": facts.upstream_mode,
        "upstream_format": facts.upstream_format,
        "upstream_url": facts.upstream_url,
        "fail_on": facts.fail_on,
        "started_at": facts.started_at,
        "duration_s": round(facts.duration_s, 3),
        "requests_sent": facts.requests_sent,
        "verdict": rollup.verdict,
        "verdict_headline": rollup.headline,
        "verdict_reason": rollup.verdict_reason,
        "preflight": facts.preflight,
        "root_causes": [
            {
                "id": cause.requirement.id,
                "level": cause.requirement.level,
                "status": cause.status,
                "title": cause.requirement.title,
                "first_fix": cause.requirement.first_fix,
                "impact": cause.requirement.impact,
                "severity": cause.requirement.severity,
                "consequences": [c.requirement.id for c in cause.consequences],
            }
            for cause in rollup.causes
        ],
        "warnings": facts.warnings,
        "measurements": facts.measurements,
        "coverage": {"tested": covered, "total": total},
        "counts": rollup.counts,
        "requirements": [
            {
                "id": r.requirement.id,
                "level": r.requirement.level,
                "area": r.requirement.area,
                "title": r.requirement.title,
                "source": r.requirement.source,
                "first_fix": r.requirement.first_fix,
                "impact": r.requirement.impact,
                "severity": r.requirement.severity,
                "applies_when": r.requirement.applies_when,
                "status": r.status,
                "reason": r.reason,
                "caused_by": r.caused_by,
                "tests": [t.nodeid for t in r.tests],
            }
            for r in rollup.requirements
        ],
        "tests": [
            {
                "nodeid": t.nodeid,
                "requirements": list(t.requirements),
                "outcome": t.outcome,
                "message": t.message,
                "duration_s": round(t.duration_s, 3),
                "transcript": t.transcript,
                "reproduce": t.reproduce,
            }
            for r in [rollup]
            for t in _unique_tests(r)
        ],
    }
    # Redact the whole document once more: nothing that reaches disk may carry a credential.
    return json.loads(redactor.redact(json.dumps(document)))


def _unique_tests(rollup: Rollup):
    seen: dict[str, Any] = {}
    for r in rollup.requirements:
        for t in r.tests:
            seen.setdefault(t.nodeid, t)
    return list(seen.values())


def claude_code_setup(doc: dict[str, Any]) -> str:
    """The environment a developer sets for this gateway, as the run found it."""
    gateway = doc["gateway"]
    auth = gateway.get("auth", {})
    setup = (f"ANTHROPIC_BASE_URL={auth.get('anthropic_base_url', gateway['url'])}; "
             f"credential variable: {auth.get('claude_code_variable', '?')}")
    headers = [h.split(":", 1)[0] for h in gateway.get("extra_headers", [])]
    if headers:
        setup += f"; ANTHROPIC_CUSTOM_HEADERS with {', '.join(headers)}"
    return setup


def failures_by_cause(document: dict[str, Any]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Root causes, the ones that hurt Claude Code users most first, each with the failures it explains:
    (cause, consequences). A cause is a requirement row, or the run's own finding (root_causes) when no
    requirement names it. Failed and accepted requirements appear exactly once."""
    rows = {r["id"]: r for r in document["requirements"]}
    groups = [(rows.get(cause["id"], cause), [rows[i] for i in cause["consequences"]]) for cause in document.get("root_causes", [])]
    return sorted(groups, key=lambda g: impact_order(g[0]["level"], g[0].get("severity", ""), g[0]["id"]))


def write_document(document: dict[str, Any], path: Path) -> None:
    """Validate against the published schema, then write."""
    report_schema = schema("report")
    # Not jsonschema.validate, which checks the schema itself against its meta-schema on every call (a tenth of a
    # short run's CPU); tests/test_reports.py checks every published schema once.
    jsonschema.validators.validator_for(report_schema)(report_schema).validate(document)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")

def upstream_format_fact(doc) -> str:
    """The upstream format as the reports name it: "openai (OpenAI Chat Completions, other format)"."""
    fmt = doc.get("upstream_format") or {"name": "anthropic", "title": "Anthropic Messages", "family": "anthropic relay"}
    return f"{fmt['name']} ({fmt['title']}, {fmt['family']})"
