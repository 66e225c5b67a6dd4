"""Overlapping the suite's deliberate waits.

A few tests spend seconds waiting on purpose: the keep-alive test watches 6 s of pings, the buffering
test a 3 s paced stream, the end-to-end tests run the real CLI. Run one after another they make up most of
a run's wall time. Each of them is split in two: its *exchange* (script the upstream, send the request,
collect what came back) is a job declared with `@overlapping("name")`, and the test itself judges the
job's result. When the run starts (after the preflight), the jobs of every selected test start together
on a thread pool; the tests then run in their usual order and wait only for what is not finished yet.

The verdict does not depend on it: a job records the same exchange whether it ran early or on demand, and
`--serial` runs each job only when its test asks for it, one at a time (a self-test checks that both give
the same verdicts). Failures and skips raised inside a job (pytest.fail, pytest.skip) reach the test that
reads the job, as if they had been raised there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import pytest

OVERLAP_MARKER = "overlapping"
# Enough for every declared job at once; they wait on sockets and timers, and the CLI runs are processes.
MAX_JOBS = 8


class JobProvider(Protocol):
    """What the run hands a job (ConformanceRun implements it)."""

    def client(self) -> Any: ...  # a GatewayClient with the run's credential and routes
    def upstream_view(self) -> Any: ...  # a TestUpstream view (skips in --upstream live)
    def claude_code_driver(self) -> Any: ...  # a ClaudeCode driver (skips without a CLI or the recorder)


@dataclass
class JobContext:
    """What a job may use; every evidence source it creates is shown under the tests that read the job."""

    provider: JobProvider
    model: str
    needs: Callable[[str], Any]  # another job's result (e.g. a control run after the run it mirrors)
    sources: list[Any] = field(default_factory=list)

    def gateway(self) -> Any:
        return self._keep(self.provider.client())

    def upstream(self) -> Any:
        return self._keep(self.provider.upstream_view())

    def claude_code(self) -> Any:
        return self._keep(self.provider.claude_code_driver())

    def _keep(self, source: Any) -> Any:
        self.sources.append(source)
        return source


Job = Callable[[JobContext], Any]
_JOBS: dict[str, Job] = {}
# Jobs whose verdict is a timing (gaps, buffering): heavy exchanges wait until they are done (Overlap.quiet).
_TIMED: set[str] = set()


def overlapping(name: str, timed: bool = False) -> Callable[[Job], Job]:
    """Declare the exchange part of a test with long deliberate waits (see the module docstring). timed: its verdict
    is a timing, which a gateway busy with a heavy request at the same moment could change."""

    def register(job: Job) -> Job:
        _JOBS[name] = job
        if timed:
            _TIMED.add(name)
        return job

    return register


@dataclass
class JobResult:
    value: Any
    sources: list[Any]


class Overlap:
    def __init__(self, provider: JobProvider, model: str, serial: bool) -> None:
        self.provider = provider
        self.model = model
        self.serial = serial
        self._pool = ThreadPoolExecutor(MAX_JOBS, thread_name_prefix="cgc-job")
        self._futures: dict[str, Future] = {}
        self._lock = threading.RLock()  # serial mode runs a job, and the jobs it needs, under the lock

    def start(self, names: Iterable[str]) -> None:
        """Start the named jobs now (nothing in serial mode: each runs when its test asks)."""
        if self.serial:
            return
        for name in dict.fromkeys(names):
            self._submit(name)

    def quiet(self) -> None:
        """Wait until the timed jobs started with the run are done, so that a heavy exchange (a 10 MB body a gateway
        may tokenise on its only thread) cannot stall their streams: verdicts stay those of a serial run."""
        with self._lock:
            timed = [future for name, future in self._futures.items() if name in _TIMED]
        for future in timed:
            try:
                future.result()
            except BaseException:  # the test that reads the job reports it
                pass

    def result(self, name: str) -> JobResult:
        """The job's result, waiting for it if needed; re-raises what the job raised (fail, skip, errors)."""
        return self._submit(name).result()

    def _submit(self, name: str) -> Future:
        with self._lock:
            if name not in self._futures:
                if name not in _JOBS:
                    raise KeyError(f"no job declared with @overlapping({name!r})")
                if self.serial:
                    future: Future = Future()
                    self._futures[name] = future
                    self._run_into(future, name)
                else:
                    self._futures[name] = self._pool.submit(self._run, name)
            return self._futures[name]

    def _run(self, name: str) -> JobResult:
        context = JobContext(self.provider, self.model, lambda other: self.result(other).value)
        try:
            return JobResult(_JOBS[name](context), context.sources)
        except BaseException as exc:  # the test that reads the job shows what its exchange gathered
            exc.cgc_sources = context.sources  # type: ignore[attr-defined]
            raise

    def _run_into(self, future: Future, name: str) -> None:
        try:
            future.set_result(self._run(name))
        except BaseException as exc:
            future.set_exception(exc)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def job_names(items: Iterable[pytest.Item]) -> list[str]:
    """The jobs the selected tests read, in test order."""
    return [name for item in items for mark in item.iter_markers(OVERLAP_MARKER) for name in mark.args]
