"""Self-test helpers: run the suite the way a user does (its own process, with documented options)
against the reference gateway started as its own process, with or without a fault."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import re
import socket
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

import pytest

from conformance.claude_cli import NPM_PACKAGE, find_cli
from tests import launcher

Job = TypeVar("Job")

REPO = Path(__file__).resolve().parent.parent
SUITE = REPO / "conformance" / "suite"
GATEWAY_START_TIMEOUT_S = 15
SUITE_RUN_TIMEOUT_S = 600  # bound on one suite run; a hung run fails the self-test instead of CI


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening_url(process: launcher.Launched) -> str:
    """The address the reference gateway printed once bound (it binds port 0: no port is chosen in advance, so no
    other process of a busy machine can take it between the choice and the bind)."""
    deadline = time.monotonic() + GATEWAY_START_TIMEOUT_S
    while time.monotonic() < deadline:
        stdout, stderr = process.output()
        if match := re.search(r"listening on (http://\S+)", stdout):
            return match.group(1)
        if process.returncode is not None:
            raise RuntimeError(f"reference gateway exited with {process.returncode}: {stderr}")
        time.sleep(0.05)
    raise RuntimeError(f"reference gateway did not start listening within {GATEWAY_START_TIMEOUT_S} s")


@dataclass
class ExternalGateway:
    url: str
    upstream_port: int
    token: str


@contextlib.contextmanager
def reference_gateway(fault: str | None = None, prefix: str = "", token: str = "cgc-selftest-token",
                      upstream_format: str = "anthropic") -> Iterator[ExternalGateway]:
    """`python -m conformance.reference` in its own process (tests/launcher.py), routed to a recording upstream port the suite will bind."""
    upstream_port = free_port()
    args = ["--listen", "127.0.0.1:0", "--upstream", f"http://127.0.0.1:{upstream_port}", "--client-token-env", "GATEWAY_TOKEN"]
    if prefix:
        args += ["--prefix", prefix]
    if fault:
        args += ["--fault", fault]
    if upstream_format != "anthropic":
        args += ["--upstream-format", upstream_format]
    process = launcher.start("conformance.reference", args, env={**os.environ, "GATEWAY_TOKEN": token})
    try:
        yield ExternalGateway(listening_url(process), upstream_port, token)
    finally:
        process.terminate()
        with contextlib.suppress(TimeoutError):
            process.wait(timeout=5)
        process.close()


@dataclass
class SuiteRun:
    returncode: int
    stdout: str
    stderr: str
    report_dir: Path
    wall_s: float = 0.0  # the suite process, start to exit

    @property
    def document(self) -> dict[str, Any]:
        return json.loads((self.report_dir / "conformance.json").read_text())

    def requirements_with(self, status: str) -> list[str]:
        return sorted(r["id"] for r in self.document["requirements"] if r["status"] == status)


# Plugins this machine has for other projects (pytest-xdist is the self-tests' own): a quarter of a second of start-up
# each suite run can do without. The main job and the packaging test run the suite with whatever is installed.
FOREIGN_PLUGINS_OFF = tuple(arg for name in ("xdist", "xdist.looponfail", "hypothesispytest", "benchmark")
                            for arg in ("-p", f"no:{name}"))


# The suite mostly waits on sockets and timers: a forked run (tests/launcher.py) costs about half a CPU-second of its
# own plus about 0.8 per Claude Code run, over 2 to 70 s. At most this many suite runs go at once on the machine,
# whichever xdist worker or matrix starts them, so that a loaded 2-core machine never starves a run into a timing
# verdict it would not give alone (the suite's margins are a second and more; every self-test run checks them).
SUITE_RUN_SLOTS = 8
# Runs that spend nearly all their time in deliberate waits (a hostile gateway's timeouts, slow pacing, a 61 s upstream
# silence) take slots of their own: in the busy slots, up to seven of them at once left both cores a third idle for a
# minute while CPU-bound runs queued behind them (`pytest tests`: 165-185 s then, 138-148 s right after).
WAITING_RUN_SLOTS = 8
SLOT_DIR = Path(tempfile.gettempdir()) / f"cgc-selftest-slots-{os.getuid()}"


@contextlib.contextmanager
def suite_run_slot(waits: bool = False) -> Iterator[None]:
    """One of the machine-wide slots of its kind (flock on a file each), held while a suite run goes."""
    SLOT_DIR.mkdir(exist_ok=True)
    kind, count = ("waiting", WAITING_RUN_SLOTS) if waits else ("busy", SUITE_RUN_SLOTS)
    while True:
        for slot in range(count):
            with open(SLOT_DIR / f"{kind}-{slot}.lock", "w") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
                return
        time.sleep(0.1)


# A run's first seconds are its busiest (start-up, then the timed exchanges begin with the run): at most one run starts
# per this many seconds on the machine. Sixteen runs started at once at the session's start took up to 1.9 s of SSE-4's
# 2 s margin in the first runs' keep-alive exchanges; spaced so, the least margin left in a whole session was 1.75 s.
START_SPACING_S = 0.5


def wait_for_start_turn() -> None:
    SLOT_DIR.mkdir(exist_ok=True)
    with open(SLOT_DIR / "last-start", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        last = float(handle.read() or 0)  # CLOCK_MONOTONIC: one clock for every process of the machine
        time.sleep(min(START_SPACING_S, max(0.0, last + START_SPACING_S - time.monotonic())))
        handle.seek(0)
        handle.truncate()
        handle.write(str(time.monotonic()))
        # the lock goes with the file's closing


def run_concurrently(jobs: list[Job], run: Callable[[Job], SuiteRun], waits: Callable[[Job], bool] = lambda job: False
                     ) -> list[SuiteRun]:
    """Each job's run, in order, started as the machine-wide slots allow: jobs that mostly wait (`waits`) in a pool
    of their own, so that they never hold back a busy job while a busy slot is free."""
    with ThreadPoolExecutor(SUITE_RUN_SLOTS) as busy, ThreadPoolExecutor(WAITING_RUN_SLOTS) as waiting:
        futures = [(waiting if waits(job) else busy).submit(run, job) for job in jobs]
        return [future.result() for future in futures]


def run_suite(report_dir: Path, *args: str, token: str | None = None, env: dict[str, str] | None = None,
              waits: bool = False) -> SuiteRun:
    """Run the conformance suite in its own process, as `python -m pytest conformance/suite ...` from the checkout
    (tests/launcher.py). `waits`: the run spends nearly all its time in deliberate waits (see WAITING_RUN_SLOTS)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    environ.pop("GATEWAY_TOKEN", None)
    if token is not None:
        environ["GATEWAY_TOKEN"] = token
    environ.update(env or {})
    with suite_run_slot(waits):
        wait_for_start_turn()
        started = time.monotonic()
        process = launcher.start("pytest", [str(SUITE), "-q", "-p", "no:cacheprovider", *FOREIGN_PLUGINS_OFF,
                                            "--report-dir", str(report_dir), *args], env=environ, cwd=REPO)
        try:
            returncode = process.wait(timeout=SUITE_RUN_TIMEOUT_S)
            return SuiteRun(returncode, *process.output(), report_dir, time.monotonic() - started)
        finally:
            process.close()


