"""Per-requirement roll-up of test results, and the run's verdict (ARCHITECTURE.md: verdict and result states)."""

from __future__ import annotations

from dataclasses import dataclass, field

from conformance.catalog import Catalog, Requirement, impact_order

# Test outcomes as the plugin records them.
PASSED, FAILED, SKIPPED, NOT_APPLICABLE, ERROR = "passed", "failed", "skipped", "not_applicable", "error"
# Requirement-only states.
NOT_COVERED, NOT_RUN, ACCEPTED = "not_covered", "not_run", "accepted"

CONFORMANT, NOT_CONFORMANT, INCOMPLETE = "conformant", "not conformant", "incomplete"


@dataclass
class TestResult:
    nodeid: str
    requirements: tuple[str, ...]
    outcome: str
    message: str = ""
    duration_s: float = 0.0
    transcript: str = ""
    reproduce: list[str] = field(default_factory=list)  # curl commands re-sending a failed test's requests


@dataclass
class RequirementResult:
    requirement: Requirement
    status: str
    reason: str = ""
    tests: list[TestResult] = field(default_factory=list)


@dataclass
class Rollup:
    requirements: list[RequirementResult]
    verdict: str
    verdict_reason: str
    tested_ids: frozenset[str] = frozenset()  # IDs some test of the suite checks, selected in this run or not

    def with_status(self, *statuses: str) -> list[RequirementResult]:
        return [r for r in self.requirements if r.status in statuses]

    @property
    def failed_by_impact(self) -> list[RequirementResult]:
        """Failures, MUST first, then by how hard they hit Claude Code users."""
        return sorted(self.with_status(FAILED), key=lambda r: impact_order(r.requirement.level, r.requirement.severity, r.requirement.id))

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.requirements:
            counts[r.status] = counts.get(r.status, 0) + 1
        return counts

    @property
    def coverage(self) -> tuple[int, int]:
        """(requirements with at least one test, requirements in the catalogue)."""
        covered = sum(1 for r in self.requirements if r.requirement.id in self.tested_ids)
        return covered, len(self.requirements)

    def exit_failures(self, fail_on: str) -> list[RequirementResult]:
        levels = ("MUST",) if fail_on == "must" else ("MUST", "SHOULD")
        return [r for r in self.with_status(FAILED) if r.requirement.level in levels]


def requirement_status(requirement: Requirement, tests: list[TestResult], tested_ids: set[str]) -> tuple[str, str]:
    if not tests:
        if requirement.needs_declaration:
            return NOT_APPLICABLE, f"applies only when {requirement.applies_when}; this run does not declare that"
        if requirement.id in tested_ids:
            return NOT_RUN, "its tests were not selected in this run"
        return NOT_COVERED, "no test in this suite version checks it yet"
    outcomes = {t.outcome for t in tests}
    reasons = "; ".join(dict.fromkeys(t.message.splitlines()[0] for t in tests if t.outcome in (SKIPPED, ERROR) and t.message))
    if FAILED in outcomes:
        return FAILED, ""
    if ERROR in outcomes:
        return ERROR, reasons
    if SKIPPED in outcomes:
        return SKIPPED, reasons
    if PASSED in outcomes:
        return PASSED, ""
    return NOT_APPLICABLE, "; ".join(dict.fromkeys(t.message for t in tests if t.message))


def roll_up(catalog: Catalog, results: list[TestResult], all_tested_ids: set[str], accepted: dict[str, str] | None = None) -> Rollup:
    """all_tested_ids: requirement IDs that some test of the suite checks, selected in this run or not.
    accepted: known failures by requirement ID, with the written reason (--accept); shown, never hidden."""
    rows = []
    for requirement in catalog:
        tests = [t for t in results if requirement.id in t.requirements]
        status, reason = requirement_status(requirement, tests, all_tested_ids)
        if status == FAILED and requirement.id in (accepted or {}):
            status, reason = ACCEPTED, (accepted or {})[requirement.id]
        rows.append(RequirementResult(requirement, status, reason, tests))
    verdict, why = decide_verdict(rows)
    return Rollup(rows, verdict, why, frozenset(all_tested_ids))


def decide_verdict(rows: list[RequirementResult]) -> tuple[str, str]:
    must = [r for r in rows if r.requirement.level == "MUST"]
    failed = [r.requirement.id for r in must if r.status == FAILED]
    if failed:
        return NOT_CONFORMANT, f"MUST requirements failed: {', '.join(failed)}"
    unproven = [r for r in must if r.status not in (PASSED, NOT_APPLICABLE, ACCEPTED)]
    if unproven:
        kinds: dict[str, list[str]] = {}
        for r in unproven:
            kinds.setdefault(r.status.replace("_", " "), []).append(r.requirement.id)
        detail = "; ".join(f"{status}: {', '.join(ids)}" for status, ids in kinds.items())
        return INCOMPLETE, f"no MUST requirement failed, but {len(unproven)} of {len(must)} were not proven ({detail})"
    accepted = [r.requirement.id for r in must if r.status == ACCEPTED]
    if accepted:
        return CONFORMANT, f"every applicable MUST requirement passed, except accepted known failures: {', '.join(accepted)}"
    return CONFORMANT, "every applicable MUST requirement passed"
