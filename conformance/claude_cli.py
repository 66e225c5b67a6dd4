"""The real Claude Code CLI as the end-to-end area runs it: found, isolated, bounded, its output parsed.

Each run is print mode (`-p`) with stream-json output, a fresh HOME, non-essential traffic off, a bounded
number of turns and retries; its process group is killed when it and the upstream stay silent longer
than --timeout allows, as the suite's own reads are bounded. The
credential goes in the variable the auth probe found (ANTHROPIC_AUTH_TOKEN or ANTHROPIC_API_KEY) and
the run's extra headers in ANTHROPIC_CUSTOM_HEADERS, exactly as a developer would set them up.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance import CLAUDE_CODE_FIXTURE_VERSION
from conformance.redaction import Redactor
from conformance.upstream.recorder import scenario_nonce

NPM_PACKAGE = f"@anthropic-ai/claude-code@{CLAUDE_CODE_FIXTURE_VERSION}"
INSTALL_COMMAND = f"npm install {NPM_PACKAGE}"
_PROJECT_ROOT = Path(__file__).resolve().parent.parent
VERSION_TIMEOUT_S = 60  # the first start of the 400 MB native binary can be slow on a cold disk
PREVIEW = 4000


@dataclass(frozen=True)
class ClaudeCli:
    path: str
    version: str  # as `claude --version` prints it, e.g. "2.1.331 (Claude Code)"

    @property
    def is_pinned_version(self) -> bool:
        return self.version.split()[0] == CLAUDE_CODE_FIXTURE_VERSION


def candidate_paths(option: str | None) -> list[tuple[str, str]]:
    """(path, how it was found), in the order the suite tries them."""
    if option:
        return [(option, "--claude-cli")]
    found = []
    on_path = shutil.which("claude")
    if on_path:
        found.append((on_path, "claude on PATH"))
    for root in (Path.cwd(), _PROJECT_ROOT):
        pinned = root / "node_modules" / ".bin" / "claude"
        if pinned.exists():
            found.append((str(pinned), f"pinned npm install in {root}"))
    return found


def find_cli(option: str | None) -> tuple[ClaudeCli | None, str]:
    """The CLI to run, or None and the reason (with the install command) the end-to-end area is skipped."""
    tried = []
    for path, how in candidate_paths(option):
        try:
            done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=VERSION_TIMEOUT_S,
                                  stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            tried.append(f"{path} ({how}): {type(exc).__name__}: {exc}")
            continue
        version = done.stdout.strip()
        if done.returncode == 0 and version:
            return ClaudeCli(path, version), f"found as {how}"
        tried.append(f"{path} ({how}): `--version` exited {done.returncode}")
    where = "; ".join(tried) if tried else "no --claude-cli, no claude on PATH, no node_modules/.bin/claude"
    return None, (f"the Claude Code CLI was not found ({where}). Install the pinned version in the project root with "
                  f"`{INSTALL_COMMAND}`, or pass --claude-cli PATH")


@dataclass
class CliRun:
    """One CLI invocation and what it printed."""

    command: list[str]
    returncode: int
    stdout: str
    stderr: str
    duration_s: float
    stopped: str  # why the suite killed it ("" when it exited on its own)
    events: list[dict[str, Any]] = field(default_factory=list)  # stream-json lines that parsed

    @property
    def timed_out(self) -> bool:
        return bool(self.stopped)

    @property
    def result(self) -> dict[str, Any] | None:
        """The final {"type": "result"} event: success or error, the printed answer, the turn count."""
        results = [e for e in self.events if e.get("type") == "result"]
        return results[-1] if results else None

    @property
    def answer(self) -> str | None:
        result = self.result
        return result.get("result") if result else None

    @property
    def succeeded(self) -> bool:
        result = self.result
        return self.returncode == 0 and result is not None and not result.get("is_error") and result.get("subtype") == "success"

    def outcome(self) -> str:
        """One line for a failure message: how the CLI ended and what it printed last."""
        if self.timed_out:
            return f"Claude Code did not finish: {self.stopped} after {self.duration_s:.1f} s"
        result = self.result
        if result is None:
            tail = (self.stderr.strip() or self.stdout.strip())[-300:]
            return f"Claude Code exited {self.returncode} without a result line; it printed: {tail!r}"
        return (f"Claude Code exited {self.returncode} with result {result.get('subtype')!r}"
                f"{' (error)' if result.get('is_error') else ''}: {str(result.get('result'))[:300]!r}")

    def transcript(self, redactor: Redactor) -> str:
        lines = [f"$ {shlex.join(self.command)}",
                 f"exit {self.returncode} after {self.duration_s:.2f} s" if not self.timed_out else f"{self.stopped} ({self.duration_s:.2f} s)",
                 "--- stdout (stream-json)", _preview(self.stdout), "--- stderr", _preview(self.stderr)]
        return redactor.redact("\n".join(lines))


def _preview(text: str) -> str:
    """The start and the end: the CLI's last lines (its result, its error) matter most."""
    if len(text) <= PREVIEW:
        return text
    head, tail = PREVIEW // 4, PREVIEW - PREVIEW // 4
    return f"{text[:head]}\n… ({len(text) - PREVIEW} characters left out) …\n{text[-tail:]}"


