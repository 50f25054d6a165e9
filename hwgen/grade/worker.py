"""The sandbox worker: runs INSIDE the isolation and forks one child per notebook run.

The worker runs from this file's source, handed to `python -I -S -c SOURCE SITE CONFIG`, so it uses only the
standard library and NumPy, and nothing of hwgen (or the class folder) has to be visible inside the sandbox
(hwgen itself imports only `prctl` and `clear_dir` from here). The worker imports NumPy once; each run forks a
child that drops privileges, sets resource limits, installs the seccomp filter (hwgen/grade/seccomp.py), runs the
notebook's code cells in order in an empty directory, and converts the expected variables to plain JSON (numbers,
nested lists, or a reason why not). The answers never enter the sandbox: every check runs in the trusted grader
process on what comes back.

Channels. The grader and the worker share one Unix socket that only they hold (fd config["channel"]; a socket,
unlike a pipe, cannot be opened again through /proc/<pid>/fd). For each run the grader makes three socket pairs and
sends the worker one line of JSON, {"nonce", "wall"}, with one end of each (SCM_RIGHTS): the child's request
(read), its report (write) and its progress (write). The worker forks the child with them and closes its own
copies: it never reads a student's code or report, so what it holds when it forks the next child is what it held
before the first, and no run can find another student's code in its memory. Before any run, the grader may send
{"trusted": [source]}: the instructor's cells every notebook holds unchanged (hwgen/grade/trusted.py), which the
worker compiles once (a child uses that code for a cell whose source is exactly one of them) and answers
{"trusted": true}. The worker's reply to a run, after the child has ended and the work folder is cleaned: {"nonce",
"outcome": "done"|"timeout"|"crash"|"setup", "signal", "exit_code", "cpu", "wall", "clean"}. Request (grader ->
child): {"cells": [str], "names": [str], "skip": [int], "skip_names": [str], "limits": {...}}. Report (child ->
grader): "result JSON". Progress (child -> grader): "cell N" / "var NAME" before each cell and each variable, so
the grader knows where a run stopped, read while the run goes on.
"""

import builtins
import errno
import gc
import json
import os
import resource
import select
import signal
import struct
import sys
import time
import types
from typing import cast

PRELOAD = ("math", "cmath", "random", "statistics", "fractions", "decimal", "itertools", "functools",
           "collections", "copy", "re", "string", "operator", "numpy.linalg", "numpy.random")
MAX_ENTRIES = 100_000  # numbers in one answer; far more than any answer of the bank needs
MAX_DEPTH = 6  # nesting of lists in one answer
TEXT_CAP = 200  # characters of a string answer or an error message that are kept
CLEAN_SECONDS = 5.0  # to empty the work folder after a run; a worker that cannot is replaced
PR_SET_SECUREBITS, SECBIT_NOROOT_LOCKED, CAPABILITY_VERSION_3 = 28, 0x3, 0x20080522
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
MS_RDONLY, MS_NOSUID, MS_NODEV = 1, 2, 4
MOUNT_SETATTR, AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_RDONLY = 442, -100, 0x8000, 1
LANDLOCK_CREATE_RULESET, LANDLOCK_ADD_RULE, LANDLOCK_RESTRICT_SELF, LANDLOCK_RULE_PATH_BENEATH = 444, 445, 446, 1
LANDLOCK_WRITES = {1: 0x1FF2, 2: 0x3FF2, 3: 0x7FF2}  # the rights to change files of Landlock ABI 1, 2 (refer), 3 (truncate)
LANDLOCK_FILE_WRITES = 0x4002  # write, truncate: the rights a rule on a single file (/dev/null) may grant
LANDLOCK_SCOPES = 0x3  # ABI 6: no abstract Unix socket and no signal outside the run's own domain


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
    if _isinstance(exc, SyntaxError):
        syntax = cast(SyntaxError, exc)  # mypy narrows only through the name `isinstance`, not its saved copy
        if syntax.filename == filename:
            line = syntax.lineno
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
    """CPU time, address space (the run's memory less what its private /tmp may hold), no new processes, file
    size, open files, no core dumps."""
    cpu = int(limits["cpu"]) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    base = 0
    try:
        with open("/proc/self/statm") as f:
            base = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        base = 1 << 30
    memory = base + (int(limits["memory_mb"]) - int(limits["tmp_mb"])) * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    size = int(limits["file_mb"]) * 2**20
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def clear_dir(path: str, seconds: float = float("inf")) -> bool:
    """Remove everything below `path`, without recursion and without long paths, however deep or wide the tree:
    each folder's entries are moved up into `path` itself, then the emptied folder is removed (folders made
    unreadable are opened up first; links are removed, never followed). True if `path` is empty afterwards;
    False if it is not, or if `seconds` ran out first."""
    stop = time.monotonic() + seconds
    top = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    moved = 0
    try:
        while True:
            names = os.listdir(top)
            if not names:
                return True
            if time.monotonic() > stop:
                return False
            before = moved
            for name in names:
                try:
                    os.unlink(name, dir_fd=top)
                except IsADirectoryError:
                    try:
                        os.rmdir(name, dir_fd=top)
                    except OSError:
                        moved = _move_up(top, name, moved)
                except OSError:
                    pass
            if moved == before and sorted(os.listdir(top)) == sorted(names):
                return False  # nothing could be removed or moved: what is left stays
    finally:
        os.close(top)


