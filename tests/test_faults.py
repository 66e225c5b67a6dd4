"""The suite against the reference gateway and each of its named faults and variants: the reference
passes every covered requirement, each fault fails exactly the requirements it breaks, and each
correct-but-unusual variant passes everything."""

from __future__ import annotations

import ast
import functools
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance.catalog import AREAS, catalog
from conformance.reference.faults import FAULTS, Fault
from conformance.bounds import run_bound_s
from tests.conftest import HEADERS_ENV, SUITE, SuiteRun, header_options, reference_gateway, run_against, run_concurrently

# A never-answering gateway must cost seconds, not minutes: every read is bounded by --timeout.
NEVER_ANSWERS_TIMEOUT = "3"  # the smallest --timeout (MIN_TIMEOUT_S)


# Faults whose failures depend on test order (in_fault_matrix False) have self-tests of their own; faults of the
# translating mode have their matrix in test_translation_matrix.py.
MATRIX = {name: cls for name, cls in FAULTS.items() if cls.in_fault_matrix and not cls.translating_only}

# Tests that read one fault's run without a fault parameter.
RUN_NEEDED_BY = {"test_e2e_failures_carry_the_claude_cli_output": "rewrite-signature",
                 "test_header_routed_gateway_passes_with_its_headers_and_never_shows_the_secret": "route-by-header"}


# A fault runs against the areas of the requirements it breaks (pytest -m "streaming or errors"): the areas it
# can affect. CGC_FULL_MATRIX=1 runs every fault against the whole suite, the real CLI included, which proves the
# other areas unaffected (README: "Self-tests"); the reference, the variants and the hostile faults always run whole.
FULL_MATRIX = os.environ.get("CGC_FULL_MATRIX") == "1"


def runs_whole_suite(cls: type[Fault]) -> bool:
    hostile = cls.breaks_everything or cls.self_test_timeout is not None  # bounded time and a complete report
    return FULL_MATRIX or cls is Fault or cls.variant or hostile or not cls.breaks


def areas_under_test(cls: type[Fault]) -> list[str]:
    """The suite areas a fault's run selects: every area, or those of the requirements it breaks."""
    areas = set(AREAS) if runs_whole_suite(cls) else {catalog()[i].area for i in cls.breaks}
    if not cls.affects_print_mode:
        areas.discard("e2e")  # Claude Code in print mode sends no request this fault changes
    return sorted(areas)


def runs_e2e(cls: type[Fault]) -> bool:
    return "e2e" in areas_under_test(cls)


def marker_args(function: ast.FunctionDef, marker: str) -> set[str]:
    return {arg.value for node in function.decorator_list if isinstance(node, ast.Call)
            and getattr(node.func, "attr", "") == marker for arg in node.args if isinstance(arg, ast.Constant)}


@functools.cache  # read once, not once per fault
def e2e_tests() -> dict[str, tuple[set[str], set[str]]]:
    """Each end-to-end test by name: the requirements it judges and the Claude Code runs (overlap jobs) it reads."""
    module = ast.parse((SUITE / "test_e2e.py").read_text())
    return {f.name: (marker_args(f, "req"), marker_args(f, "overlapping"))
            for f in module.body if isinstance(f, ast.FunctionDef) and f.name.startswith("test_")}


def e2e_tests_left_out(cls: type[Fault]) -> list[str]:
    """The tests a restricted run leaves out: end-to-end tests that would start a Claude Code run none of the
    fault's E2E requirements needs (the CLI runs are the costliest part of the matrix), and tests with long
    deliberate waits for requirements the fault does not break (SSE-14's 61 s silence)."""
    if runs_whole_suite(cls):
        return []
    left_out = [name for name, ids in LONG_WAITS.items() if not ids & set(cls.breaks)]
    if not runs_e2e(cls):
        return left_out
    tests = e2e_tests()
    needed = set().union(*(jobs for ids, jobs in tests.values() if ids & set(cls.breaks)))
    return sorted(left_out + [name for name, (_, jobs) in tests.items() if not jobs <= needed])


# Tests outside the end-to-end area that wait on purpose for many seconds, by the requirements they judge.
SILENCE_TEST = "test_client_gaps_stay_under_twenty_seconds"  # a translating run's 61 s upstream silence
LONG_WAITS = {SILENCE_TEST: {"SSE-14"}}


def mostly_waits(name: str, extra: tuple[str, ...] = (), upstream_format: str = "anthropic") -> bool:
    """A run that spends nearly all its time in deliberate waits: a hostile or slow fault's, or a translating run
    that watches the 61 s silence (tests/conftest.py: WAITING_RUN_SLOTS)."""
    cls = FAULTS.get(name, Fault)
    silence_areas = {catalog()[requirement].area for requirement in LONG_WAITS[SILENCE_TEST]}
    watches_silence = (upstream_format != "anthropic" and bool(silence_areas & set(areas_under_test(cls)))
                       and SILENCE_TEST not in e2e_tests_left_out(cls) and f"not {SILENCE_TEST}" not in extra)
    return is_slow(cls) or cls.breaks_everything or watches_silence


