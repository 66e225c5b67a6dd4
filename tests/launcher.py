"""`python -m MODULE ARGS` for the self-tests, forked from an interpreter that has already imported pytest and the
suite (multiprocessing's forkserver, preloading them once per self-test worker).

The self-tests start some 150 suite runs and as many reference gateways; each fresh interpreter spent about a
second of CPU importing the same modules, a third of all the self-tests' CPU on a 2-core machine. A forked child is
still its own process, run with the same options, environment and working directory as `python -m` would give it;
only the imports are done beforehand. The main job (.ci/run) and the packaging test still run the plain commands.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import runpy
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

# The fork server imports, once, what every suite run and reference gateway imports (tests/suite_preload.py).
_forked = multiprocessing.get_context("forkserver")
_forked.set_forkserver_preload(["tests.suite_preload"])
# CGC_SELFTEST_FRESH_INTERPRETERS=1: each process is a fresh interpreter that imports everything itself, as a user's
# `python -m pytest` does (scripts/benchmark.py measures so).
FRESH_VARIABLE = "CGC_SELFTEST_FRESH_INTERPRETERS"


def _run_module(module: str, argv: list[str], cwd: str, env: dict[str, str], stdout: str, stderr: str) -> None:
    """The child: what `python -m module *argv` does, with fds 1 and 2 on the given files."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    for fd, path in ((1, stdout), (2, stderr)):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(target, fd)
        os.close(target)
    sys.argv = [module, *argv]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    finally:  # a SystemExit goes on to multiprocessing, which makes its code the exit status as Python does
        atexit._run_exitfuncs()  # a forked child leaves with os._exit, which skips them
        sys.stdout.flush()
        sys.stderr.flush()


@dataclass
class Launched:
    """A started `python -m MODULE`: the subset of subprocess.Popen the self-tests use."""
    process: multiprocessing.process.BaseProcess
    stdout_path: Path
    stderr_path: Path

    @property
    def returncode(self) -> int | None:
        return self.process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self.process.join(timeout)
        if self.process.exitcode is None:
            raise TimeoutError(f"still running after {timeout} s")
        return self.process.exitcode

    def terminate(self) -> None:
        self.process.terminate()

    def output(self) -> tuple[str, str]:
        return (self.stdout_path.read_text(errors="replace"), self.stderr_path.read_text(errors="replace"))

    def close(self) -> None:
        """Stop the process if it still runs and remove its output files."""
        if self.process.exitcode is None:
            self.process.kill()
            self.process.join()
        self.process.close()
        for path in (self.stdout_path, self.stderr_path):
            path.unlink(missing_ok=True)


def start(module: str, argv: list[str], *, env: dict[str, str], cwd: Path | str = ".") -> Launched:
    """Start `python -m module *argv` in a child forked from the preloaded server (or a fresh interpreter)."""
    files = []
    for stream in ("stdout", "stderr"):
        fd, path = tempfile.mkstemp(prefix=f"cgc-{stream}-")
        os.close(fd)
        files.append(Path(path))
    context = multiprocessing.get_context("spawn") if os.environ.get(FRESH_VARIABLE) == "1" else _forked
    process = context.Process(target=_run_module, args=(module, list(argv), str(Path(cwd).resolve()), dict(env),
                                                         str(files[0]), str(files[1])), daemon=False)
    process.start()
    return Launched(process, files[0], files[1])