def _move_up(top: int, name: str, moved: int) -> int:
    """Move the entries of the folder `name` (in `top`) into `top` under fresh names; the count of names used."""
    try:
        os.chmod(name, 0o700, dir_fd=top)  # a folder (checked), and nothing runs that could swap it for a link
        sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=top)
    except OSError:
        return moved
    try:
        for entry in os.listdir(sub):
            for _ in range(100):
                moved += 1
                try:
                    os.rename(entry, f".hwgen-{moved}", src_dir_fd=sub, dst_dir_fd=top)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.EISDIR, errno.ENOTDIR):
                        break
    except OSError:
        pass
    finally:
        os.close(sub)
    return moved


def _drop(config: dict) -> None:
    """Become the user student code runs as: `nobody` when the worker is root (so that RLIMIT_NPROC applies), and
    without any capability when the worker is root only in its own user namespace (unshare as a normal user)."""
    if config.get("drop_to") is not None:
        uid = config["drop_to"]
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    elif os.getuid() == 0:
        libc, uint32 = _NATIVE["libc"], _NATIVE["ctypes"].c_uint32
        libc.prctl(PR_SET_SECUREBITS, SECBIT_NOROOT_LOCKED, 0, 0, 0)  # no capabilities back on any exec
        if libc.capset((uint32 * 2)(CAPABILITY_VERSION_3, 0), (uint32 * 6)()) != 0:
            raise OSError("the capabilities could not be dropped")


def _confine(config: dict) -> None:
    """No new privileges, then Landlock where the worker has no private file system (level none) and the kernel has
    it, then the seccomp filter (hwgen/grade/seccomp.py), if this machine has one."""
    if "libc" not in _NATIVE:
        return
    libc = _NATIVE["libc"]
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError("no_new_privs could not be set")
    if not config.get("private_tmp"):
        _landlock(config["work"])
    if "filter" in _NATIVE and libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, _NATIVE["filter"], 0, 0) != 0:
        raise OSError("the seccomp filter could not be installed")


def _landlock(work: str) -> None:
    """Landlock (Linux 5.13 and later, where it is enabled): the child changes files only below the work folder
    (and writes /dev/null), cannot reach into any process outside its own domain (/proc/<pid>/fd, mem, environ of
    the grader or anyone else of its uid) and, from ABI 6, cannot connect to an abstract Unix socket outside it.
    (bubblewrap and unshare need none of this: their mounts are read-only but for /tmp, their /proc their own.)"""
    libc, ctypes = _NATIVE["libc"], _NATIVE["ctypes"]
    abi = libc.syscall(LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    if abi < 1:
        return
    handled = LANDLOCK_WRITES[min(abi, 3)]
    attr = ctypes.create_string_buffer(struct.pack("=QQQ", handled, 0, LANDLOCK_SCOPES if abi >= 6 else 0))
    ruleset = libc.syscall(LANDLOCK_CREATE_RULESET, attr, ctypes.c_size_t(24 if abi >= 6 else 8), ctypes.c_uint32(0))
    if ruleset < 0:
        raise OSError("the Landlock ruleset could not be made")
    try:
        for path, rights in ((work, handled), (os.devnull, handled & LANDLOCK_FILE_WRITES)):
            target = os.open(path, os.O_PATH | os.O_CLOEXEC)
            rule = ctypes.create_string_buffer(struct.pack("=Qi", rights, target))
            added = libc.syscall(LANDLOCK_ADD_RULE, ruleset, LANDLOCK_RULE_PATH_BENEATH, rule, ctypes.c_uint32(0))
            os.close(target)
            if added != 0:
                raise OSError(f"a Landlock rule for {path} could not be added")
        if libc.syscall(LANDLOCK_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)) != 0:
            raise OSError("the Landlock rules could not be applied")
    finally:
        os.close(ruleset)


