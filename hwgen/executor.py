"""Where chunks of work run: in this process, in local worker processes, or on a Dask cluster.

    executor = executor_for("dask://cluster-head:8786", jobs=2)  # or "local" / None: local processes
    with executor:
        for result in executor.map(fn, common, tasks):           # fn(common, task), results in task order
            ...

`fn` must be a module-level function (picklable by reference), `common` the data every task shares (sent to
each worker once, not with every task), `tasks` picklable (e.g. chunks of students). Results come back in
the order of `tasks` (or, with `ordered=False`, as they finish, so one slow task holds up no other), at most
`ahead` tasks being worked on or waiting to be consumed, so memory stays flat however many tasks there are;
the caller alone writes what they return. A task that raises stops the map with that exception. Local
worker processes die with this process, even after kill -9. `hwgen generate` runs chunks of students this
way, `hwgen grade` chunks of submissions (unordered; `cleanup` then stops the sandboxes a worker keeps).
"""

from __future__ import annotations

import concurrent.futures
import os
import signal
import urllib.parse
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Iterable, Iterator, Protocol, TypeVar

from . import __version__
from .errors import HwgenError
from .grade.worker import prctl

PR_SET_PDEATHSIG = 1  # prctl(2): a signal for this process when its parent dies

C = TypeVar("C")
T = TypeVar("T")
R = TypeVar("R")

DASK_INSTALL = "pip install 'hwgen[dask]'"
CONNECT_TIMEOUT = "10s"


class ExecutorError(HwgenError):
    """The executor cannot be used (unknown kind, Dask not installed, scheduler unreachable)."""


class Executor(Protocol):
    """Runs fn(common, task) for every task, yielding results in task order."""

    workers: int
    shares_files: bool  # whether fn runs where this process's files are (it may write the output folder)

    def map(self, fn: Callable[[C, T], R], common: C, tasks: Iterable[T], ordered: bool = True) -> Iterator[R]:
        """fn(common, task) for each task, in order (or as they finish); `common` travels to each worker once."""
        ...

    def cleanup(self, fn: Callable[[], Any]) -> None:
        """fn() in every process that keeps state from one map to the next (this one, or Dask's workers)."""
        ...

    def __enter__(self) -> "Executor": ...

    def __exit__(self, *exc: object) -> None: ...


class InProcess:
    """Everything in this process, one task after another (jobs = 1, and small classes)."""

    workers = 1
    shares_files = True

    def map(self, fn: Callable[[C, T], R], common: C, tasks: Iterable[T], ordered: bool = True) -> Iterator[R]:
        """fn(common, task) for each task, here and now."""
        return (fn(common, task) for task in tasks)

    def cleanup(self, fn: Callable[[], Any]) -> None:
        """fn() here."""
        fn()

    def __enter__(self) -> "InProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        return None


_COMMON: Any = None  # in a local worker process: the `common` of the map it serves


def _set_common(common: Any) -> None:
    """Worker initializer: keep `common` for the tasks to come; die with the parent (PR_SET_PDEATHSIG), so a
    killed driver leaves no worker (nor what a worker started) behind."""
    global _COMMON
    _COMMON = common
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _call_with_common(fn: Callable[[Any, T], R], task: T) -> R:
    """In a local worker: fn(common, task) with the common data the initializer kept."""
    return fn(_COMMON, task)


