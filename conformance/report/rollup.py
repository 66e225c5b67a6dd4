"""Per-requirement roll-up of test results, and the run's verdict (ARCHITECTURE.md: verdict and result states)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from conformance.catalog import Catalog, Requirement, impact_order

# Test outcomes as the plugin records them.
PASSED, FAILED, SKIPPED, NOT_APPLICABLE, ERROR = "passed", "failed", "skipped", "not_applicable", "error"
# Requirement-only states.
NOT_COVERED, NOT_RUN, ACCEPTED = "not_covered", "not_run", "accepted"

CONFORMANT, NOT_CONFORMANT, INCOMPLETE = "conformant", "not conformant", "incomplete"
FAILING = (FAILED, ACCEPTED)  # the gateway broke the requirement (accepted: with a written reason)
# A failure message starts with "[ID · LEVEL]" (conformance.expect); a test may blame another requirement
# than its own, e.g. a buffering test whose stream was cut names SSE-10, not SSE-1.
BLAMED_ID = re.compile(r"^(?:Failed: )?\[([A-Z0-9]+-[0-9]+) · (?:MUST|SHOULD)\]", re.M)


@dataclass
class TestResult:
    nodeid: str
    requirements: tuple[str, ...]
    outcome: str
    message: str = ""
    duration_s: float = 0.0
    transcript: str = ""
    reproduce: list[str] = field(default_factory=list)  # curl commands re-sending a failed test's requests
    # Causes found in the run that no requirement names (RUN_CAUSES ids) that this test's failure shows.
    run_causes: tuple[str, ...] = ()

    @property
    def blamed(self) -> tuple[str, ...]:
        """Requirements the failure message names besides the test's own (the real cause of its failure)."""
        if self.outcome != FAILED:
            return ()
        return tuple(dict.fromkeys(i for i in BLAMED_ID.findall(self.message) if i not in self.requirements))

    @property
    def not_sent(self) -> bool:
        """The test failed on a request the suite did not send, the gateway's answers having already hung."""
        return self.outcome == FAILED and HANGS.id in self.run_causes


@dataclass
class RequirementResult:
    requirement: Requirement
    status: str
    reason: str = ""
    tests: list[TestResult] = field(default_factory=list)
    caused_by: list[str] = field(default_factory=list)  # failing requirements (or RUN_CAUSES ids) that explain this failure


# Causes found in the run that no requirement of its own names. A requirement whose every failed test shows one
# is listed under it as a consequence.
SELF_THROTTLE = Requirement(
    id="GATEWAY-THROTTLE", level="MUST", area="errors",
    title="The gateway throttled by itself: it answered requests with its own 429 and the upstream received nothing for them",
    source="https://code.claude.com/docs/en/llm-gateway-protocol#automatic-retry-and-error-forwarding",
    first_fix=("Turn off the gateway's own cooldown or circuit breaker after an upstream 429/5xx (LiteLLM: "
               "router_settings disable_cooldowns: true, num_retries: 0), or give it more than one deployment: Claude "
               "Code retries by itself and honours retry-after."),
    impact="After one upstream rate limit, every request of every developer fails with the gateway's 429 until its cooldown ends.",
    severity="breaks")
HANGS = Requirement(
    id="GATEWAY-HANGS", level="MUST", area="paths",
    title="The gateway's answers hang: no response, a body that never starts, or one that never completes",
    source="https://code.claude.com/docs/en/errors#automatic-retries",
    first_fix=("Find where requests stop (the gateway's logs for the requests in the evidence): an upstream call "
               "without a timeout, a response body that is never flushed, a proxy that holds responses."),
    impact="Every request of that kind hangs until Claude Code's own timeout (API_TIMEOUT_MS, 10 minutes by default).",
    severity="breaks")
RUN_CAUSES = {cause.id: cause for cause in (SELF_THROTTLE, HANGS)}


@dataclass
class Cause:
    """A root cause and the failures it explains (listed under it, its first fix shown for all)."""

    requirement: Requirement
    status: str
    consequences: list[RequirementResult] = field(default_factory=list)