def child(req_fd: int, report: int, progress: int, ready: int, config: dict, np_array) -> None:
    """In the forked child: read the request, drop privileges, limit, confine, say so on `ready`, run the cells,
    report values on `report`. Never returns."""
    os.setpgid(0, 0)
    _drop(config)
    prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (after the uid change, which clears it): die with the worker
    home = os.path.join(config["work"], "run")
    os.mkdir(home, 0o700)
    os.chdir(home)
    null = os.open(os.devnull, os.O_RDWR)
    for target in (0, 1, 2):
        os.dup2(null, target)
    edges = [2, *sorted((req_fd, report, progress, ready)), 1 << 16]
    for low, high in zip(edges, edges[1:]):
        os.closerange(low + 1, high)
    chunks = []
    while True:
        chunk = _read(req_fd, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(req_fd)
    req = json.loads(b"".join(chunks))
    del chunks
    os.environ.update(HOME=home, TMPDIR=home)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write raises OSError instead of killing
    _set_limits(req["limits"])
    _confine(config)
    _emit(ready, b"1")
    os.close(ready)
    sink = _Sink()
    sys.stdout = sys.stderr = sink
    sys.stdin = None
    main_module = types.ModuleType("__main__")  # the notebook's own __main__, as in a kernel
    ns = main_module.__dict__
    ns["display"] = _display
    sys.modules["__main__"] = main_module
    skip = set(req.get("skip", ()))
    cell_errors = []
    for i, source in enumerate(req["cells"]):
        if i in skip:
            continue
        _emit(progress, b"cell %d\n" % i)
        filename = f"<cell {i + 1}>"
        error = None
        try:
            code = _TRUSTED.get(source)
            _exec(_compile(source, filename, "exec") if code is None else _renamed(code, filename), ns)
        except _BaseException as exc:  # an error in one cell does not stop the next
            error = exc
        _restore()
        if error is not None:
            cell_errors.append([i, describe(error, filename)])
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
    _emit(report, b"result " + _dumps(result).encode() + b"\n")
    _exit(0)


def _renamed(code, filename: str):
    """A code object compiled by the worker, as if compiled from `filename` (its functions' and comprehensions'
    code too), so that an error in it names the cell it is in."""
    consts = tuple(_renamed(c, filename) if _type(c) is types.CodeType else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


def _trust(sources: list) -> bool:
    """Compile the instructor's cells the grader sent (hwgen/grade/trusted.py: the same in every notebook, never a
    student's), once, for every child to come; one that does not compile is left to the children. True."""
    for source in sources:
        if _isinstance(source, _str) and source not in _TRUSTED:
            try:
                _TRUSTED[source] = compile(source, "<trusted>", "exec")
            except (SyntaxError, ValueError, MemoryError, RecursionError):
                pass
    gc.freeze()
    return True


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


def _clean(config: dict) -> bool:
    """Empty the work folder after a run (as the user the run had, in a forked process, within CLEAN_SECONDS);
    whether it is empty. Usually only the run's empty folder is there, removed at once."""
    work = config["work"]
    try:
        if os.listdir(work) == ["run"]:
            os.rmdir(os.path.join(work, "run"))
            return True
    except OSError:
        pass
    pid = os.fork()
    if pid == 0:
        try:
            _drop(config)
            _exit(0 if clear_dir(work, CLEAN_SECONDS) else 1)
        finally:
            _exit(1)
    _wait(pid, time.monotonic() + CLEAN_SECONDS + 1)
    try:
        return os.listdir(work) == []
    except OSError:
        return False


def supervise(header: dict, fds: list[int], config: dict, np_array) -> dict:
    """Fork a child for one run with the request, report and progress sockets the grader sent; wait for it within
    the wall-time limit; clean up after it; report how it ended. The worker never reads the request or the report."""
    ready_r, ready_w = os.pipe()
    start = time.monotonic()
    deadline = start + float(header["wall"])
    pid = os.fork()
    if pid == 0:
        try:
            os.close(ready_r)
            request, report, progress = fds
            child(request, report, progress, ready_w, config, np_array)
        finally:
            _exit(70)
    for fd in (*fds, ready_w):
        os.close(fd)
    status, usage, late = _wait(pid, deadline)
    set_up = os.read(ready_r, 1) == b"1"
    os.close(ready_r)
    code = os.waitstatus_to_exitcode(status)
    outcome = "timeout" if late else ("done" if code == 0 else "crash")
    return {"nonce": header["nonce"], "outcome": outcome if set_up else "setup", "exit_code": code if code >= 0 else None,
            "signal": signal.Signals(-code).name if code < 0 and -code in signal.Signals._value2member_map_ else None,
            "cpu": usage.ru_utime + usage.ru_stime, "wall": time.monotonic() - start, "clean": _clean(config)}


_NATIVE: dict = {}  # libc, ctypes and the seccomp program, loaded by the worker before any child is forked
_TRUSTED: dict = {}  # source -> code of the instructor's cells every notebook holds (_trust), compiled by the worker


def prctl(option: int, value: int) -> None:
    """prctl(2) through libc, if ctypes can reach it."""
    try:
        if "libc" not in _NATIVE:
            import ctypes

            _NATIVE.update(libc=ctypes.CDLL(None, use_errno=True), ctypes=ctypes)
        _NATIVE["libc"].prctl(option, value, 0, 0, 0)
    except (ImportError, OSError, AttributeError):
        pass


def _prepare_filter(program: bytes) -> None:
    """The struct sock_fprog for prctl(PR_SET_SECCOMP), kept alive for the children."""
    ctypes = _NATIVE["ctypes"]

    Fprog = type("Fprog", (ctypes.Structure,), {"_fields_": [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]})

    buffer = ctypes.create_string_buffer(program, len(program))
    _NATIVE.update(buffer=buffer, filter=ctypes.byref(Fprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_char_p))))


