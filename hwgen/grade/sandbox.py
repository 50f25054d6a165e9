"""Run students' notebook code outside the grader's process and bring back plain values.

A `Sandbox` is a pool of long-lived worker processes (hwgen/grade/worker.py) started inside the best
isolation the machine offers (hwgen/grade/isolation.py). Each worker imports NumPy once and forks a
child per run, so a run costs about a millisecond of start-up instead of a new interpreter's 120 ms.
The trusted side sends code over a pipe, enforces its own wall-time deadline (killing the whole worker
sandbox if it is exceeded), reads a bounded reply and checks every value's type and size; a run that
crashes or times out in a cell is repeated without that cell, so the rest of the notebook still counts.
"""

from __future__ import annotations

import json
import os
import queue
import select
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import HwgenError
from . import isolation
from .isolation import DESCRIPTION, LEVELS, NOBODY, Python
from .worker import clear_dir

START_TIMEOUT = 30.0  # seconds for a worker to import NumPy and say it is ready
GRACE = 5.0  # seconds the trusted side waits beyond the worker's own wall-time limit
MAX_ATTEMPTS = 4  # runs of one notebook: the first, one more per cell that crashed or hung, one to locate a lost worker
MAX_DEPTH = 8
MAX_ENTRIES = 100_000


@dataclass(frozen=True)
class Limits:
    """What one run of one notebook may use."""

    wall: float = 10.0  # seconds, per run
    cpu: float = 10.0  # seconds of CPU time, per run
    memory_mb: int = 1024  # address space beyond what Python and NumPy already map
    file_mb: int = 16  # largest file the notebook may write
    result_bytes: int = 4 * 2**20  # largest report a run may send back

    def describe(self) -> str:
        """One line for the progress output."""
        return (f"{self.wall:g} s wall and {self.cpu:g} s CPU per run, {self.memory_mb} MiB memory, "
                f"{self.file_mb} MiB files, no new processes")


@dataclass
class Run:
    """What came back from running one notebook: values by variable, reasons, and what went wrong where."""

    values: dict[str, Any] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    cell_errors: dict[int, str] = field(default_factory=dict)  # cell index -> what it raised or why it was stopped
    notes: list[str] = field(default_factory=list)  # about the whole run, for the submission's flags
    attempts: int = 0
    cpu: float = 0.0
    wall: float = 0.0


class SandboxError(HwgenError):
    """No isolation level could start a worker."""


