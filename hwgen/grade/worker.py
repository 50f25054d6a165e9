"""The sandbox worker: runs INSIDE the isolation and forks one child per notebook run.

The worker runs from this file's source, handed to `python -I -S -c SOURCE SITE CONFIG`, so it uses only the
standard library and NumPy, and nothing of hwgen (or the class folder) has to be visible inside the sandbox
(hwgen itself imports only `prctl` and `clear_dir` from here). The worker imports NumPy once; each run forks a
child that drops privileges, sets resource limits, runs the notebook's code cells in order in an empty
directory, and converts the expected variables to plain JSON (numbers, nested lists, or a reason why not). The
answers never enter the sandbox: every check runs in the trusted grader process on what comes back.

Protocol, one JSON object per line. Parent -> worker: {"cells": [str], "names": [str], "skip": [int],
"skip_names": [str], "careful": bool, "limits": {...}}. Worker -> parent: {"ready": {...}} once, then one reply per
request: {"outcome": "done"|"timeout"|"crash"|"overflow", "signal", "exit_code", "result", "cpu", "wall"}.
Child -> worker (a pipe): "result JSON". Child -> the trusted parent directly (a pipe the parent passed
down, fd config["progress"]): "cell N" / "var NAME" before each cell and each variable, so the parent
knows where a run stopped even if the child took the worker down with it.
"""

import builtins
import collections
import gc
import json
import os
import resource
import select
import signal
import sys
import time
import types

PRELOAD = ("math", "cmath", "random", "statistics", "fractions", "decimal", "itertools", "functools",
           "collections", "copy", "re", "string", "operator", "numpy.linalg", "numpy.random")
MAX_ENTRIES = 100_000  # numbers in one answer; far more than any answer of the bank needs
MAX_DEPTH = 6  # nesting of lists in one answer
TEXT_CAP = 200  # characters of a string answer or an error message that are kept
CACHED_SOURCE = 10_000  # cells up to this length are compiled once by the worker and shared by its children
CACHE_SIZE = 1_000  # compiled cells a worker keeps, the last used (test cells repeat in every student's notebook)
CACHED_NOTEBOOK = 1_000_000  # characters of code beyond which a notebook's cells are all left to the child


# Captured before any student code runs: a cell that monkeypatches builtins, os, sys or NumPy does not
# change how the child reads and reports its values. (Code in the child can always forge its own report,
# but that is no more than assigning other values: it never sees an answer, and the trusted grader checks
# whatever comes back.)
_write, _read, _exit, _compile, _exec, _BaseException = os.write, os.read, os._exit, compile, exec, BaseException
_type, _isinstance, _len, _str, _float = type, isinstance, len, str, float
_settrace, _setprofile, _setrecursionlimit = sys.settrace, sys.setprofile, sys.setrecursionlimit
_setitimer = signal.setitimer
_dumps = json.dumps
_builtins_saved = dict(builtins.__dict__)


class Unusable(Exception):
    """A variable that holds something other than numbers; str(exc) says what, for the student."""


def _emit(fd: int, data: bytes) -> None:
    """Write all of `data` to a pipe."""
    while data:
        data = data[_write(fd, data):]


def _short(text: str) -> str:
    """At most TEXT_CAP characters."""
    return text if _len(text) <= TEXT_CAP else text[:TEXT_CAP - 3] + "..."


def describe(exc: BaseException, filename: str = "") -> str:
    """An exception as the student would like to read it: 'line 3: NameError: name 'A1' is not defined'."""
    if _isinstance(exc, SystemExit):
        return "called sys.exit() / exit(); the rest of this cell was not run"
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    if _isinstance(exc, SyntaxError) and exc.filename == filename:
        line = exc.lineno
    try:
        text = f"{_type(exc).__name__}: {_str(exc)}"
    except BaseException:  # a student's exception whose __str__ fails
        text = _type(exc).__name__
    return _short((f"line {line}: " if line else "") + text)


class _Sink:
    """stdout/stderr of the notebook: counted, never stored (and never read: printing cannot fake a result)."""

    def __init__(self) -> None:
        self.total = 0

    def write(self, text) -> int:
        size = _len(_str(text))
        self.total += size
        return size

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return False