@dataclass
class Rollup:
    requirements: list[RequirementResult]
    verdict: str
    verdict_reason: str
    tested_ids: frozenset[str] = frozenset()  # IDs some test of the suite checks, selected in this run or not
    causes: list[Cause] = field(default_factory=list)  # failing requirements grouped under their root causes
    not_tested: bool = False  # the preflight stopped the run: the set-up, not the gateway, must be fixed

    @property
    def headline(self) -> str:
        """The verdict as every report leads with it; accepted MUST failures are never hidden behind CONFORMANT."""
        accepted = [r.requirement.id for r in self.with_status(ACCEPTED) if r.requirement.level == "MUST"]
        if self.verdict != NOT_CONFORMANT and accepted:
            plural = "s" if len(accepted) > 1 else ""
            return f"{self.verdict.upper()} with {len(accepted)} accepted MUST failure{plural} ({', '.join(accepted)})"
        return self.verdict.upper()

    @property
    def proven_live(self) -> list[RequirementResult]:
        """Requirements whose recording-upstream tests could not run (--upstream live) and that live tests proved."""
        return [r for r in self.requirements if r.status == PASSED and r.reason == PROVEN_LIVE]

    def with_status(self, *statuses: str) -> list[RequirementResult]:
        return [r for r in self.requirements if r.status in statuses]

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


# The skip reason of a test that needs the recording upstream, in a --upstream live run.
NEEDS_RECORDER = (
    "needs the recording upstream to script or observe the upstream; this run uses --upstream live "
    "(run with --upstream recorder and route the gateway to the recording upstream to check it)"
)
PROVEN_LIVE = "proven black-box in live mode: the provider's own answers, as the gateway relayed them, show it"


def needs_recorder(test: TestResult) -> bool:
    return test.outcome == SKIPPED and test.message.startswith(NEEDS_RECORDER)


def requirement_status(requirement: Requirement, tests: list[TestResult], tested_ids: set[str]) -> tuple[str, str]:
    judged_live = [t for t in tests if not needs_recorder(t)]
    if judged_live and len(judged_live) < len(tests):
        # Live mode: the recording upstream's tests could not run; the live tests decide.
        status, reason = requirement_status(requirement, judged_live, tested_ids)
        return status, PROVEN_LIVE if status == PASSED else reason
    if not tests:
        if requirement.needs_declaration:
            return NOT_APPLICABLE, f"applies only when {requirement.applies_when}; this run does not declare that"
        if requirement.id in tested_ids:
            return NOT_RUN, "its tests were not selected in this run"
        return NOT_COVERED, "no test in this suite version checks it yet"
    outcomes = {outcome_for(t, requirement.id) for t in tests}
    reasons = "; ".join(dict.fromkeys(_reason(t, requirement.id) for t in tests if outcome_for(t, requirement.id) in (SKIPPED, ERROR) and t.message))
    if FAILED in outcomes:
        return FAILED, ""
    if ERROR in outcomes:
        return ERROR, reasons
    if SKIPPED in outcomes:
        return SKIPPED, reasons
    if PASSED in outcomes:
        return PASSED, ""
    return NOT_APPLICABLE, "; ".join(dict.fromkeys(t.message for t in tests if t.message))


def outcome_for(test: TestResult, requirement_id: str) -> str:
    """A test's outcome for one requirement: a failure the test blamed on another requirement (its stream was
    cut, say), or a request the suite did not send because the gateway's answers already hung, leaves the
    test's own requirement not judged, not failed."""
    if test.not_sent:
        return SKIPPED
    if test.blamed and requirement_id not in test.blamed:
        return SKIPPED
    return test.outcome


def _reason(test: TestResult, requirement_id: str) -> str:
    if test.not_sent:
        return f"not judged: the suite did not send its request, the gateway's answers already hung ({HANGS.id})"
    if test.outcome == FAILED and outcome_for(test, requirement_id) == SKIPPED:
        return f"not judged: the test met a failure of {', '.join(test.blamed)} first (see that requirement)"
    return test.message.splitlines()[0]


def roll_up(catalog: Catalog, results: list[TestResult], all_tested_ids: set[str], accepted: dict[str, str] | None = None,
            not_tested: tuple[str, str] | None = None, inapplicable: dict[str, str] | None = None) -> Rollup:
    """all_tested_ids: requirement IDs that some test of the suite checks, selected in this run or not.
    accepted: known failures by requirement ID, with the written reason (--accept); shown, never hidden.
    not_tested: (verdict, reason) when the preflight stopped the run before any test.
    inapplicable: requirements that do not apply to the declared upstream format, with the reason (formats.applicability)."""
    rows = []
    for requirement in catalog:
        tests = [t for t in results if requirement.id in t.requirements or requirement.id in t.blamed]
        status, reason = requirement_status(requirement, tests, all_tested_ids)
        if requirement.id in (inapplicable or {}):
            status, reason = NOT_APPLICABLE, (inapplicable or {})[requirement.id]
        if status == FAILED and requirement.id in (accepted or {}):
            status, reason = ACCEPTED, (accepted or {})[requirement.id]
        rows.append(RequirementResult(requirement, status, reason, tests))
    if not_tested is not None:
        return Rollup(rows, not_tested[0], not_tested[1], frozenset(all_tested_ids), not_tested=True)
    causes = group_by_cause(rows)
    verdict, why = decide_verdict(rows, causes)
    return Rollup(rows, verdict, why, frozenset(all_tested_ids), causes)