def run_against(gateway: ExternalGateway, report_dir: Path, *args: str, env: dict[str, str] | None = None,
                waits: bool = False) -> SuiteRun:
    return run_suite(report_dir, "--gateway-url", gateway.url, "--upstream-listen", f"127.0.0.1:{gateway.upstream_port}",
                     *args, token=gateway.token, env=env, waits=waits)


HEADERS_ENV = "GATEWAY_HEADERS"


def header_options(fault) -> tuple[list[str], dict[str, str]]:
    """The suite options and environment that send a fault's deployment headers (Fault.suite_headers)."""
    args = [arg for name, value in fault.suite_headers for arg in ("--gateway-header", f"{name}: {value}")]
    env = {}
    if fault.suite_secret_headers:
        env[HEADERS_ENV] = "\n".join(f"{name}: {value}" for name, value in fault.suite_secret_headers)
        args += ["--gateway-headers-env", HEADERS_ENV]
    return args, env


def run_once_per_session(tmp_path_factory, name: str, run: Callable[[Path], SuiteRun]) -> SuiteRun:
    """A suite run made once in the whole self-test session: under pytest-xdist the first worker to ask makes it
    (the others wait on its lock), then every worker reads it. Its tests can then go to any worker."""
    worker_dir = tmp_path_factory.getbasetemp()
    directory = (worker_dir.parent if os.environ.get("PYTEST_XDIST_WORKER") else worker_dir) / name
    directory.mkdir(exist_ok=True)
    record = directory / "suite-run.json"
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not record.exists():
            made = run(directory / "report")
            record.write_text(json.dumps({**dataclasses.asdict(made), "report_dir": str(made.report_dir)}))
    fields = json.loads(record.read_text())
    return SuiteRun(**{**fields, "report_dir": Path(fields["report_dir"])})


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory) -> SuiteRun:
    """The default main job: no --gateway-url, the bundled reference gateway."""
    return run_once_per_session(tmp_path_factory, "reference", run_suite)


# pytest-xdist (tests/pytest.ini: --dist loadgroup) spreads the self-tests over its workers one test at a time;
# tests that read one session-scoped set of suite runs stay on one worker, so each set is run once.
SHARED_RUNS = {"matrix_runs": "fault-matrix", "fault_runs": "fault-matrix", "serial_runs": "fault-matrix",
               "live_runs": "live-mode", "translation_runs": "translation-matrix"}


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items) -> None:
    for item in items:
        group = next((SHARED_RUNS[name] for name in getattr(item, "fixturenames", ()) if name in SHARED_RUNS), None)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))


def pytest_sessionstart(session) -> None:
    """The self-tests prove what each fault does to the end-to-end area too: without the pinned CLI every such proof
    would fail on skipped E2E tests, so the run stops at once and says what to install."""
    if hasattr(session.config, "workerinput"):
        return  # the controller has checked
    cli, _ = find_cli(None)
    if cli is None or not cli.is_pinned_version:
        found = "none was found" if cli is None else f"found Claude Code {cli.version} at {cli.path}"
        pytest.exit(f"the self-tests need the pinned Claude Code CLI ({NPM_PACKAGE}), {found}. "
                    "Run scripts/install-test-tools (or `npm ci` in the checkout)", returncode=pytest.ExitCode.USAGE_ERROR)