def _display(*objs, **_kw) -> None:
    """IPython's display(): prints, so notebooks that call it run unchanged."""
    print(*objs)


def _restore() -> None:
    """Undo what a cell may have changed in the interpreter's builtins and hooks."""
    builtins.__dict__.clear()
    builtins.__dict__.update(_builtins_saved)
    _settrace(None)
    _setprofile(None)


def plain(value, np_array, depth: int = 0):
    """A student's value -> float, nested lists of floats, or a bool/str/None kept as such; Unusable otherwise."""
    t = _type(value)
    if value is None or t is bool or t is float:
        return value
    if t is int:
        try:
            return _float(value)
        except OverflowError:
            raise Unusable("it holds an integer too large to be a float") from None
    if t is str:
        return _short(value)
    if t is dict:
        raise Unusable("it is a dict, not a number or an array")
    if depth >= MAX_DEPTH:
        raise Unusable(f"it is nested more than {MAX_DEPTH} levels deep")
    if (t is list or t is tuple) and _len(value) > MAX_ENTRIES:
        raise Unusable(f"it has more than {MAX_ENTRIES} entries")
    if t is list or t is tuple:
        return [plain(v, np_array, depth + 1) for v in value]
    # ndarray (and subclasses: subok=False copies the data into a plain ndarray, so overriding
    # __eq__, tolist or __array_function__ changes nothing), NumPy scalars, anything with __array__.
    try:
        arr = np_array(value, subok=False)
    except Exception as exc:
        raise Unusable(f"it is a {t.__name__} that NumPy cannot turn into an array ({_type(exc).__name__})") from None
    if arr.size > MAX_ENTRIES:
        raise Unusable(f"it has {arr.size} entries, more than {MAX_ENTRIES}")
    kind = arr.dtype.kind
    if kind in "iuf":
        return arr.astype(float).tolist()
    if kind == "b" or (kind in "US" and arr.ndim == 0):
        return plain(arr.tolist(), np_array, depth + 1)
    if kind == "c":
        raise Unusable("it holds complex numbers")
    if kind == "O" and arr.ndim > 0:
        return [plain(v, np_array, depth + 1) for v in arr.tolist()]
    raise Unusable(f"it is a {t.__name__}, not a number or an array")


def _set_limits(limits: dict) -> None:
    """CPU time, address space, no new processes, file size, open files, no core dumps."""
    cpu = int(limits["cpu"]) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    base = 0
    try:
        with open("/proc/self/statm") as f:
            base = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        base = 1 << 30
    memory = base + int(limits["memory_mb"]) * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    size = int(limits["file_mb"]) * 2**20
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def clear_dir(path: str) -> None:
    """Remove everything below `path` (earlier runs' files), as far as permissions allow: folders are opened
    up first, so a folder a notebook made unreadable is emptied too; symbolic links are removed, not followed."""
    for root, dirs, _ in os.walk(path):
        for name in dirs:
            full = os.path.join(root, name)
            if not os.path.islink(full):
                try:
                    os.chmod(full, 0o700)
                except OSError:
                    pass
    for root, dirs, files in os.walk(path, topdown=False):
        for name in files + dirs:
            full = os.path.join(root, name)
            try:
                os.rmdir(full) if name in dirs and not os.path.islink(full) else os.unlink(full)
            except OSError:
                pass


def _fresh(work: str) -> None:
    """Empty the work folder of the runs before: usually just their empty `run` folder, removed at once."""
    try:
        if os.listdir(work) == ["run"]:
            os.rmdir(os.path.join(work, "run"))
            return
    except OSError:
        pass
    clear_dir(work)


def compiled(cells: list, cache: "collections.OrderedDict") -> list:
    """Code objects of the short cells, from the worker's cache or compiled now; None where the child must
    compile (a long cell, or one that does not compile: the child then reports the error). compile() runs
    no code of the cell, so this is safe outside the child's limits for sources of bounded length. The cache
    keeps the CACHE_SIZE cells used last: the cells every notebook shares stay, each student's own pass
    through, so the worker's memory stays the same however many notebooks it runs."""
    import warnings

    if sum(len(source) for source in cells) > CACHED_NOTEBOOK:
        return [None] * len(cells)
    out = []
    for i, source in enumerate(cells):
        key = (i, source)
        if key in cache:
            cache.move_to_end(key)
        elif len(source) <= CACHED_SOURCE:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    cache[key] = compile(source, f"<cell {i + 1}>", "exec")
                except (SyntaxError, ValueError, MemoryError, RecursionError):
                    cache[key] = None
        out.append(cache.get(key))
    while len(cache) > CACHE_SIZE:
        cache.popitem(last=False)
    return out


