"""Run students' notebook code outside the grader's process and bring back plain values.

A `Sandbox` is a pool of long-lived worker processes (hwgen/grade/worker.py) started inside the best
isolation the machine offers (hwgen/grade/isolation.py). Each worker imports NumPy once and forks a
child per run, so a run costs about a millisecond of start-up instead of a new interpreter's 120 ms.
The trusted side hands each run's code straight to the child over a socket of its own (the worker never
sees it), reads the child's progress while it runs and its bounded report at the end, and parses every field
as hostile input: a report that is not exactly what an honest child writes makes that submission `invalid`.
It enforces its own deadline, and replaces a worker that dies, hangs, cannot clean up after a run or cannot
set one up (that student is run again, never charged); a run that crashes or times out in a cell is repeated
without that cell, so the rest of the notebook still counts.
"""

from __future__ import annotations

import json
import os
import queue
import re
import secrets
import select
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import HwgenError
from . import isolation, seccomp
from .isolation import DESCRIPTION, LEVELS, NOBODY, Python
from .safetext import clean
from .worker import clear_dir

START_TIMEOUT = 30.0  # seconds for a worker to import NumPy and say it is ready
GRACE = 5.0  # seconds the trusted side waits beyond the worker's own wall-time limit
MAX_ATTEMPTS = 4  # runs of one notebook: the first, then one more per cell that crashed or hung
MAX_SETUPS = 3  # workers in a row that could not set a run up before the batch stops (the machine is at fault)
MAX_DEPTH = 8
MAX_ENTRIES = 100_000
MAX_COUNT = 10**15  # the largest count of printed characters a report may claim
TEXT_KEPT = 300  # characters kept of a reason or an error message from a report
PROGRESS_PAUSE = 0.005  # seconds between reads of a run's progress: a wake-up per few ms, not one per cell
PROGRESS = re.compile(rb"(cell) ([0-9]{1,9})|(var) ([A-Za-z_][A-Za-z0-9_]{0,99})")