def _private_tmp(config: dict) -> None:
    """unshare: the worker is root in its own mount namespace; every mount it sees made read-only (Linux 5.12 and
    later: mount_setattr), then a private tmpfs on /tmp and a read-only one on /dev/shm."""
    ctypes = _NATIVE["ctypes"]
    attr = ctypes.create_string_buffer(struct.pack("=QQQQ", MOUNT_ATTR_RDONLY, 0, 0, 0))
    if _NATIVE["libc"].syscall(MOUNT_SETATTR, AT_FDCWD, b"/", ctypes.c_uint(AT_RECURSIVE), attr, ctypes.c_size_t(32)) != 0:
        raise OSError("cannot make the host's files read-only (mount_setattr needs Linux 5.12)")
    for target, options, flags in (("/tmp", f"size={int(config['tmp_mb'])}m,mode=1777", MS_NOSUID | MS_NODEV),
                                   ("/dev/shm", "size=4k,mode=0555", MS_NOSUID | MS_NODEV | MS_RDONLY)):
        if _NATIVE["libc"].mount(b"tmpfs", target.encode(), b"tmpfs", flags, options.encode()) != 0:
            raise OSError(f"cannot mount a private tmpfs on {target}")


def _probe(config: dict) -> bool:
    """Whether a child can drop its privileges and install the filter (a forked process tries)."""
    pid = os.fork()
    if pid == 0:
        try:
            _drop(config)
            _confine(config)
            _exit(0)
        finally:
            _exit(1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def _recv(channel, buffer: bytes) -> tuple:
    """One request from the grader: (header, file descriptors, rest); (None, [], b"") at the end."""
    import socket

    fds = []
    while b"\n" not in buffer:
        data, got, _, _ = socket.recv_fds(channel, 1 << 16, 8)
        fds += got
        if not data:
            return None, fds, b""
        buffer += data
    line, buffer = buffer.split(b"\n", 1)
    return json.loads(line), fds, buffer


def main(argv: list) -> None:
    """Set up (NumPy once, no ptrace of the worker, the filter, a private /tmp), then serve requests."""
    import socket

    site, config = argv[1], json.loads(argv[2])
    if site:
        sys.path.append(site)
    import numpy

    for name in PRELOAD:
        try:
            __import__(name)
        except ImportError:
            pass
    prctl(4, 0)  # PR_SET_DUMPABLE = 0: no process of our uid can ptrace us, read our memory or open /proc/<us>/fd
    prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the grader
    if config.get("seccomp") and "libc" in _NATIVE:
        _prepare_filter(bytes.fromhex(config["seccomp"]))
    if config.get("mount_tmp"):
        _private_tmp(config)
    import tempfile

    # A private /tmp (bubblewrap, unshare) is the work folder itself, so that each run starts with all of it empty.
    config["work"] = "/tmp" if config.get("private_tmp") else tempfile.mkdtemp(prefix="hwgen-run-")
    os.chmod(config["work"], 0o1777)
    channel = socket.socket(fileno=config["channel"])
    seccomp = "filter" in _NATIVE and _probe(config)
    gc.freeze()  # what is loaded now is never scanned by a child's garbage collector (nor copied for it)
    channel.sendall(json.dumps({"ready": {"python": sys.version.split()[0], "numpy": numpy.__version__,
                                          "uid": os.getuid(), "work": config["work"], "seccomp": seccomp}}).encode()
                    + b"\n")
    buffer = b""
    try:
        while True:
            header, fds, buffer = _recv(channel, buffer)
            if header is None:
                break
            if len(fds) != 3:
                for fd in fds:
                    os.close(fd)
                reply = {"trusted": _trust(header["trusted"])} if "trusted" in header else {"nonce": header.get("nonce")}
            else:
                reply = supervise(header, fds, config, numpy.array)
            channel.sendall(json.dumps(reply).encode() + b"\n")
    finally:
        if not config.get("private_tmp"):
            clear_dir(config["work"])
            try:
                os.rmdir(config["work"])
            except OSError:
                pass


if __name__ == "__main__":
    main(sys.argv)
