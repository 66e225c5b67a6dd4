"""The suite against the reference gateway and each of its named faults: the reference passes every
covered requirement, and each fault fails exactly the requirements it breaks, nothing else."""

from __future__ import annotations

import pytest

from conformance.reference.faults import FAULTS, Fault
from tests.conftest import SuiteRun, reference_gateway, run_against

# A never-answering gateway must fail fast enough: every read is bounded by --timeout.
FAST_TIMEOUT = ("--timeout", "1")


@pytest.fixture(scope="session")
def fault_runs(tmp_path_factory):
    runs: dict[str, SuiteRun] = {}

    def run(fault: str) -> SuiteRun:
        if fault not in runs:
            with reference_gateway(None if fault == Fault.name else fault) as gateway:
                extra = FAST_TIMEOUT if FAULTS.get(fault, Fault).breaks_everything else ()
                runs[fault] = run_against(gateway, tmp_path_factory.mktemp(fault), *extra)
        return runs[fault]

    return run


def requirements_under_test(run: SuiteRun) -> list[str]:
    return sorted(r["id"] for r in run.document["requirements"] if r["tests"] and r["status"] != "not_applicable")


def test_reference_gateway_passes_every_covered_requirement(fault_runs):
    run = fault_runs(Fault.name)
    assert run.returncode == 0, run.stdout[-3000:]
    assert run.requirements_with("failed") == [] and run.requirements_with("error") == []
    assert run.document["warnings"] == []


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_fails_exactly_what_it_breaks(fault_runs, fault):
    run = fault_runs(fault)
    expected = requirements_under_test(fault_runs(Fault.name)) if FAULTS[fault].breaks_everything else sorted(FAULTS[fault].breaks)
    assert run.requirements_with("failed") == expected, run.stdout[-3000:]
    assert run.requirements_with("error") == []
    must_broken = any(r["level"] == "MUST" for r in run.document["requirements"] if r["id"] in expected)
    assert run.returncode == (1 if must_broken else 0)


def test_fault_matrix_snapshot(fault_runs, snapshot):
    matrix = {fault: fault_runs(fault).requirements_with("failed") for fault in [Fault.name, *sorted(FAULTS)]}
    assert matrix == snapshot