class _Worker:
    """One sandboxed worker process, the line-reading state of its pipe, and the progress pipe that its
    children write to directly (so that where a run stopped is known even if the worker dies)."""

    def __init__(self, cmd: list[str], config: dict[str, Any], env: dict[str, str]) -> None:
        self.log = tempfile.TemporaryFile()
        self.progress, write_end = os.pipe()
        os.set_blocking(self.progress, False)
        config = json.dumps(config | {"progress": write_end})
        self.proc = subprocess.Popen([*cmd, config], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                     env=env, start_new_session=True, close_fds=True, pass_fds=(write_end,))
        os.close(write_end)
        self.buffer = b""
        self.info: dict[str, Any] = {}

    def last_progress(self) -> str | None:
        """The last progress line the children wrote since the previous call (None if none)."""
        data = b""
        while True:
            try:
                chunk = os.read(self.progress, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                break
            data = (data + chunk)[-256:]
        lines = [line for line in data.split(b"\n") if line]
        return lines[-1].decode("utf-8", "replace") if lines else None

    def wait_ready(self, timeout: float) -> None:
        """Wait for the worker's hello; raise OSError with the worker's own error output if none comes."""
        line = self.readline(time.monotonic() + timeout, 1 << 16)
        try:
            self.info = json.loads(line)["ready"] if line else {}
        except (ValueError, KeyError, TypeError):
            self.info = {}
        if not self.info:
            self._stop()
            self.log.seek(0)
            err = self.log.read().decode("utf-8", "replace").strip().splitlines()
            self.kill()
            raise OSError(err[-1] if err else f"the worker exited with status {self.proc.returncode}")

    def readline(self, deadline: float, cap: int) -> bytes | None:
        """One line from the worker by `deadline`, at most `cap` bytes; None on timeout, EOF or overflow."""
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or len(self.buffer) > cap or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line

    def request(self, message: dict[str, Any], deadline: float, cap: int) -> dict[str, Any] | None:
        """Send one request; the reply, or None if the worker died or missed the deadline."""
        self.last_progress()  # forget what earlier runs wrote
        try:
            self.proc.stdin.write(json.dumps(message).encode() + b"\n")
            self.proc.stdin.flush()
        except OSError:
            return None
        line = self.readline(deadline, cap)
        try:
            reply = json.loads(line) if line else None
        except ValueError:
            reply = None
        return reply if isinstance(reply, dict) else None

    def kill(self) -> None:
        """Kill the worker and everything it started (its session), reap it, close its files (once)."""
        if self.log.closed:
            return
        self._stop()
        self.log.close()
        os.close(self.progress)
        self._remove_work()

    def _remove_work(self) -> None:
        """Remove the worker's own folder below the host's temp folder (killed, it could not do so itself)."""
        work = Path(str(self.info.get("work", "")))
        if work.parent == Path(tempfile.gettempdir()) and work.name.startswith("hwgen-run-") and work.is_dir():
            clear_dir(str(work))
            try:
                work.rmdir()
            except OSError:  # best effort, as the worker's own clean-up: a file it could not remove stays
                pass

    def _stop(self) -> None:
        """Kill and reap the worker's session; close its pipes."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass


class _Starter:
    """Starts processes from one thread that lives as long as this process. A worker runs under bubblewrap's
    --die-with-parent (PR_SET_PDEATHSIG), which ends it when the THREAD that started it ends: started from a
    short-lived thread (a helper's, a Dask task's) it would die with that thread, in the middle of a batch."""

    _instance: _Starter | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        self.pid, self.requests = os.getpid(), queue.SimpleQueue()
        threading.Thread(target=self._serve, name="hwgen-sandbox-starter", daemon=True).start()

    def _serve(self) -> None:
        while True:
            start, reply = self.requests.get()
            try:
                reply.put((True, start()))
            except BaseException as exc:  # handed to the caller
                reply.put((False, exc))

    @classmethod
    def call(cls, start: Callable[[], Any]) -> Any:
        """start() run on the starter thread of this process (a forked process gets its own)."""
        with cls._lock:
            if cls._instance is None or cls._instance.pid != os.getpid():
                cls._instance = _Starter()
            starter = cls._instance
        reply: queue.SimpleQueue = queue.SimpleQueue()
        starter.requests.put((start, reply))
        ok, value = reply.get()
        if not ok:
            raise value
        return value


def describe(level: str, limits: Limits) -> str:
    """The isolation level and the limits, as the progress output says them."""
    return f"isolation: {level} ({DESCRIPTION[level]}); limits: {limits.describe()}"


class Sandbox:
    """A pool of `jobs` sandboxed workers; `run(cells, names)` is safe to call from several threads."""

    def __init__(self, jobs: int = 0, limits: Limits = Limits(), hidden: Sequence[Path] = (),
                 level: str = "auto") -> None:
        self.jobs = jobs or default_jobs()
        self.limits, self.hidden = limits, list(hidden)
        self.python = Python.current()
        self.level, self.fallbacks = "", []  # fallbacks: why better levels were not used
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self._start(level)

    # -- life cycle ---------------------------------------------------------------------------
    def _spawn(self, level: str) -> _Worker:
        config = {"drop_to": NOBODY if os.geteuid() == 0 else None, "private_tmp": level == "bwrap"}
        command, env = isolation.command(level, self.python, self.hidden), isolation.environment(level)
        worker = _Starter.call(lambda: _Worker(command, config, env))
        with self._lock:
            self._all.append(worker)
        return worker

    def _start(self, wanted: str) -> None:
        """Start every worker at the best level that works (or exactly `wanted`), all at once."""
        candidates = LEVELS if wanted == "auto" else (wanted,)
        if wanted != "auto" and wanted not in LEVELS:
            raise SandboxError(f"unknown isolation level {wanted!r}; use auto, {', '.join(LEVELS)}")
        for level in candidates:
            if not isolation.AVAILABLE[level]():
                self.fallbacks.append(f"{level}: not installed")
                continue
            workers = [self._spawn(level) for _ in range(self.jobs)]
            failed = []
            for worker in workers:
                try:
                    worker.wait_ready(START_TIMEOUT)
                except OSError as exc:
                    failed.append(str(exc))
            if len(failed) == len(workers):
                self.fallbacks.append(f"{level}: {failed[0]}")
                self.close()
                continue
            if failed:
                self.close()
                raise SandboxError(f"{len(failed)} of {len(workers)} {level} workers could not be started: {failed[0]}")
            self.level = level
            for worker in workers:
                self._idle.put(worker)
            return
        raise SandboxError("no sandbox worker could be started: " + "; ".join(self.fallbacks))

    def close(self) -> None:
        """Stop every worker."""
        with self._lock:
            workers, self._all = self._all, []
        for worker in workers:
            worker.kill()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> str:
        """The isolation in use, for the progress output."""
        return describe(self.level, self.limits)

    # -- runs ---------------------------------------------------------------------------------
    def _attempt(self, message: dict[str, Any]) -> dict[str, Any]:
        """One run on an idle worker; a worker that dies or hangs is replaced."""
        worker = self._idle.get()
        reply = worker.request(message, time.monotonic() + self.limits.wall + GRACE, self.limits.result_bytes + 4096)
        where = worker.last_progress()
        if reply is None:
            worker.kill()
            with self._lock:
                if worker in self._all:
                    self._all.remove(worker)
            worker = self._spawn(self.level)
            try:
                worker.wait_ready(START_TIMEOUT)
            except OSError as exc:
                raise SandboxError(f"a sandbox worker could not be restarted: {exc}") from None
            reply = {"outcome": "lost"}
        self._idle.put(worker)
        return reply | {"where": where}

    def run(self, cells: Sequence[str], names: Sequence[str]) -> Run:
        """Run the code cells in order; bring back the named variables as plain values (or reasons)."""
        run = Run()
        skip: list[int] = []
        skip_names: list[str] = []
        careful = False  # after a lost worker: the child waits for the worker after every cell (see worker.py)
        limits = asdict(self.limits)
        while True:
            run.attempts += 1
            reply = self._attempt({"cells": list(cells), "names": list(names), "skip": skip,
                                   "skip_names": skip_names, "careful": careful, "limits": limits})
            run.cpu += _number(reply.get("cpu"))
            run.wall += _number(reply.get("wall"))
            if reply.get("outcome") == "done":
                _accept(run, reply.get("result"), names)
                break
            if reply.get("outcome") == "lost" and not careful and run.attempts < MAX_ATTEMPTS:
                careful = True  # where it stopped is only certain in careful mode: run once more to find out
                continue
            what, where = _stopped(reply, self.limits), reply.get("where")
            kind, _, ident = where.partition(" ") if isinstance(where, str) else ("", "", "")
            if kind == "cell" and ident.isdigit() and int(ident) < len(cells) and run.attempts < MAX_ATTEMPTS:
                skip.append(int(ident))
                run.cell_errors[int(ident)] = f"{what}; the notebook was run again without this cell"
                continue
            if kind == "var" and ident in names and run.attempts < MAX_ATTEMPTS:
                skip_names.append(ident)
                run.reasons[ident] = f"reading its value {what}"
                continue
            run.notes.append(f"the notebook could not be run to the end: {what}")
            for name in names:
                run.reasons.setdefault(name, f"the notebook {what} before this answer could be read")
            break
        return run


def default_jobs() -> int:
    """The number of cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return os.cpu_count() or 1


def _number(x: Any) -> float:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else 0.0


def _stopped(reply: dict[str, Any], limits: Limits) -> str:
    """Why a run did not finish, in words for the student."""
    outcome, sig = reply.get("outcome"), reply.get("signal")
    if outcome == "timeout":
        return f"was stopped after {limits.wall:g} s (an endless loop?)"
    if outcome == "overflow":
        return "sent back more data than allowed"
    if outcome == "lost":
        return "stopped the grading process (did it kill its parent or run past every limit?)"
    if sig == "SIGXCPU":
        return f"used more than {limits.cpu:g} s of CPU time (an endless loop?)"
    if sig:
        return f"crashed the Python process ({sig})"
    return f"ended the Python process (exit status {reply.get('exit_code')}, e.g. os._exit)"


def _accept(run: Run, text: Any, names: Sequence[str]) -> None:
    """Take a finished run's report: parse it here, in the trusted process, and check every part."""
    try:
        report = json.loads(text) if isinstance(text, str) else None
    except (ValueError, RecursionError):
        report = None
    if not isinstance(report, dict):
        run.notes.append("the notebook's report could not be read")
        for name in names:
            run.reasons.setdefault(name, "the notebook's report could not be read")
        return
    values, reasons = report.get("values"), report.get("reasons")
    values = values if isinstance(values, dict) else {}
    reasons = reasons if isinstance(reasons, dict) else {}
    for name in names:
        if name in values:
            problem = _not_plain(values[name])
            if problem:
                run.reasons[name] = problem
            else:
                run.values[name] = values[name]
        elif isinstance(reasons.get(name), str):
            run.reasons.setdefault(name, reasons[name][:300])
    for entry in report.get("cell_errors", []) if isinstance(report.get("cell_errors"), list) else []:
        if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], int) and isinstance(entry[1], str):
            run.cell_errors.setdefault(entry[0], entry[1][:300])
    printed = report.get("output_chars")
    if isinstance(printed, int) and printed > 1_000_000:
        run.notes.append(f"the notebook printed {printed / 1e6:.0f} million characters; they were discarded")


def _not_plain(value: Any) -> str | None:
    """None if `value` is JSON-plain (numbers, bools, None, short strings, nested lists); else why not."""
    level, seen = [value], 0
    for _ in range(MAX_DEPTH + 1):
        nested = []
        for v in level:
            if isinstance(v, list):
                nested.extend(v)
            elif isinstance(v, str):
                if len(v) > 1000:
                    return "it is a very long text, not a number"
            elif v is not None and not isinstance(v, (int, float, bool)):
                return "it is not a number or an array"
        seen += len(level)
        if seen > MAX_ENTRIES:
            return f"it has more than {MAX_ENTRIES} entries"
        if not nested:
            return None
        level = nested
    return f"it is nested more than {MAX_DEPTH} levels deep"