@dataclass(frozen=True)
class Limits:
    """What one run of one notebook may use."""

    wall: float = 10.0  # seconds, per run
    cpu: float = 10.0  # seconds of CPU time, per run
    memory_mb: int = 1024  # address space beyond what Python and NumPy already map
    file_mb: int = 16  # largest file the notebook may write
    result_bytes: int = 4 * 2**20  # largest report a run may send back

    @property
    def tmp_mb(self) -> int:
        """The part of `memory_mb` that files in the run's private /tmp may hold (the rest is address space)."""
        return max(1, min(64, self.memory_mb // 4))

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
    malformed: str = ""  # why the child's report was not what an honest child writes: the submission is invalid
    attempts: int = 0
    cpu: float = 0.0
    wall: float = 0.0


class SandboxError(HwgenError):
    """No isolation level could start a worker."""


@dataclass
class Exchange:
    """What one run sent back: the worker's reply (None if it died, hung or answered out of turn), the child's
    report (bytes, None if it sent more than allowed) and its last progress line."""

    reply: dict[str, Any] | None
    report: bytes | None
    progress: bytes


class _Worker:
    """One sandboxed worker process and the private socket to it (only this process and the worker hold it)."""

    def __init__(self, cmd: list[str], config: dict[str, Any], env: dict[str, str]) -> None:
        self.log = tempfile.TemporaryFile()
        self.channel, theirs = socket.socketpair()
        argument = json.dumps(config | {"channel": theirs.fileno()})
        self.proc = subprocess.Popen([*cmd, argument], stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                     env=env, start_new_session=True, close_fds=True, pass_fds=(theirs.fileno(),))
        theirs.close()
        self.buffer = b""
        self.info: dict[str, Any] = {}

    def wait_ready(self, timeout: float, trusted: Sequence[str] = ()) -> None:
        """Wait for the worker's hello, then hand it the instructor's cells to compile once (`trusted`:
        hwgen/grade/trusted.py); raise OSError with the worker's own error output if it does not say hello."""
        line = self.readline(time.monotonic() + timeout, 1 << 16)
        try:
            self.info = json.loads(line)["ready"] if line else {}
        except (ValueError, KeyError, TypeError):
            self.info = {}
        if self.info and seccomp.program() is not None and self.info.get("seccomp") is not True:
            self.info = {}
            print("a child could not install the seccomp filter", file=self.log, flush=True)  # type: ignore[arg-type]
        if self.info and trusted and not self._trust(trusted, time.monotonic() + timeout):
            self.info = {}
            print("the worker did not take the instructor's cells", file=self.log, flush=True)  # type: ignore[arg-type]
        if not self.info:
            self._stop()
            self.log.seek(0)
            err = self.log.read().decode("utf-8", "replace").strip().splitlines()
            self.kill()
            raise OSError(err[-1] if err else f"the worker exited with status {self.proc.returncode}")

    def _trust(self, trusted: Sequence[str], deadline: float) -> bool:
        """Hand the worker the instructor's cells; whether it says it has them (before any run, so that no request
        shares a read with them)."""
        try:
            self.channel.settimeout(max(deadline - time.monotonic(), 0.001))
            self.channel.sendall(json.dumps({"trusted": list(trusted)}).encode() + b"\n")
            self.channel.settimeout(None)
        except OSError:
            return False
        return self.readline(deadline, 1 << 10) == b'{"trusted": true}'

    def readline(self, deadline: float, cap: int) -> bytes | None:
        """One line from the worker by `deadline`, at most `cap` bytes; None on timeout, EOF or overflow."""
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or len(self.buffer) > cap or not select.select([self.channel], [], [], left)[0]:
                return None
            chunk = self.channel.recv(1 << 16)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line

    def request(self, message: dict[str, Any], wall: float, deadline: float, cap: int) -> Exchange:
        """One run: the request goes to the child over a socket of its own, its report and progress come back on
        two others, read while it runs; the worker only forks and waits. The reply must carry this run's nonce."""
        nonce = secrets.token_hex(16)
        pairs = [socket.socketpair() for _ in range(3)]
        try:
            socket.send_fds(self.channel, [json.dumps({"nonce": nonce, "wall": wall}).encode() + b"\n"],
                            [theirs.fileno() for _, theirs in pairs])
            sent = True
        except OSError:
            sent = False
        for _, theirs in pairs:
            theirs.close()
        ends = [mine for mine, _ in pairs]
        try:
            return self._exchange(ends, json.dumps(message).encode(), deadline, cap, nonce) if sent \
                else Exchange(None, b"", b"")
        finally:
            for end in ends:
                end.close()

    def _exchange(self, ends: list[socket.socket], data: bytes, deadline: float, cap: int, nonce: str) -> Exchange:
        """Send `data` to the child, read its report (up to `cap` bytes) and progress (the last line kept) and the
        worker's reply line, until the reply has come and the child's sockets are closed, or `deadline`."""
        request, report, progress = ends
        out: memoryview | None = memoryview(data)
        got, tail, reply_line = bytearray(), b"", None
        readers = {report: True, progress: True, self.channel: True}
        overflow, paused = False, 0.0  # paused: progress is next read at this time (until the worker has replied)
        while any(readers.values()):
            now = time.monotonic()
            resting = readers[self.channel] and now < paused
            writing = [request] if out is not None else []
            listening = [s for s, on in readers.items() if on and not (resting and s is progress)]
            wake = min(deadline, paused) if resting else deadline
            ready, writable, _ = select.select(listening, writing, [], max(wake - now, 0))
            if not ready and not writable and (time.monotonic() >= deadline or not resting):
                break
            if writable and out is not None:
                try:
                    out = out[request.send(out[:1 << 16]):]
                    if not out:
                        request.shutdown(socket.SHUT_WR)  # the end of the request, for the child
                except OSError:  # the child is gone
                    out = out[:0]
                out = out if out else None
            for end in ready:
                if end is self.channel:  # the worker replies only once the child has ended
                    reply_line, readers[end] = self.readline(deadline, 1 << 16), False
                    continue
                chunk = end.recv(1 << 16)
                if not chunk:
                    readers[end] = False
                elif end is report:
                    got += chunk
                    if len(got) > cap:
                        overflow, readers[end] = True, False
                        end.shutdown(socket.SHUT_RD)
                else:
                    tail, paused = (tail + chunk)[-256:], time.monotonic() + PROGRESS_PAUSE
        reply = None
        if reply_line is not None and not self.buffer:  # anything after the reply: the worker is out of step
            try:
                reply = json.loads(reply_line)
            except ValueError:
                reply = None
        if not isinstance(reply, dict) or reply.get("nonce") != nonce or any(readers.values()):
            reply = None
        return Exchange(reply, None if overflow else bytes(got), tail)

    def kill(self) -> None:
        """Kill the worker and everything it started (its session), reap it, close its files (once)."""
        if self.log.closed:
            return
        self._stop()
        self.log.close()
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
        """Kill and reap the worker's session; close its socket."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.proc.wait()
        self.channel.close()


class _Starter:
    """Starts processes from one thread that lives as long as this process. A worker runs under bubblewrap's
    --die-with-parent (PR_SET_PDEATHSIG), which ends it when the THREAD that started it ends: started from a
    short-lived thread (a helper's, a Dask task's) it would die with that thread, in the middle of a batch."""

    _instance: _Starter | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.requests: queue.SimpleQueue[tuple[Callable[[], Any], queue.SimpleQueue[tuple[bool, Any]]]] = queue.SimpleQueue()
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
        reply: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()
        starter.requests.put((start, reply))
        ok, value = reply.get()
        if not ok:
            raise value
        return value


def describe(level: str, limits: Limits) -> str:
    """The isolation level and the limits, as the progress output says them."""
    confined = "seccomp filter on" if seccomp.program() else "no seccomp filter (there is one for x86-64 only)"
    return f"isolation: {level} ({DESCRIPTION[level]}); {confined}; limits: {limits.describe()}"


class Sandbox:
    """A pool of `jobs` sandboxed workers; `run(cells, names)` is safe to call from several threads. `trusted`: the
    instructor's cells every notebook holds (hwgen/grade/trusted.py), which each worker compiles once."""

    def __init__(self, jobs: int = 0, limits: Limits = Limits(), hidden: Sequence[str | Path] = (),
                 level: str = "auto", trusted: Sequence[str] = ()) -> None:
        self.jobs = jobs or default_jobs()
        self.limits, self.hidden, self.trusted = limits, list(hidden), tuple(trusted)
        self.python = Python.current()
        self.level = ""
        self.fallbacks: list[str] = []  # why better levels were not used
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self._start(level)

    # -- life cycle ---------------------------------------------------------------------------
    def _spawn(self, level: str) -> _Worker:
        program = seccomp.program(on_host=level == "none")
        config = {"drop_to": NOBODY if os.geteuid() == 0 else None, "private_tmp": level in ("bwrap", "unshare"),
                  "mount_tmp": level == "unshare", "tmp_mb": self.limits.tmp_mb, "seccomp": program.hex() if program else ""}
        command = isolation.command(level, self.python, self.hidden, self.limits.tmp_mb)
        env = isolation.environment(level)
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
                    worker.wait_ready(START_TIMEOUT, self.trusted)
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
    def _attempt(self, message: dict[str, Any]) -> Exchange:
        """One run on an idle worker; a worker that dies, hangs, answers out of turn, cannot set the run up or
        cannot clean up after it is replaced (the next run then starts on a fresh one)."""
        worker = self._idle.get()
        try:
            exchange = worker.request(message, self.limits.wall, time.monotonic() + self.limits.wall + GRACE,
                                      self.limits.result_bytes)
        except BaseException:
            self._replace(worker)
            raise
        reply = exchange.reply
        if reply is None or reply.get("clean") is not True or reply.get("outcome") == "setup":
            self._replace(worker)
        else:
            self._idle.put(worker)
        return exchange

    def _replace(self, worker: _Worker) -> None:
        """Kill `worker` and put a fresh one in its place."""
        worker.kill()
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)
        fresh = self._spawn(self.level)
        try:
            fresh.wait_ready(START_TIMEOUT, self.trusted)
        except OSError as exc:
            raise SandboxError(f"a sandbox worker could not be restarted: {exc}") from None
        self._idle.put(fresh)

    def run(self, cells: Sequence[str], names: Sequence[str]) -> Run:
        """Run the code cells in order; bring back the named variables as plain values (or reasons)."""
        run = Run()
        skip: list[int] = []
        skip_names: list[str] = []
        limits = asdict(self.limits) | {"tmp_mb": self.limits.tmp_mb}
        setups = 0
        while True:
            exchange = self._attempt({"cells": list(cells), "names": list(names), "skip": skip,
                                      "skip_names": skip_names, "limits": limits})
            reply = exchange.reply or {"outcome": "lost"}
            if reply.get("outcome") == "setup":  # the worker's fault, not the student's: again, on a fresh worker
                setups += 1
                if setups >= MAX_SETUPS:
                    raise SandboxError(f"{setups} sandbox workers in a row could not set up a run")
                continue
            run.attempts += 1
            run.cpu += _number(reply.get("cpu"))
            run.wall += _number(reply.get("wall"))
            if exchange.report is None:
                reply = {"outcome": "overflow"}
            elif reply.get("outcome") == "done" and not _has_result(exchange.report):
                reply = reply | {"outcome": "crash"}  # e.g. os._exit(0) in a cell
            if reply.get("outcome") == "done":
                _accept(run, exchange.report or b"", names, len(cells))
                break
            what, where = _stopped(reply, self.limits), _where(exchange.progress, len(cells), names)
            if isinstance(where, int) and where not in skip and run.attempts < MAX_ATTEMPTS:
                skip.append(where)
                run.cell_errors[where] = f"{what}; the notebook was run again without this cell"
                continue
            if isinstance(where, str) and where not in skip_names and run.attempts < MAX_ATTEMPTS:
                skip_names.append(where)
                run.reasons[where] = f"reading its value {what}"
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
    """A time the worker reported, if it is one (a finite, non-negative float below a day), else 0."""
    return float(x) if isinstance(x, float) and 0 <= x < 86400 else 0.0


def _where(progress: bytes, cells: int, names: Sequence[str]) -> int | str | None:
    """Where a run stopped, from the child's last progress line: a cell index in range, an asked name, or None."""
    lines = progress.split(b"\n")[:-1]  # complete lines only
    match = PROGRESS.fullmatch(lines[-1]) if lines else None
    if match is None:
        return None
    if match.group(1):
        index = int(match.group(2))
        return index if index < cells else None
    name = match.group(4).decode("ascii")
    return name if name in names else None


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


def _accept(run: Run, report: bytes, names: Sequence[str], cells: int) -> None:
    """Take a finished run's report: parse it here, in the trusted process, as hostile input. A report that is
    not what an honest child writes (not one `result` line of UTF-8 JSON, a field of the wrong type, a cell index
    out of range, a count out of range) leaves the run without values and marks it malformed; a value that is
    not plain data becomes that answer's reason; every text is made valid and short."""
    problem = _malformed(report, cells)
    if isinstance(problem, str):
        run.malformed = problem
        run.notes.append(f"the notebook's report was not valid ({problem}), so no answer could be read: did it "
                         "change how it is run?")
        for name in names:
            run.reasons.setdefault(name, "the notebook's report could not be read")
        return
    values, reasons = problem["values"], problem["reasons"]
    for name in names:
        if name in values:
            value, why = _plain(values[name], 0, [0])
            if why is None:
                run.values[name] = value
            else:
                run.reasons[name] = why
        elif isinstance(reasons.get(name), str):
            run.reasons.setdefault(name, clean(reasons[name], TEXT_KEPT))
    for index, message in problem["cell_errors"]:
        run.cell_errors.setdefault(index, clean(message, TEXT_KEPT))
    if problem["output_chars"] > 1_000_000:
        run.notes.append(f"the notebook printed {problem['output_chars'] / 1e6:.0f} million characters; they were "
                         "discarded")


def _has_result(report: bytes) -> bool:
    """Whether the last line of a report is a `result` line (a child that ended early has none)."""
    return report.rstrip(b"\n").rsplit(b"\n", 1)[-1].startswith(b"result ")


def _malformed(report: bytes, cells: int) -> dict[str, Any] | str:
    """The parsed report if its shape is an honest child's; else what is wrong with it."""
    last = report.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    if not _has_result(report) or not report.endswith(b"\n"):
        return "no result line"
    try:
        parsed = json.loads(last[7:].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return "not JSON"
    if not isinstance(parsed, dict) or set(parsed) != {"values", "reasons", "cell_errors", "output_chars"}:
        return "not the fields of a report"
    if not isinstance(parsed["values"], dict) or not isinstance(parsed["reasons"], dict):
        return "values or reasons not a mapping"
    errors, count = parsed["cell_errors"], parsed["output_chars"]
    if not isinstance(errors, list) or not all(
            isinstance(e, list) and len(e) == 2 and type(e[0]) is int and 0 <= e[0] < cells and isinstance(e[1], str)
            for e in errors):
        return "cell errors not a list of (cell in range, text)"
    if type(count) is not int or not 0 <= count <= MAX_COUNT:
        return "a count of printed characters out of range"
    return parsed


def _plain(value: Any, depth: int, seen: list[int]) -> tuple[Any, str | None]:
    """(value, None) if `value` is JSON-plain (floats, bools, None, short strings, nested lists), with integers as
    floats and texts made valid; else (None, why not)."""
    seen[0] += 1
    if seen[0] > MAX_ENTRIES:
        return None, f"it has more than {MAX_ENTRIES} entries"
    if value is None or isinstance(value, (bool, float)):
        return value, None
    if isinstance(value, int):
        try:
            return float(value), None
        except OverflowError:
            return None, "it holds an integer too large to be a float"
    if isinstance(value, str):
        return (clean(value, 1000), None) if len(value) <= 1000 else (None, "it is a very long text, not a number")
    if not isinstance(value, list):
        return None, "it is not a number or an array"
    if depth >= MAX_DEPTH:
        return None, f"it is nested more than {MAX_DEPTH} levels deep"
    out = []
    for v in value:
        item, why = _plain(v, depth + 1, seen)
        if why is not None:
            return None, why
        out.append(item)
    return out, None
