"""The suite against the reference gateway and each of its named faults and variants: the reference
passes every covered requirement, each fault fails exactly the requirements it breaks, and each
correct-but-unusual variant passes everything."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from conformance.reference.faults import FAULTS, Fault
from conformance.bounds import run_bound_s
from tests.conftest import SuiteRun, header_options, reference_gateway, run_against

# The suite mostly waits on sockets and timers (its scripted streams pause for seconds): a run keeps a
# core about a third busy, so five runs at once fill a 2-core machine without starving any of them, and
# the suite's timing margins (1 s and more) are sized for a loaded machine (scripts/repeat_under_load.py).
PARALLEL_RUNS = 5
# A never-answering gateway must cost seconds, not minutes: every read is bounded by --timeout.
NEVER_ANSWERS_TIMEOUT = "3"  # the smallest --timeout (MIN_TIMEOUT_S)


# Faults whose failures depend on test order (in_fault_matrix False) have self-tests of their own.
MATRIX = {name: cls for name, cls in FAULTS.items() if cls.in_fault_matrix}

# Tests that read one fault's run without a fault parameter.
RUN_NEEDED_BY = {"test_e2e_failures_carry_the_claude_cli_output": "rewrite-signature"}


# CGC_FULL_MATRIX=1: every fault also against the end-to-end area, proving it unaffected where the fault declares
# no E2E failure (the default matrix runs the real CLI only for faults that break an E2E requirement).
FULL_MATRIX = os.environ.get("CGC_FULL_MATRIX") == "1"


def runs_e2e(cls: type[Fault]) -> bool:
    if not cls.affects_print_mode:
        return False  # Claude Code in print mode sends no request this fault changes
    hostile = cls.breaks_everything or cls.self_test_timeout is not None  # the CLI must end in bounded time there too
    return FULL_MATRIX or cls is Fault or hostile or any(i.startswith("E2E-") for i in cls.breaks)


def run_fault(name: str, report_dir, *extra: str) -> SuiteRun:
    cls = FAULTS.get(name, Fault)
    timeout = NEVER_ANSWERS_TIMEOUT if cls.breaks_everything else cls.self_test_timeout
    headers, env = header_options(cls)
    args = [*(("--timeout", str(timeout)) if timeout else ()), *headers, *extra]
    if not runs_e2e(cls):
        args += ["-m", "not e2e"]
    with reference_gateway(None if name == Fault.name else name) as gateway:
        return run_against(gateway, report_dir, *args, env=env)


def is_slow(fault: type[Fault]) -> bool:
    return fault.self_test_timeout is not None or fault.name.startswith("slow-")


def selected_names(items) -> list[str]:
    """The reference plus the faults the selected tests need (all of them for the matrix snapshot)."""
    if any(item.name == "test_fault_matrix_snapshot" for item in items):
        return [Fault.name, *sorted(MATRIX)]
    params = [getattr(item, "callspec", None) for item in items]
    chosen = {p.params.get("fault") or p.params.get("variant") for p in params if p is not None}
    chosen |= {RUN_NEEDED_BY[item.name] for item in items if item.name in RUN_NEEDED_BY}
    return [Fault.name, *sorted(name for name in chosen if name in MATRIX)]


@pytest.fixture(scope="session")
def fault_runs(request, tmp_path_factory) -> dict[str, SuiteRun]:
    # Longest runs first (stalling faults, slow discovery and pacing), so no worker is left with one at the end.
    names = sorted(selected_names(request.session.items), key=lambda name: not is_slow(FAULTS.get(name, Fault)))
    report_dirs = [tmp_path_factory.mktemp(name) for name in names]  # mktemp is not thread-safe
    with ThreadPoolExecutor(PARALLEL_RUNS) as pool:
        return dict(zip(names, pool.map(run_fault, names, report_dirs)))


def requirements_under_test(run: SuiteRun) -> list[str]:
    return sorted(r["id"] for r in run.document["requirements"] if r["tests"] and r["status"] != "not_applicable")


def test_reference_gateway_passes_every_covered_requirement(fault_runs):
    run = fault_runs[Fault.name]
    assert run.returncode == 0, run.stdout[-3000:]
    assert run.requirements_with("failed") == [] and run.requirements_with("error") == []
    assert run.document["warnings"] == []


@pytest.mark.parametrize("fault", sorted(name for name, cls in MATRIX.items() if not cls.variant))
def test_fault_fails_exactly_what_it_breaks(fault_runs, fault):
    run = fault_runs[fault]
    if MATRIX[fault].breaks_everything:
        # Every tested requirement fails, or is not judged because its test met another one's failure first
        # (e.g. no /v1/models answer at all is DISC-3's failure; DISC-5's body check has nothing to judge).
        not_judged = sorted(r["id"] for r in run.document["requirements"] if r["status"] == "skipped" and r["caused_by"])
        assert sorted(run.requirements_with("failed") + not_judged) == requirements_under_test(fault_runs[Fault.name])
        assert run.requirements_with("passed") == []
        expected = run.requirements_with("failed")
    else:
        expected = sorted(MATRIX[fault].breaks)
    assert run.requirements_with("failed") == expected, run.stdout[-3000:]
    assert run.requirements_with("error") == []
    must_broken = any(r["level"] == "MUST" for r in run.document["requirements"] if r["id"] in expected)
    assert run.returncode == (1 if must_broken else 0)


@pytest.mark.parametrize("variant", sorted(name for name, cls in MATRIX.items() if cls.variant))
def test_correct_but_unusual_variant_passes_everything(fault_runs, variant):
    run = fault_runs[variant]
    assert run.returncode == 0 and run.requirements_with("failed") == [] and run.requirements_with("error") == [], run.stdout[-3000:]
    # An optional endpoint left out turns its requirements not_applicable; nothing else may change.
    proven = set(run.requirements_with("passed")) | set(run.requirements_with("not_applicable"))
    selected = set(fault_runs[Fault.name].requirements_with("passed")) - set(run.requirements_with("not_run"))
    assert selected <= proven


HOSTILE = sorted(name for name, cls in MATRIX.items() if cls.breaks_everything or cls.self_test_timeout)


@pytest.mark.parametrize("fault", HOSTILE)
def test_hostile_gateway_run_ends_within_the_stated_bound_with_a_complete_report(fault_runs, fault):
    run = fault_runs[fault]
    timeout = float(NEVER_ANSWERS_TIMEOUT if MATRIX[fault].breaks_everything else MATRIX[fault].self_test_timeout)
    assert run.wall_s <= run_bound_s(timeout), f"{fault}: {run.wall_s:.1f} s, bound {run_bound_s(timeout):.0f} s at --timeout {timeout:g}"
    document = run.document
    assert len(document["requirements"]) == len(fault_runs[Fault.name].document["requirements"])
    assert len(document["tests"]) == len(fault_runs[Fault.name].document["tests"]) - (0 if runs_e2e(MATRIX[fault]) else 5)
    assert {p.name for p in run.report_dir.iterdir()} >= {"conformance.html", "conformance.json", "conformance.md", "junit.xml"}


def test_fault_matrix_snapshot(fault_runs, snapshot):
    matrix = {name: run.requirements_with("failed") for name, run in fault_runs.items()}
    assert matrix == snapshot


def test_e2e_failures_carry_the_claude_cli_output(fault_runs):
    run = fault_runs["rewrite-signature"]
    failed = [t for t in run.document["tests"] if t["outcome"] == "failed" and "E2E-3" in t["requirements"]]
    assert failed, run.requirements_with("failed")
    transcript = failed[0]["transcript"]
    assert "--- stdout (stream-json)" in transcript and '"type":"result"' in transcript and "Claude Code 2.1.331" in transcript


@pytest.mark.parametrize(("fault", "cause", "consequences"), [
    ("query-string-404", "PATH-2", ["E2E-1", "E2E-2", "E2E-3", "E2E-4", "E2E-5"]),
    ("buffer-stream", "SSE-1", ["SSE-4"]),
    ("strip-anthropic-beta", "HDR-2", ["BODY-2", "BODY-5", "BODY-6", "BODY-7", "BODY-8", "E2E-5", "SSE-12"]),
])
def test_failures_are_grouped_under_their_root_cause(fault_runs, fault, cause, consequences):
    run = fault_runs[fault]
    root, *others = run.document["root_causes"]
    assert (root["id"], sorted(root["consequences"]), others) == (cause, consequences, [])
    # Every view leads with the cause and its first fix, the consequences under it.
    lines = run.stdout.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("FAILED "))
    assert lines[first].startswith(f"FAILED {cause} ") and all(
        line.startswith("    consequence: ") for line in lines[first + 1:first + 1 + len(consequences)])
    markdown = (run.report_dir / "conformance.md").read_text().splitlines()
    rows = [line for line in markdown if line.startswith("| ") and not line.startswith("| requirement")]
    assert rows[1].startswith(f"| {cause} ") and all(f"consequence of {cause}" in row for row in rows[2:])
    html = (run.report_dir / "conformance.html").read_text()
    assert html.index(f'href="#req-{cause}"') < html.index(f'href="#req-{consequences[0]}"')


def test_a_stream_cut_during_a_pause_fails_sse_10_and_leaves_sse_1_and_sse_4_not_judged(fault_runs):
    run = fault_runs["idle-timeout-1s"]
    rows = {r["id"]: r for r in run.document["requirements"]}
    assert rows["SSE-10"]["status"] == "failed"
    for judged_later in ("SSE-1", "SSE-4"):
        assert rows[judged_later]["status"] == "skipped" and rows[judged_later]["caused_by"] == ["SSE-10"]
    cut = next(t for t in run.document["tests"] if "SSE-1" in t["requirements"])
    assert "[SSE-10 · MUST]" in cut["message"] and "s after the request was sent" in cut["message"]


# For each requirement judged by the overlapped tests (conformance.overlap), one fault that breaks it: its statuses
# must be the same with --serial. CGC_FULL_MATRIX=1 checks every fault of the matrix so.
OVERLAPPED = ("SSE-1", "SSE-4", "SSE-10", "E2E-1", "E2E-2", "E2E-3", "E2E-4", "E2E-5")
# The streams that do not end too: which test meets them first differs between the two modes (streaming.py's grace).
SERIAL_CHECKED = sorted(MATRIX) if FULL_MATRIX else sorted({
    next(name for name, cls in sorted(MATRIX.items()) if requirement in cls.breaks) for requirement in OVERLAPPED
} | {"stall-before-message-stop", "stream-forever"})


@pytest.fixture(scope="session")
def serial_runs(request, tmp_path_factory) -> dict[str, SuiteRun]:
    names = [Fault.name, *SERIAL_CHECKED]
    report_dirs = [tmp_path_factory.mktemp(f"serial-{name}") for name in names]
    with ThreadPoolExecutor(PARALLEL_RUNS) as pool:
        return dict(zip(names, pool.map(lambda name, d: run_fault(name, d, "--serial"), names, report_dirs)))


def statuses(run: SuiteRun) -> dict[str, str]:
    return {r["id"]: r["status"] for r in run.document["requirements"]}


@pytest.mark.parametrize("fault", [Fault.name, *SERIAL_CHECKED])
def test_overlapped_and_serial_runs_give_the_same_verdicts(fault_runs, serial_runs, fault):
    overlapped, serial = fault_runs[fault], serial_runs[fault]
    assert statuses(overlapped) == statuses(serial) and overlapped.returncode == serial.returncode
    assert overlapped.document["verdict"] == serial.document["verdict"]
