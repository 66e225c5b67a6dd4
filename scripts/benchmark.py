"""How long a run takes, measured the way users run it (the figures in README "Performance").

    python scripts/benchmark.py [--runs 3] [--hostile-timeouts 3,10] [--skip-hostile]

1. The default suite (`pytest`) against the bundled reference gateway, and against the reference gateway
   started as its own process (an external gateway with --upstream-listen), each --runs times, overlapped
   (the default) and --serial: wall time, the deliberate waits the run's scripts contain (their pauses and
   retry-after, read from the run's own evidence), the longest of them, and wall time / sum of waits.
2. Each hostile fault of the reference gateway (never answers, headers then silence, trickled JSON, garbage,
   streams that stall or never end) at each --hostile-timeouts value: wall time against the stated bound
   (conformance.bounds) and whether the report is complete.

A benchmark, not a test: it prints figures and asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conformance.bounds import run_bound_s  # noqa: E402
from conformance.streaming import script_seconds  # noqa: E402
from conformance.upstream.streams import stream_script  # noqa: E402
from tests.conftest import SuiteRun, reference_gateway, run_against, run_suite  # noqa: E402
from tests.launcher import FRESH_VARIABLE  # noqa: E402

# Each run a fresh interpreter, as users start it (the self-tests fork theirs from a preloaded one).
os.environ[FRESH_VARIABLE] = "1"

HOSTILE = ["never-answers", "headers-then-silence", "trickle-json", "garbage-bytes", "stall-before-message-stop", "stream-forever"]
STREAM_LABEL = re.compile(r"upstream plays fixtures/streams/(\w+)\.json")
RETRY_AFTER = re.compile(r"retry-after: (\d+)")


def deliberate_waits(run: SuiteRun) -> list[float]:
    """The pauses the run's scripted streams contain, and retry-after waits the CLI honoured, from the evidence."""
    waits = []
    for test in run.document["tests"]:
        for name in dict.fromkeys(STREAM_LABEL.findall(test["transcript"])):
            waits.append(script_seconds(stream_script(name)))
        if "E2E-4" in test["requirements"]:
            waits += [float(v) for v in RETRY_AFTER.findall(test["transcript"])[:1]]
    return [w for w in waits if w > 0]


def timed(label: str, runs: int, start) -> None:
    walls, waits = [], []
    for _ in range(runs):
        run = start(Path(tempfile.mkdtemp(prefix="cgc-bench-")))
        assert run.returncode == 0, run.stdout[-2000:]
        walls.append(run.wall_s)
        waits = deliberate_waits(run)
    total, longest = sum(waits), max(waits)
    print(f"| {label} | {statistics.median(walls):.1f} s (min {min(walls):.1f}, max {max(walls):.1f}) | {total:.1f} s "
          f"| {longest:.1f} s | {statistics.median(walls) / total:.2f} |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--hostile-timeouts", default="3,10", help="comma-separated --timeout values for the hostile faults")
    parser.add_argument("--skip-hostile", action="store_true")
    args = parser.parse_args()

    print("| run | wall time (median of %d) | sum of deliberate waits | longest wait | wall / sum |" % args.runs)
    print("| --- | --- | --- | --- | --- |")
    for mode in ((), ("--serial",)):
        suffix = " --serial" if mode else ""
        timed(f"`pytest{suffix}`, bundled reference", args.runs, lambda d, mode=mode: run_suite(d, *mode))

        def external(d, mode=mode):
            with reference_gateway() as gateway:
                return run_against(gateway, d, *mode)

        timed(f"`pytest --gateway-url ...{suffix}`, reference as its own process", args.runs, external)
    if args.skip_hostile:
        return 0
    print()
    print("| hostile gateway (reference fault) | --timeout | wall time | bound | report |")
    print("| --- | --- | --- | --- | --- |")
    for timeout in (float(t) for t in args.hostile_timeouts.split(",")):
        for fault in HOSTILE:
            with reference_gateway(fault) as gateway:
                run = run_against(gateway, Path(tempfile.mkdtemp(prefix="cgc-bench-")), "--timeout", f"{timeout:g}")
            complete = (run.report_dir / "conformance.json").exists() and len(run.document["requirements"]) > 0
            verdict = run.document["verdict"] if complete else "no report"
            print(f"| {fault} | {timeout:g} s | {run.wall_s:.1f} s | {run_bound_s(timeout):.0f} s "
                  f"| {'complete' if complete else 'MISSING'}, {verdict}, {len(run.requirements_with('failed'))} failed |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