def child(req: dict, fd: int, ack: int, config: dict, np_array) -> None:
    """In the forked child: drop privileges, limit, run the cells, report values on `fd`. Never returns."""
    os.setpgid(0, 0)
    if config.get("drop_to") is not None:  # root: become an unprivileged user, so RLIMIT_NPROC applies
        uid = config["drop_to"]
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (after the uid change, which clears it): die with the worker
    work = config["work"]
    _fresh(work)
    home = os.path.join(work, "run")
    os.mkdir(home, 0o700)
    os.chdir(home)
    null = os.open(os.devnull, os.O_RDWR)
    for target in (0, 1, 2):
        os.dup2(null, target)
    progress = config["progress"]
    edges = [2, *sorted((fd, progress, ack)), 1 << 16]
    for low, high in zip(edges, edges[1:]):
        os.closerange(low + 1, high)
    os.environ.update(HOME=home, TMPDIR=home)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write raises OSError instead of killing
    limits = req["limits"]
    _set_limits(limits)
    sink = _Sink()
    sys.stdout = sys.stderr = sink
    sys.stdin = None
    main_module = types.ModuleType("__main__")  # the notebook's own __main__, as in a kernel
    main_module.display = _display
    sys.modules["__main__"] = main_module
    ns = main_module.__dict__
    skip = set(req.get("skip", ()))
    careful = bool(req.get("careful"))
    cell_errors = []
    codes = req["codes"]
    for i, source in enumerate(req["cells"]):
        if i in skip:
            continue
        _emit(progress, b"cell %d\n" % i)
        filename = f"<cell {i + 1}>"
        error = None
        try:
            _exec(codes[i] or _compile(source, filename, "exec"), ns)
        except _BaseException as exc:  # an error in one cell does not stop the next
            error = exc
        _restore()
        if error is not None:
            cell_errors.append([i, describe(error, filename)])
        if careful:  # wait until the worker has seen this cell end: a cell that kills the worker is then the last one
            _emit(fd, b"sync\n")
            if not _read(ack, 1):
                _exit(71)
    _setrecursionlimit(10_000)
    _setitimer(signal.ITIMER_REAL, 0)
    values, reasons = {}, {}
    skip_names = set(req.get("skip_names", ()))
    for name in req["names"]:
        if name in skip_names or name not in ns:
            continue
        _emit(progress, b"var " + name.encode() + b"\n")
        try:
            values[name] = plain(ns[name], np_array)
        except Unusable as exc:
            reasons[name] = _str(exc)
        except _BaseException as exc:
            _restore()
            reasons[name] = "its value could not be read: " + describe(exc)
    result = {"values": values, "reasons": reasons, "cell_errors": cell_errors, "output_chars": sink.total}
    _emit(fd, b"result " + _dumps(result).encode() + b"\n")
    _exit(0)


def _result(data: bytes) -> str | None:
    """The child's report: the JSON of the last line if it is a `result` line."""
    last = data.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    return last[7:].decode("utf-8", "replace") if last.startswith(b"result ") else None


def _wait(pid: int, deadline: float) -> tuple:
    """Wait for the child until `deadline`, then kill it: (wait status, rusage, killed for time). A pidfd
    (Linux 5.3 and later) wakes the worker as soon as the child has ended; without one it polls."""
    try:
        ended = os.pidfd_open(pid)
    except (AttributeError, OSError):
        ended = None
    try:
        while True:
            got, status, usage = os.wait4(pid, os.WNOHANG)
            if got == pid:
                return status, usage, False
            left = deadline - time.monotonic()
            if left <= 0:
                _kill(pid)
                _, status, usage = os.wait4(pid, 0)
                return status, usage, True
            if ended is not None:
                select.select([ended], [], [], left)
            else:
                time.sleep(min(0.002, left))
    finally:
        if ended is not None:
            os.close(ended)