def group_by_cause(rows: list[RequirementResult]) -> list[Cause]:
    """Each failing requirement under the failing requirement that explains it (the catalogue's explained_by,
    a test that blamed another requirement, or the gateway's own throttling), root causes by impact."""
    failing = {r.requirement.id: r for r in rows if r.status in FAILING}
    not_judged = []
    for r in rows:
        if r.status == SKIPPED:  # not judged: a test met another requirement's failure first, or the gateway hung
            r.caused_by = list(dict.fromkeys([c for t in r.tests for c in t.blamed if c in failing and c != r.requirement.id]
                                             + [HANGS.id for t in r.tests if t.not_sent]))
            if HANGS.id in r.caused_by:
                not_judged.append(r)
    for r in failing.values():
        failed_tests = [t for t in r.tests if outcome_for(t, r.requirement.id) == FAILED]
        causes = [c for c in r.requirement.explained_by if c in failing]
        causes += [c for t in failed_tests for c in t.blamed if c in failing and c != r.requirement.id]
        shared = set.intersection(*(set(t.run_causes) for t in failed_tests)) if failed_tests else set()
        if shared:
            causes = sorted(shared)[:1]
        r.caused_by = list(dict.fromkeys(causes))
    by_impact = sorted(failing.values(), key=lambda r: _impact(r.requirement))
    roots: dict[str, Cause] = {}
    if not_judged:  # the gateway hung: the cause of every test the suite could not send (a failure of its own)
        roots[HANGS.id] = Cause(HANGS, FAILED, not_judged)
    for r in by_impact:
        root = _root(r.requirement.id, failing)
        if root == r.requirement.id:
            roots.setdefault(root, Cause(r.requirement, r.status))
    for r in by_impact:
        root = _root(r.requirement.id, failing)
        if root != r.requirement.id:
            roots.setdefault(root, Cause(failing[root].requirement, failing[root].status) if root in failing else Cause(RUN_CAUSES[root], FAILED))
            roots[root].consequences.append(r)
    return sorted(roots.values(), key=lambda c: _impact(c.requirement))


def _root(requirement_id: str, failing: dict[str, RequirementResult]) -> str:
    """Follow caused_by to a requirement nothing else explains (the first cause by impact; cycles stop)."""
    seen = [requirement_id]
    while requirement_id in failing and failing[requirement_id].caused_by:
        causes = sorted(failing[requirement_id].caused_by,
                        key=lambda c: _impact(failing[c].requirement) if c in failing else _impact(RUN_CAUSES[c]))
        if causes[0] in seen:
            break
        requirement_id = causes[0]
        seen.append(requirement_id)
    return requirement_id


def _impact(requirement: Requirement) -> tuple[bool, int, str]:
    return impact_order(requirement.level, requirement.severity, requirement.id)


def decide_verdict(rows: list[RequirementResult], causes: list[Cause] = ()) -> tuple[str, str]:
    must = [r for r in rows if r.requirement.level == "MUST"]
    failed = [r.requirement.id for r in must if r.status == FAILED] + [c.requirement.id for c in causes if c.requirement is HANGS]
    if failed:
        consequences = {c.requirement.id for cause in causes for c in cause.consequences}
        roots = [cause.requirement.id + (f" ({cause.requirement.title.split(':')[0].lower()})" if cause.requirement.id in RUN_CAUSES else "")
                 for cause in causes if any(r.requirement.id in failed for r in cause.consequences)
                 or cause.requirement.id in failed]
        explained = [i for i in failed if i in consequences]
        return NOT_CONFORMANT, (f"MUST requirements failed: {', '.join(roots)}"
                                + (f"; as their consequences: {', '.join(explained)}" if explained else ""))
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
