"""Live mode (--upstream live) against the reference gateway in front of the Anthropic API persona
(conformance.upstream.persona): the suite sees only what the gateway relays, as with a hosted router whose upstream
cannot be re-pointed. It must prove the forwarding requirements black-box, catch each reference fault that a live
check can see, never blame a router whose provider is not the Anthropic API, and report what the provider billed."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from conformance.catalog import catalog
from conformance.report.rollup import PROVEN_LIVE
from conformance.serving import BackgroundServer
from conformance.session import LIVE_TOKENS_BILLED
from conformance.upstream.persona import AnthropicPersona, Billing
from tests.conftest import SuiteRun, reference_gateway, run_concurrently, run_suite

PROVEN = ["BODY-1", "ERR-1", "ERR-7", "HDR-2", "SSE-1", "SSE-9"]
# The reference's faults for those requirements, and what live mode must fail for each.
CAUGHT = {
    "strip-anthropic-beta": ["HDR-2"], "fixed-beta-list": ["HDR-2"], "allowlist-betas": ["HDR-2"],
    "drop-unknown-body-fields": ["BODY-1"], "buffer-stream": ["SSE-1"], "rewrite-signature": ["SSE-9"],
    "rewrite-history-signature": ["SSE-9"], "wrap-upstream-errors": ["ERR-1"],
}
SMALL_BUDGET = 3000


@dataclass
class LiveRun:
    run: SuiteRun
    billed: Billing


def live_run(fault: str | None, report_dir, strict: bool = True, *args: str) -> LiveRun:
    persona = AnthropicPersona(strict=strict)
    with reference_gateway(fault) as gateway, BackgroundServer(persona, port=gateway.upstream_port):
        run = run_suite(report_dir, "--gateway-url", gateway.url, "--upstream", "live", *args, token=gateway.token)
    return LiveRun(run, persona.billed)


@pytest.fixture(scope="module")
def live_runs(tmp_path_factory) -> dict[str, LiveRun]:
    jobs = {"reference": (None, True), "foreign-upstream": (None, False), "small-budget": (None, True, "--live-token-budget", str(SMALL_BUDGET)),
            # Each fault against the areas of what it breaks, as in the fault matrix (tests/test_faults.py).
            **{fault: (fault, True, "-m", " or ".join(sorted({catalog()[i].area for i in ids}))) for fault, ids in CAUGHT.items()}}
    report_dirs = {name: tmp_path_factory.mktemp(f"live-{name}") for name in jobs}
    runs = run_concurrently(list(jobs), lambda name: live_run(jobs[name][0], report_dirs[name], *jobs[name][1:]))
    return dict(zip(jobs, runs))


def rows(run: SuiteRun) -> dict[str, dict]:
    return {r["id"]: r for r in run.document["requirements"]}


def test_reference_is_proven_black_box_for_the_forwarding_requirements(live_runs):
    run = live_runs["reference"].run
    assert run.returncode == 0 and run.requirements_with("failed") == [], run.stdout[-3000:]
    proven = sorted(r["id"] for r in run.document["requirements"] if r["status"] == "passed" and r["reason"] == PROVEN_LIVE)
    assert set(PROVEN) <= set(proven), proven
    line = next(line for line in run.stdout.splitlines() if line.startswith("Proven black-box in live mode: "))
    assert all(requirement in line for requirement in PROVEN)
    # What live mode could not prove is listed, and the verdict says incomplete, not conformant.
    assert "Not provable black-box in live mode (MUST): " in run.stdout and run.document["verdict"] == "incomplete"


def test_printed_cost_matches_the_tokens_the_provider_billed(live_runs):
    live = live_runs["reference"]
    billed = live.billed.input_tokens + live.billed.output_tokens
    assert billed > 0 and run_measurement(live.run, LIVE_TOKENS_BILLED) == billed
    spent = next(line for line in live.run.stdout.splitlines() if line.startswith("Live mode spent: "))
    assert spent.startswith(f"Live mode spent: {billed} tokens billed over {live.billed.requests} answers") and "$" in spent


def run_measurement(run: SuiteRun, name: str):
    return run.document["measurements"][name]


@pytest.mark.parametrize("fault", sorted(CAUGHT))
def test_forwarding_fault_is_caught_in_live_mode(live_runs, fault):
    run = live_runs[fault].run
    assert run.requirements_with("failed") == CAUGHT[fault], run.stdout[-3000:]
    assert run.returncode == 1


def test_router_whose_provider_is_not_the_anthropic_api_gets_not_applicable_never_a_failure(live_runs):
    run = live_runs["foreign-upstream"].run
    assert run.requirements_with("failed") == [] and run.returncode == 0, run.stdout[-3000:]
    statuses = rows(run)
    for requirement in ("BODY-1", "ERR-1", "HDR-2", "SSE-9"):
        assert statuses[requirement]["status"] == "not_applicable", statuses[requirement]
        assert "is not the Anthropic API" in statuses[requirement]["reason"]


def test_token_budget_stops_requests_before_the_cap_and_judges_nothing_it_did_not_send(live_runs):
    live = live_runs["small-budget"]
    assert live.billed.input_tokens + live.billed.output_tokens <= SMALL_BUDGET
    assert live.run.requirements_with("failed") == [] and live.run.returncode == 0, live.run.stdout[-3000:]
    not_sent = [t for t in live.run.document["tests"] if "--live-token-budget" in (t["message"] or "")]
    assert not_sent and all(t["outcome"] == "skipped" for t in not_sent)
    assert "request(s) not sent to stay within it" in live.run.stdout