def _kill(pid: int) -> None:
    """Kill the child's process group (and the child, should it have left the group)."""
    for kill, target in ((os.killpg, pid), (os.kill, pid)):
        try:
            kill(target, signal.SIGKILL)
        except OSError:
            pass


def supervise(req: dict, config: dict, np_array, cache: "collections.OrderedDict") -> dict:
    """Fork a child for one run; read its pipe within the wall-time and size limits; report how it ended."""
    req["codes"] = compiled(req["cells"], cache)
    limits = req["limits"]
    cap = int(limits["result_bytes"])
    r, w = os.pipe()
    ack_r, ack_w = os.pipe()
    os.set_blocking(ack_w, False)  # a child that floods "sync" lines cannot block the worker
    start = time.monotonic()
    deadline = start + float(limits["wall"])
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.close(ack_w)
            child(req, w, ack_r, config, np_array)
        finally:
            _exit(70)
    os.close(w)
    os.close(ack_r)
    chunks, size, outcome = [], 0, None
    while outcome is None:
        ready, _, _ = select.select([r], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            outcome = "timeout"
            break
        chunk = os.read(r, 1 << 16)
        if not chunk:
            break
        tail = (chunks[-1][-4:] if chunks else b"") + chunk
        for _ in range(tail.count(b"sync\n")):
            try:
                os.write(ack_w, b".")
            except OSError:
                pass
        size += len(chunk)
        if size > cap:
            outcome = "overflow"
        else:
            chunks.append(chunk)
    if outcome is not None:
        _kill(pid)
    os.close(r)
    os.close(ack_w)
    status, usage, late = _wait(pid, deadline)
    result = _result(b"".join(chunks))
    code = os.waitstatus_to_exitcode(status)
    if outcome is None:
        outcome = "timeout" if late else ("done" if code == 0 and result is not None else "crash")
    return {"outcome": outcome, "result": result if outcome == "done" else None,
            "exit_code": code if code >= 0 else None,
            "signal": signal.Signals(-code).name if code < 0 and -code in signal.Signals._value2member_map_ else None,
            "cpu": usage.ru_utime + usage.ru_stime, "wall": time.monotonic() - start}


_LIBC: list = []  # libc, loaded by the first prctl() (in the worker, before any child is forked)


def prctl(option: int, value: int) -> None:
    """prctl(2) through libc, if ctypes can reach it."""
    try:
        if not _LIBC:
            import ctypes

            _LIBC.append(ctypes.CDLL(None, use_errno=True))
        _LIBC[0].prctl(option, value, 0, 0, 0)
    except (ImportError, OSError, AttributeError):
        pass


def main(argv: list) -> None:
    """Set up (NumPy once, no ptrace by the children, a work directory), then serve requests from stdin."""
    site, config = argv[1], json.loads(argv[2])
    if site:
        sys.path.append(site)
    import numpy

    for name in PRELOAD:
        try:
            __import__(name)
        except ImportError:
            pass
    gc.freeze()  # what is loaded now is never scanned by a child's garbage collector (nor copied for it)
    prctl(4, 0)  # PR_SET_DUMPABLE = 0: a child with our uid cannot ptrace us or read our memory
    prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the grader
    import tempfile

    # A private /tmp (bubblewrap) is the work folder itself, so that each run starts with all of it empty: no
    # notebook sees what an earlier one (another student's) left there.
    config["work"] = "/tmp" if config.get("private_tmp") else tempfile.mkdtemp(prefix="hwgen-run-")
    os.chmod(config["work"], 0o1777)
    out = sys.stdout
    out.write(json.dumps({"ready": {"python": sys.version.split()[0], "numpy": numpy.__version__,
                                    "uid": os.getuid(), "work": config["work"]}}) + "\n")
    out.flush()
    cache = collections.OrderedDict()
    try:
        for line in sys.stdin.buffer:
            out.write(json.dumps(supervise(json.loads(line), config, numpy.array, cache)) + "\n")
            out.flush()
    finally:
        clear_dir(config["work"])
        try:
            os.rmdir(config["work"])
        except OSError:
            pass


if __name__ == "__main__":
    main(sys.argv)
