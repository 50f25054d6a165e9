"""How a sandbox worker is started: bubblewrap, else unshare, else a plain process; limits always.

Every level runs the worker as `python -I -S -c <worker.py source>`; the levels differ in what wraps it:

- bwrap: bubblewrap, new mount, pid, network, IPC and UTS namespaces (and a user namespace unless root).
  Student code sees read-only /usr, the Python installation and NumPy's site-packages, an empty private
  /tmp, no network.
- unshare: util-linux unshare, new mount, pid, network, IPC and UTS namespaces. Student code sees every file
  your user (or, run as root, `nobody`) can read, all read-only but its private /tmp; no network.
- none: no wrapper. Student code sees every file your user (or `nobody`) can read; where the kernel has Landlock
  (hwgen/grade/worker.py) it can write only below its own work folder and cannot look into other processes.

At every level each notebook runs in a forked child with CPU-time, address-space, file-size and
open-file limits, no new processes (RLIMIT_NPROC 0; run as root the child first becomes `nobody`,
since the kernel exempts root from that limit), an empty working directory and a wall-time limit.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

NOBODY = 65534
LEVELS = ("bwrap", "unshare", "none")
ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
       "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
TMP = Path("/tmp")
PLACED = Path("/run/hwgen")  # where bubblewrap shows a Python installation that lives below /tmp

DESCRIPTION = {
    "bwrap": "bubblewrap: no network, read-only system files, class folder, manifest, gradebook and other "
             "submissions not visible, private /tmp",
    "unshare": "unshare: no network, own process namespace, host files read-only, but student code can read "
               "every file the grading user can read (install bubblewrap to hide them)",
    "none": "plain processes: resource limits, seccomp and Landlock where the kernel has it; student code can "
            "read every file the grading user can read (install bubblewrap for real isolation)",
}


@dataclass(frozen=True)
class Python:
    """The interpreter the workers run and the directory that holds NumPy."""

    executable: str
    prefix: str
    site: str

    @classmethod
    def current(cls) -> Python:
        """This interpreter (resolved through venv symlinks) and the site-packages NumPy was imported from."""
        import numpy

        return cls(os.path.realpath(sys.executable), os.path.realpath(sys.base_prefix),
                   str(Path(numpy.__file__).resolve().parent.parent))


def worker_source() -> str:
    """The source of hwgen/grade/worker.py, run with -c so no hwgen file has to be visible in the sandbox."""
    return (Path(__file__).with_name("worker.py")).read_text(encoding="utf-8")


def _inside(path: Path, parent: Path) -> bool:
    """Whether `path` is `parent` or below it."""
    return path == parent or parent in path.parents


def placed(path: str | Path) -> Path:
    """Where bubblewrap shows `path`: the same place, unless it lies below /tmp (the run's writable space, which
    must start empty), then below PLACED."""
    path = Path(path)
    return PLACED / path.relative_to("/") if _inside(path, TMP) else path


def _bwrap(py: Python, hidden: Sequence[Path], tmp_mb: int) -> list[str]:
    """bubblewrap with only the system libraries, the interpreter and NumPy bound read-only; the worker is the
    sandbox's pid 1 (no bubblewrap process inside that holds the worker's files)."""
    root = os.geteuid() == 0
    args = [shutil.which("bwrap") or "bwrap", "--die-with-parent", "--new-session", "--clearenv", "--as-pid-1"]
    # Root keeps the initial user namespace so that the child can become `nobody` (RLIMIT_NPROC then
    # applies); bubblewrap drops every capability except the two the child needs to do so.
    args += (["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
              "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"] if root else ["--unshare-all"])
    wanted = [Path(p) for p in ("/usr", "/etc/ld.so.cache", py.prefix, py.site, py.executable)]
    for top in ("/bin", "/lib", "/lib64", "/lib32", "/sbin"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            wanted.append(Path(top))
    wanted = [p for p in dict.fromkeys(wanted) if p.exists()]
    binds = [p for p in wanted if not any(b != p and _inside(p, b) for b in wanted)]
    args += ["--perms", "1777", "--size", str(tmp_mb * 2**20), "--tmpfs", "/tmp"]
    made = {TMP}
    for path in binds:
        for parent in reversed(placed(path).parents[:-1]):  # parents readable also for `nobody`
            if parent not in made:
                args += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        args += ["--ro-bind", str(path), str(placed(path))]
    args += ["--proc", "/proc", "--dev", "/dev", "--remount-ro", "/dev"]  # so /dev/shm holds nothing
    for path in hidden:  # a class folder that happens to lie below a bound directory stays hidden
        if any(_inside(path, b) for b in binds) and not any(_inside(b, path) for b in binds):
            args += ["--tmpfs", str(placed(path))]
    for key, value in ENV.items():
        args += ["--setenv", key, value]
    return args + ["--chdir", "/tmp", "--"]


def _unshare(py: Python, hidden: Sequence[Path], tmp_mb: int) -> list[str]:
    """util-linux unshare: own mount, network, pid, IPC and UTS namespaces; as a normal user also a user namespace
    in which the worker is root, so that it can mount the private /tmp (its children give up every capability)."""
    user = [] if os.geteuid() == 0 else ["--map-root-user"]
    return [shutil.which("unshare") or "unshare", *user, "--fork", "--pid", "--kill-child", "--mount-proc",
            "--net", "--ipc", "--uts", "--"]


def _none(py: Python, hidden: Sequence[Path], tmp_mb: int) -> list[str]:
    """No wrapper."""
    return []


WRAPPERS: dict[str, Callable[[Python, Sequence[Path], int], list[str]]] = {
    "bwrap": _bwrap, "unshare": _unshare, "none": _none}
AVAILABLE: dict[str, Callable[[], bool]] = {
    "bwrap": lambda: shutil.which("bwrap") is not None,
    "unshare": lambda: shutil.which("unshare") is not None,
    "none": lambda: True,
}


def command(level: str, py: Python, hidden: Sequence[str | Path], tmp_mb: int) -> list[str]:
    """The command line of one worker at `level`, but for its last argument (the worker's JSON config)."""
    where = placed if level == "bwrap" else Path
    return [*WRAPPERS[level](py, [Path(h).resolve() for h in hidden], tmp_mb),
            str(where(py.executable)), "-I", "-S", "-c", worker_source(), str(where(py.site))]


def environment(level: str) -> dict[str, str]:
    """The worker's environment (bubblewrap sets its own from ENV)."""
    return dict(ENV) if level != "bwrap" else {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