CREDENTIAL_VARIABLES = {"bearer": "ANTHROPIC_AUTH_TOKEN", "x-api-key": "ANTHROPIC_API_KEY"}


def trusted_ca_bundle() -> str | None:
    """The CA bundle the CLI must trust besides its own roots: first the one the suite's own requests trust (httpx
    reads SSL_CERT_FILE; Claude Code reads NODE_EXTRA_CA_CERTS). Without it, a gateway served with a private CA's
    certificate failed every end-to-end requirement on the CLI's TLS error: the user's set-up, not the gateway."""
    return os.environ.get("SSL_CERT_FILE") or os.environ.get("NODE_EXTRA_CA_CERTS") or None


def cli_environment(home: Path, base_url: str, credential_header: str, token: str, headers: tuple[tuple[str, str], ...],
                    max_retries: int, request_timeout_s: float) -> dict[str, str]:
    """The environment of one run: nothing from the caller's but PATH and the CAs the suite trusts, so a developer's
    own Claude Code set-up (credentials, settings, proxies) never leaks in."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TERM": "dumb",
        "LANG": "C.UTF-8",
        "ANTHROPIC_BASE_URL": base_url,
        CREDENTIAL_VARIABLES[credential_header]: token,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_MAX_RETRIES": str(max_retries),
        "API_TIMEOUT_MS": str(int(request_timeout_s * 1000)),
    }
    if ca_bundle := trusted_ca_bundle():
        env["NODE_EXTRA_CA_CERTS"] = ca_bundle
    if headers:
        env["ANTHROPIC_CUSTOM_HEADERS"] = "\n".join(f"{name}: {value}" for name, value in headers)
    return env


# Before its first request reaches the upstream, a cold CLI start (a 400 MB binary on a loaded machine) may take
# this long, plus the run's --timeout for the gateway's part.
START_ALLOWANCE_S = 15.0
# The CLI's own work between two upstream events (reading a file, building the next request).
CLIENT_WORK_S = 5.0


def run_cli(cli: ClaudeCli, prompt: str, *, workdir: Path, env: dict[str, str], model: str, idle_bound_s: float,
            last_upstream_activity: Callable[[], float], max_turns: int = 3, allowed_tools: tuple[str, ...] = ()) -> CliRun:
    """Run one print-mode turn sequence; never hangs. Like --timeout for the suite's own requests, silence
    ends it: the process group is killed when neither the CLI's output nor the upstream has moved for
    idle_bound_s (START_ALLOWANCE_S before the CLI's first request reached the upstream)."""
    command = [cli.path, "-p", prompt, "--model", model, "--output-format", "stream-json", "--verbose",
               "--max-turns", str(max_turns)]
    if allowed_tools:
        command += ["--allowedTools", ",".join(allowed_tools)]
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    output = _Output(process)
    stopped = ""
    while process.poll() is None:
        time.sleep(0.1)
        now, upstream_moved = time.monotonic(), last_upstream_activity()
        started_talking = upstream_moved > started
        bound = idle_bound_s if started_talking else START_ALLOWANCE_S + idle_bound_s
        quiet_since = max(started, output.last_line_at, upstream_moved if started_talking else 0.0)
        if now - quiet_since > bound:
            stopped = (f"stopped: nothing moved for {bound:g} s (no CLI output, no upstream activity)"
                       if started_talking else f"stopped: no request reached the upstream within {bound:g} s of the start")
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    output.join()
    events = []
    for line in output.stdout.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return CliRun(command, process.returncode, output.stdout, output.stderr, time.monotonic() - started, stopped, events)


class _Output:
    """Reads the CLI's stdout and stderr in threads, noting when the last line arrived."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.last_line_at = 0.0
        self._parts: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self._threads = [threading.Thread(target=self._read, args=(stream, name), daemon=True)
                         for stream, name in ((process.stdout, "stdout"), (process.stderr, "stderr"))]
        for thread in self._threads:
            thread.start()

    def _read(self, stream, name: str) -> None:
        for line in stream:
            self._parts[name].append(line)
            self.last_line_at = time.monotonic()
        stream.close()

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=5)

    @property
    def stdout(self) -> str:
        return "".join(self._parts["stdout"])

    @property
    def stderr(self) -> str:
        return "".join(self._parts["stderr"])


class CliSandbox:
    """A fresh HOME and working directory for one scenario, removed afterwards."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="cgc-claude-"))
        self.home = self.root / "home"
        self.workdir = self.root / "work"
        self.home.mkdir()
        self.workdir.mkdir()

    def fresh_home(self) -> Path:
        """An empty HOME at the same path (the differential compares two runs that must look alike)."""
        shutil.rmtree(self.home, ignore_errors=True)
        self.home.mkdir()
        return self.home

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class ClaudeCode:
    """The real CLI as one test drives it: runs through the gateway (or, for a control, straight at the
    recording upstream); every run becomes part of the test's evidence."""

    def __init__(self, cli: ClaudeCli, *, gateway_url: str, upstream_url: str, credential_header: str, token: str,
                 headers: tuple[tuple[str, str], ...], model: str, timeout_s: float, redactor: Redactor,
                 upstream_activity: Callable[[str | None], float]) -> None:
        self.cli = cli
        self.gateway_url = gateway_url
        self.upstream_url = upstream_url
        self.credential_header = credential_header
        self.token = token
        self.headers = headers
        self.model = model
        self.timeout_s = timeout_s
        self.redactor = redactor
        self.upstream_activity = upstream_activity  # of one scenario, by its nonce
        self.sandbox = CliSandbox()
        self.runs: list[tuple[str, CliRun]] = []

    @property
    def workdir(self) -> Path:
        return self.sandbox.workdir

    def run(self, prompt: str, *, direct: bool = False, max_retries: int = 0, allowed_tools: tuple[str, ...] = (),
            max_turns: int = 3) -> CliRun:
        """direct: the control run, ANTHROPIC_BASE_URL at the recording upstream instead of the gateway."""
        base_url = self.upstream_url if direct else self.gateway_url
        env = cli_environment(self.sandbox.fresh_home(), base_url, self.credential_header,
                              "cgc-direct-control-token" if direct else self.token, () if direct else self.headers,
                              max_retries, self.timeout_s)
        run = run_cli(self.cli, prompt, workdir=self.workdir, env=env, model=self.model,
                      idle_bound_s=self.timeout_s + CLIENT_WORK_S,
                      last_upstream_activity=lambda: self.upstream_activity(scenario_nonce(prompt.encode())),
                      max_turns=max_turns, allowed_tools=allowed_tools)
        self.runs.append(("straight at the recording upstream (control)" if direct else "through the gateway", run))
        return run

    def transcript(self) -> str:
        return "\n\n".join(f"### Claude Code {self.cli.version}, {label}\n{run.transcript(self.redactor)}" for label, run in self.runs)

    def close(self) -> None:
        self.sandbox.close()
