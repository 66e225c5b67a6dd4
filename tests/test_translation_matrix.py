"""The suite against the reference gateway's translating mode, in every upstream format the suite plays: the
correct translator passes the default run in each format, and each translation fault fails exactly the
requirements it breaks.

Every fault works on the Anthropic side of the translator, so it breaks the same requirements in every format.
By default each fault runs in one format (the formats take turns) and the reference runs whole in every format;
CGC_FULL_MATRIX=1 runs every fault in every format, each against the whole suite (README: "Self-tests")."""

from __future__ import annotations

import pytest

from conformance.formats import TRANSLATED
from conformance.formats.applicability import not_applicable
from conformance.reference.faults import FAULTS, Fault
from tests.conftest import SuiteRun
from conformance.bounds import TRANSLATING_SILENCE_S, run_bound_s
from tests.test_faults import FULL_MATRIX, NEVER_ANSWERS_TIMEOUT, SILENCE_TEST, FaultJob, run_matrix

FORMATS = sorted(TRANSLATED)
TRANSLATION_FAULTS = sorted(name for name, cls in FAULTS.items() if cls.translating_only)


def formats_of(fault: str) -> list[str]:
    """The formats a fault applies to: all of them with CGC_FULL_MATRIX=1, else one, the formats taking turns."""
    applicable = [f for f in FORMATS if FAULTS[fault].applies_to(TRANSLATED[f])]
    if FULL_MATRIX:
        return applicable
    return [applicable[TRANSLATION_FAULTS.index(fault) % len(applicable)]]


# Relay faults that a dialect's translator commits the same way (it forwards the client's anthropic-* headers).
RELAY_FAULTS_IN_DIALECTS = [("strip-anthropic-beta", "vertex")]
FAULT_JOBS = [(fault, f) for fault in TRANSLATION_FAULTS for f in formats_of(fault)] + RELAY_FAULTS_IN_DIALECTS
# A gateway that never answers, in a translating run: SSE-14's 61 s silence stays within the bound stated for it.
HOSTILE_JOB = ("never-answers", "openai")
JOBS = [(Fault.name, f) for f in FORMATS] + FAULT_JOBS + [HOSTILE_JOB]


# SSE-14 watches a 61 s silence; the translator's pings do not depend on the format, so by default the reference
# watches it in one format (the others leave that test out and report SSE-14 not run); CGC_FULL_MATRIX=1: in all.
SILENCE_FORMATS = FORMATS if FULL_MATRIX else ["openai"]


def job_args(name: str, upstream_format: str) -> tuple[str, ...]:
    if name == Fault.name and upstream_format not in SILENCE_FORMATS:
        return ("-k", f"not {SILENCE_TEST}")
    return ()


@pytest.fixture(scope="session")
def translation_runs(tmp_path_factory) -> dict[tuple[str, str], SuiteRun]:
    runs = run_matrix([FaultJob(name, tmp_path_factory.mktemp(f"{name}-{fmt}"), job_args(name, fmt), fmt) for name, fmt in JOBS])
    return dict(zip(JOBS, runs))


@pytest.mark.parametrize("upstream_format", FORMATS)
def test_reference_translator_passes_the_default_run(translation_runs, upstream_format):
    run = translation_runs[(Fault.name, upstream_format)]
    assert run.returncode == 0, run.stdout[-3000:]
    assert run.requirements_with("failed") == [] and run.requirements_with("error") == []
    assert run.document["warnings"] == []
    # Every requirement that applies to this format was judged and passed (SSE-5 is opt-in: -m long_silence).
    judged = set(run.requirements_with("passed"))
    translating = {f"TRN-{n}" for n in range(1, 11)} | {"ERR-8", "PROV-3"} | ({"SSE-14"} if upstream_format in SILENCE_FORMATS else set())
    assert translating - set(not_applicable(upstream_format)) <= judged
    assert f"Upstream format: {upstream_format} (" in run.stdout
    assert "SSE-5" in run.requirements_with("not_run" if TRANSLATED[upstream_format].pingless else "not_applicable")


@pytest.mark.parametrize(("fault", "upstream_format"), FAULT_JOBS)
def test_translation_fault_fails_exactly_what_it_breaks(translation_runs, fault, upstream_format):
    run = translation_runs[(fault, upstream_format)]
    # What the fault breaks, less what does not apply to a gateway of this format (spec L2's table).
    expected = sorted(set(FAULTS[fault].breaks) - set(not_applicable(upstream_format)))
    assert run.requirements_with("failed") == expected, run.stdout[-3000:]
    assert run.requirements_with("error") == []
    must_broken = any(r["level"] == "MUST" for r in run.document["requirements"] if r["id"] in expected)
    assert run.returncode == (1 if must_broken else 0)


def test_a_translating_run_against_a_hostile_gateway_ends_within_the_stated_bound(translation_runs):
    run = translation_runs[HOSTILE_JOB]
    bound = run_bound_s(float(NEVER_ANSWERS_TIMEOUT), TRANSLATING_SILENCE_S)
    assert run.wall_s <= bound, f"{run.wall_s:.1f} s, bound {bound:.0f} s"
    assert run.document["verdict"] == "not tested" or run.requirements_with("failed")
    assert {p.name for p in run.report_dir.iterdir()} >= {"conformance.html", "conformance.json", "conformance.md", "junit.xml"}


def test_translation_fault_matrix_snapshot(translation_runs, snapshot):
    # One entry per fault: the requirements it fails, the same in every format it ran in.
    matrix: dict[str, list[list[str]]] = {}
    for job, run in sorted(translation_runs.items()):
        if job == HOSTILE_JOB:
            continue
        name = job[0]
        failed = run.requirements_with("failed")
        if failed not in matrix.setdefault(name, []):
            matrix[name].append(failed)
    assert matrix == snapshot