class LocalProcesses:
    """`workers` local processes; `common` is given to each once, when it starts."""

    shares_files = True

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def map(self, fn: Callable[[C, T], R], common: C, tasks: Iterable[T], ordered: bool = True) -> Iterator[R]:
        """fn(common, task) for each task in the worker processes, in order (or as they finish), 2 tasks ahead
        per worker."""
        with ProcessPoolExecutor(self.workers, initializer=_set_common, initargs=(common,)) as pool:
            futures = (pool.submit(_call_with_common, fn, task) for task in tasks)
            yield from (_in_order(futures, 2 * self.workers) if ordered else
                        _as_finished(futures, 2 * self.workers, _first_finished))

    def cleanup(self, fn: Callable[[], Any]) -> None:
        """Nothing: the worker processes end with their map."""

    def __enter__(self) -> "LocalProcesses":
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class Dask:
    """A Dask cluster (Dask's `distributed`): tasks run on its workers, results come back to this process."""

    shares_files = False  # a worker may be another machine

    def __init__(self, address: str) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise ExecutorError(f"--executor {address} needs Dask's distributed, which is not installed\n"
                                f"  fix: {DASK_INSTALL} (on this machine and on every worker)") from None
        try:
            self.client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ExecutorError(f"cannot reach the Dask scheduler at {address} ({exc.__class__.__name__}: "
                                f"{str(exc).splitlines()[0] if str(exc) else 'no answer'})\n  fix: start it with "
                                f"`dask scheduler` and workers with `dask worker {address}`, or check the "
                                "address and port") from None
        try:
            self._check_workers(address)
        except BaseException:
            self.client.close()
            raise
        self.workers = max(1, sum(w.get("nthreads", 1) for w in self.client.scheduler_info()["workers"].values()))

    def _check_workers(self, address: str) -> None:
        """Every worker must have this hwgen (same version): the same inputs must give the same files."""
        if not self.client.scheduler_info()["workers"]:
            raise ExecutorError(f"the Dask scheduler at {address} has no workers\n  fix: start some with "
                                f"`dask worker {address}` on machines where hwgen {__version__} is installed")
        try:
            versions = self.client.run(_version)
        except Exception as exc:  # noqa: BLE001 (whatever a worker raised while importing hwgen)
            raise ExecutorError(f"a Dask worker cannot run hwgen ({exc.__class__.__name__}: {exc})\n  fix: "
                                f"pip install 'hwgen[dask]=={__version__}' on every worker") from None
        stale = sorted(f"{worker} has hwgen {version}" for worker, version in versions.items() if version != __version__)
        if stale:
            raise ExecutorError(f"Dask workers must run hwgen {__version__}, as this machine does: {'; '.join(stale)}\n"
                                f"  fix: pip install 'hwgen[dask]=={__version__}' on those workers")

    def map(self, fn: Callable[[C, T], R], common: C, tasks: Iterable[T], ordered: bool = True) -> Iterator[R]:
        """fn(common, task) for each task on the cluster, in order (or as they finish), 2 tasks ahead per worker
        thread."""
        shared = self.client.scatter(common, broadcast=True, hash=False)
        try:
            futures = (self.client.submit(fn, shared, task, pure=False) for task in tasks)
            yield from (_in_order(futures, 2 * self.workers) if ordered else
                        _as_finished(futures, 2 * self.workers, self._first_finished))
        finally:
            self.client.cancel([shared])

    def _first_finished(self, running: set) -> tuple[set, set]:
        """(finished, still running) once at least one of the cluster's futures has finished."""
        from distributed import as_completed

        done = next(as_completed(running, loop=self.client.loop))
        return {done}, running - {done}

    def cleanup(self, fn: Callable[[], Any]) -> None:
        """fn() on every worker."""
        self.client.run(fn)

    def __enter__(self) -> "Dask":
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()


def _version() -> str:
    """On a worker: the hwgen version it runs."""
    return __version__


def _in_order(futures: Iterable[Any], ahead: int) -> Iterator[Any]:
    """The futures' results in order, with at most `ahead` futures created and not yet consumed."""
    pending: deque = deque()
    try:
        for future in futures:
            pending.append(future)
            if len(pending) > ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()


def _first_finished(running: set) -> tuple[set, set]:
    """(finished, still running) once at least one of the local futures has finished."""
    return concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)


def _as_finished(futures: Iterable[Any], ahead: int, wait: Callable[[set], tuple[set, set]]) -> Iterator[Any]:
    """The futures' results as they finish, with at most `ahead` futures created and not yet consumed;
    wait(running) -> (finished, not finished) blocks until one has finished."""
    running: set = set()
    try:
        for future in futures:
            running.add(future)
            while len(running) >= ahead:
                finished, running = wait(running)
                yield from (f.result() for f in finished)
        while running:
            finished, running = wait(running)
            yield from (f.result() for f in finished)
    finally:
        for future in running:
            future.cancel()


def executor_for(spec: str | None, jobs: int) -> Executor:
    """The executor an --executor value names: None or `local` -> `jobs` local processes (this process
    for jobs <= 1), `dask://HOST:PORT` (or tcp://HOST:PORT, tls://HOST:PORT) -> that Dask scheduler."""
    if spec in (None, "", "local"):
        return LocalProcesses(jobs) if jobs > 1 else InProcess()
    url = urllib.parse.urlsplit(spec)
    try:
        port = url.port
    except ValueError:
        port = None
    if url.scheme in ("dask", "tcp", "tls") and url.hostname and port:
        return Dask(("tcp" if url.scheme == "dask" else url.scheme) + f"://{url.netloc}")
    raise ExecutorError(f"unknown --executor {spec!r}\n  fix: write `local` (the default: {os.cpu_count()} local "
                        "processes, see --jobs) or dask://HOST:PORT, the address of a Dask scheduler "
                        "(e.g. dask://cluster-head:8786)")