def run_fault(name: str, report_dir, *extra: str, upstream_format: str = "anthropic") -> SuiteRun:
    cls = FAULTS.get(name, Fault)
    timeout = NEVER_ANSWERS_TIMEOUT if cls.breaks_everything else cls.self_test_timeout
    headers, env = header_options(cls)
    args = [*(("--timeout", str(timeout)) if timeout else ()), *headers, *extra]
    if upstream_format != "anthropic":
        args += ["--upstream-format", upstream_format]
    areas = areas_under_test(cls)
    if areas != list(AREAS):
        args += ["-m", " or ".join(areas)]
    if left_out := e2e_tests_left_out(cls):
        args += ["-k", " and ".join(f"not {name}" for name in left_out)]
    for _ in range(2):
        with reference_gateway(None if name == Fault.name else name, upstream_format=upstream_format) as gateway:
            run = run_against(gateway, report_dir, *args, env=env, waits=mostly_waits(name, extra, upstream_format))
        # free_port() cannot hold the port until the suite binds it: a run that lost it to another process of a
        # busy machine (verdict error, nothing judged) is run again with new ports.
        if not (run.returncode == 3 and "Address already in use" in run.stdout):
            return run
    return run


@dataclass(frozen=True)
class FaultJob:
    """One suite run of a matrix: a fault (or the reference) with extra options, in an upstream format."""
    name: str
    report_dir: Path
    extra: tuple[str, ...] = ()
    upstream_format: str = "anthropic"

    def run(self) -> SuiteRun:
        return run_fault(self.name, self.report_dir, *self.extra, upstream_format=self.upstream_format)

    def mostly_waits(self) -> bool:
        return mostly_waits(self.name, self.extra, self.upstream_format)


def run_matrix(jobs: list[FaultJob]) -> list[SuiteRun]:
    return run_concurrently(jobs, FaultJob.run, FaultJob.mostly_waits)


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


def serial_names(items) -> list[str]:
    return [Fault.name, *SERIAL_CHECKED] if any(i.name.startswith("test_overlapped_and_serial") for i in items) else []


@pytest.fixture(scope="session")
def matrix_runs(request, tmp_path_factory) -> tuple[dict[str, SuiteRun], dict[str, SuiteRun]]:
    """Every run the selected tests read, overlapped (the default) and --serial, started together (run_concurrently)."""
    items = request.session.items
    jobs = [(name, ()) for name in selected_names(items)] + [(name, ("--serial",)) for name in serial_names(items)]
    # --serial runs first, the longest of the busy ones, so that none is left alone at the end.
    jobs.sort(key=lambda job: not job[1])
    runs = run_matrix([FaultJob(name, tmp_path_factory.mktemp("-".join((name, *extra))), extra) for name, extra in jobs])
    overlapped = {name: run for (name, extra), run in zip(jobs, runs) if not extra}
    serial = {name: run for (name, extra), run in zip(jobs, runs) if extra}
    return overlapped, serial


@pytest.fixture(scope="session")
def fault_runs(matrix_runs) -> dict[str, SuiteRun]:
    return matrix_runs[0]


@pytest.fixture(scope="session")
def serial_runs(matrix_runs) -> dict[str, SuiteRun]:
    return matrix_runs[1]


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


def test_header_routed_gateway_passes_with_its_headers_and_never_shows_the_secret(fault_runs):
    # The whole suite with the variant's headers (the CLI gets them too); the secret one is given by environment.
    run = fault_runs["route-by-header"]
    assert run.returncode == 0 and run.requirements_with("failed") == [], run.stdout[-2000:]
    assert "E2E-2" in run.requirements_with("passed") or run.document["claude_code_cli"].get("path") is None
    (name, secret), = FAULTS["route-by-header"].suite_secret_headers
    assert f"{name}: <{HEADERS_ENV}:{name}>" in run.document["gateway"]["extra_headers"]
    for path in run.report_dir.rglob("*"):
        if path.is_file():
            assert secret not in path.read_text(errors="replace"), path
    assert secret not in run.stdout + run.stderr


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


def statuses(run: SuiteRun) -> dict[str, str]:
    return {r["id"]: r["status"] for r in run.document["requirements"]}


@pytest.mark.parametrize("fault", [Fault.name, *SERIAL_CHECKED])
def test_overlapped_and_serial_runs_give_the_same_verdicts(fault_runs, serial_runs, fault):
    overlapped, serial = fault_runs[fault], serial_runs[fault]
    assert statuses(overlapped) == statuses(serial) and overlapped.returncode == serial.returncode
    assert overlapped.document["verdict"] == serial.document["verdict"]
