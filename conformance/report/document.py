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
        "upstream_url": facts.upstream_url,
        "fail_on": facts.fail_on,
        "started_at": facts.started_at,
        "duration_s": round(facts.duration_s, 3),
        "requests_sent": facts.requests_sent,
        "verdict": rollup.verdict,
        "verdict_reason": rollup.verdict_reason,
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


def failures_by_impact(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Failed and accepted requirements of a document, the ones that hurt Claude Code users most first."""
    failed = [r for r in document["requirements"] if r["status"] in ("failed", "accepted")]
    return sorted(failed, key=lambda r: impact_order(r["level"], r.get("severity", ""), r["id"]))


def write_document(document: dict[str, Any], path: Path) -> None:
    """Validate against the published schema, then write."""
    jsonschema.validate(document, schema("report"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
