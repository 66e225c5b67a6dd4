"""Run the suite N times against the reference gateway while busy processes load every core, and
report whether any verdict changed (a flaky verdict is a severe bug for a release gate).

    python scripts/repeat_under_load.py --runs 20 --busy 2 [pytest args...]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def burn(stop_at: float) -> None:
    while time.time() < stop_at:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--busy", type=int, default=multiprocessing.cpu_count(), help="busy-loop processes (default: one per core)")
    args, pytest_args = parser.parse_known_args()
    outcomes: list[tuple[str, tuple[str, ...], float]] = []
    burners = [multiprocessing.Process(target=burn, args=(time.time() + 3600,), daemon=True) for _ in range(args.busy)]
    for p in burners:
        p.start()
    try:
        for index in range(args.runs):
            with tempfile.TemporaryDirectory() as report_dir:
                started = time.monotonic()
                subprocess.run([sys.executable, "-m", "pytest", str(REPO / "conformance" / "suite"), "-q", "-p", "no:cacheprovider",
                                "--report-dir", report_dir, *pytest_args], cwd=REPO, capture_output=True, timeout=900)
                document = json.loads((Path(report_dir) / "conformance.json").read_text())
            # Every requirement's status, not only the failures: a requirement that flips to skipped is a flake too.
            failed = tuple(sorted(f"{r['id']}={r['status']}" for r in document["requirements"] if r["status"] != "passed"))
            outcomes.append((document["verdict"], failed, time.monotonic() - started))
            print(f"run {index + 1:2d}: {document['verdict']:<15} not passed={len(failed)} {outcomes[-1][2]:.1f} s "
                  f"{document['measurements'].get('first text delta: upstream sent → client received', '')}", flush=True)
    finally:
        for p in burners:
            p.terminate()
    distinct = {(verdict, failed) for verdict, failed, _ in outcomes}
    durations = sorted(d for _, _, d in outcomes)
    print(f"{args.runs} runs with {args.busy} busy processes: {len(distinct)} distinct outcome(s) {sorted(distinct)}; "
          f"duration min {durations[0]:.1f} s, median {durations[len(durations) // 2]:.1f} s, max {durations[-1]:.1f} s")
    return 0 if len(distinct) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
