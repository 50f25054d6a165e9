"""Hostile notebooks against the sandbox, one mechanism each: after every attack the same pool grades an honest
notebook exactly, and nothing the attack made is left, at every isolation level this machine has."""

from __future__ import annotations

import ctypes
import os
import socket
import tempfile
from pathlib import Path

import pytest

from hwgen.grade import isolation
from hwgen.grade.sandbox import Limits, Sandbox
from hwgen.grade.worker import clear_dir

FAST = Limits(wall=5.0, cpu=5.0, memory_mb=256, file_mb=1)
LEVELS = [level for level in isolation.LEVELS if isolation.AVAILABLE[level]()]
LANDLOCK = ctypes.CDLL(None).syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1)) >= 1  # the kernel has it
HONEST = (["import numpy as np\nx = np.array([1.5, 2.5])", "y = float(x.sum())"], ["x", "y"])
HONEST_VALUES = {"x": [1.5, 2.5], "y": 4.0}

DEEP = ("import os\nhome = os.getcwd()\nfor top in ('/tmp', home):\n    os.chdir(top)\n    for i in range(3000):\n"
        "        os.mkdir('d')\n        os.chdir('d')\n    open('f', 'w').close()\n    os.chmod('.', 0)\nos.chdir('/')")
WIDE = "import os\nfor i in range(500):\n    open(f'/tmp/f{i}', 'w').close()\nos.symlink('/usr', '/tmp/usr')"
LOOK = "import os\nseen = sorted(os.listdir('/tmp')) + sorted(os.listdir('..')) + sorted(os.listdir('.'))"


def _host_tmp() -> set[str]:
    return set(os.listdir(tempfile.gettempdir()))


@pytest.mark.parametrize("level", LEVELS)
def test_a_deep_or_wide_tree_is_gone_for_the_next_run_and_from_the_host(level):
    before = _host_tmp()
    attack = {"d", "usr"} | {f"f{i}" for i in range(500)}
    try:
        with Sandbox(1, FAST, level=level) as box:
            work = Path(box._all[0].info["work"])
            for cell in (DEEP, WIDE):
                assert box.run([cell], []).cell_errors == {} or level == "none"  # Landlock: not the host's /tmp
                assert box.run(*HONEST).values == HONEST_VALUES
                if level != "none":  # at none the host's /tmp is the run's /tmp
                    assert box.run([LOOK], ["seen"]).values == {"seen": ["run", "run"]}
        assert level != "none" or not work.exists()  # the host folder the runs used is gone
        assert (_host_tmp() - before) & attack == set() or (level == "none" and not LANDLOCK)
    finally:  # level none without Landlock: the attack wrote into the host's /tmp itself (documented); tidy up here
        trash = Path(tempfile.mkdtemp())
        for name in (_host_tmp() - before) & attack:
            os.rename(Path(tempfile.gettempdir(), name), trash / name)
        assert clear_dir(str(trash))
        trash.rmdir()


FORGE = {
    "cell index out of range": "import sys\nsys._getframe(1).f_locals['cell_errors'].append([10**9, 'x'])",
    "huge count": "import sys\nsys._getframe(1).f_locals['sink'].total = 10**400",
    "lone surrogate": "raise ValueError('\\ud800')",
    "report written early": "import os\nfor fd in range(3, 64):\n    try:\n        os.write(fd, b'result {}\\n')\n"
                            "    except OSError:\n        pass",
    "non-ASCII progress": "import os\nfor fd in range(3, 64):\n    try:\n        os.write(fd, 'cell \u0663\\n'.encode())\n"
                          "    except OSError:\n        pass\nos._exit(3)",
    "progress out of range": "import os\nfor fd in range(3, 64):\n    try:\n"
                             "        os.write(fd, b'cell 99999\\nvar zz\\n')\n"
                             "    except OSError:\n        pass\nimport time\nwhile True:\n    pass",
}


@pytest.mark.parametrize("attack", FORGE)
def test_a_forged_report_costs_only_its_own_run(attack):
    with Sandbox(1, Limits(wall=2.0, cpu=2.0, memory_mb=256, file_mb=1), level=LEVELS[0]) as box:
        run = box.run(["a = 1.0", FORGE[attack], "b = 2.0"], ["a", "b"])
        assert box.run(*HONEST).values == HONEST_VALUES
    assert all(0 <= i < 3 for i in run.cell_errors)
    assert all(text.encode("utf-8") for text in [*run.cell_errors.values(), *run.notes, *run.reasons.values()])
    assert run.malformed or run.values in ({"a": 1.0, "b": 2.0}, {}) or attack == "non-ASCII progress"


PROC = """import os
touched = 0
for pid in os.listdir('/proc'):
    if not pid.isdigit() or int(pid) == os.getpid() or TARGETS and int(pid) not in TARGETS:
        continue
    try:
        fds = os.listdir(f'/proc/{pid}/fd')
    except OSError:
        continue
    for fd in fds:
        try:
            f = os.open(f'/proc/{pid}/fd/{fd}', os.O_RDWR | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            os.write(f, b'{"nonce": "x", "outcome": "done", "clean": true}\\n' * 100)
            touched += 1
        except OSError:
            pass
"""


@pytest.mark.parametrize("level", LEVELS)
def test_no_file_of_the_grader_or_the_worker_is_reachable_through_proc(level):
    with Sandbox(1, FAST, level=level) as box:
        # At none the child sees the host's processes: aim at the grader and its worker (others of the same uid,
        # `nobody`, may run on this machine, and are fair game at that level, as the README says).
        targets = [os.getpid(), box._all[0].proc.pid] if level == "none" else []
        run = box.run([f"TARGETS = {targets}", PROC], ["touched"])
        assert box.run(*HONEST).values == HONEST_VALUES
        assert box.run(*HONEST).values == HONEST_VALUES
    assert run.values == {"touched": 0.0}  # only its own /dev/null and sockets, which cannot be opened again


WRITE = ("import os\nwrote = []\nfor path in PATHS:\n    try:\n        with open(path, 'a') as f:\n"
         "            f.write('forged')\n        wrote.append(path)\n    except OSError:\n        pass\n"
         "    for change in (lambda: os.chmod(path, 0), lambda: os.utime(path, (0, 0))):\n        try:\n"
         "            change()\n            wrote.append(path)\n        except OSError:\n            pass")


@pytest.mark.parametrize("level", LEVELS)
def test_no_file_outside_the_run_can_be_changed_or_left(level):
    # A folder anyone may write to, in /var/tmp (outside the private /tmp), holding a file anyone may write and that
    # the child's user owns (as a gradebook is for the user who grades): the child changes neither, nor the
    # file's mode or times, at any level.
    shared = Path(tempfile.mkdtemp(prefix="hwgen-shared-", dir="/var/tmp"))
    try:
        shared.chmod(0o1777)
        victim = shared / "gradebook.db"
        victim.write_text("honest")
        victim.chmod(0o666)
        if os.geteuid() == 0:
            os.chown(victim, isolation.NOBODY, isolation.NOBODY)
        before = victim.stat()
        paths = [str(victim), str(shared / "left-behind")]
        with Sandbox(1, FAST, level=level) as box:
            run = box.run([f"PATHS = {paths}", WRITE], ["wrote"])
            assert box.run(*HONEST).values == HONEST_VALUES
        assert run.values == {"wrote": []} and victim.read_text() == "honest"
        assert (victim.stat().st_mode, victim.stat().st_mtime_ns) == (before.st_mode, before.st_mtime_ns)
        assert sorted(os.listdir(shared)) == ["gradebook.db"]
    finally:
        assert clear_dir(str(shared))
        shared.rmdir()

HOST_SOCKET = """import socket
reached = []
for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
    mine = socket.socket(socket.AF_UNIX, kind)
    for reach in (lambda: mine.connect(PATHS[kind]), lambda: mine.sendto(b'hi', PATHS[kind])):
        try:
            reach()
            reached.append(kind)
        except OSError:
            pass
"""


@pytest.mark.parametrize("level", LEVELS)
def test_no_socket_outside_the_run_can_be_reached(level):
    # A stream and a datagram Unix socket anyone may use, in /var/tmp (a user's D-Bus, Docker or agent socket,
    # say), are out of the child's reach at every level (under unshare the host's files are visible, read-only).
    folder = Path(tempfile.mkdtemp(prefix="hwgen-sockets-", dir="/var/tmp"))
    servers = {}
    try:
        folder.chmod(0o755)
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            servers[kind] = socket.socket(socket.AF_UNIX, kind)
            servers[kind].bind(str(folder / f"s{int(kind)}"))
            os.chmod(folder / f"s{int(kind)}", 0o777)
        servers[socket.SOCK_STREAM].listen()
        paths = {int(kind): str(folder / f"s{int(kind)}") for kind in servers}
        with Sandbox(1, FAST, level=level) as box:
            run = box.run([f"PATHS = {paths}", HOST_SOCKET], ["reached"])
            assert box.run(*HONEST).values == HONEST_VALUES
        assert run.values == {"reached": []}
    finally:
        for server in servers.values():
            server.close()
        assert clear_dir(str(folder))
        folder.rmdir()


LIMITS = {
    "user namespace": "import os\nos.unshare(os.CLONE_NEWUSER)",
    "mount namespace": "import os\nos.unshare(os.CLONE_NEWNS)",
    "clone with a namespace": "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                              "assert libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0) != -1, ctypes.get_errno()",
    "SysV shared memory": "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                          "assert libc.shmget(0, 2**20, 0o1600) != -1",
    "SysV semaphore": "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nassert libc.semget(0, 1, 0o1600) != -1",
    "POSIX message queue": "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                           "assert libc.syscall(240, b'q', 0o100 | 2, 0o600, None) != -1",
    "AF_VSOCK": "import socket\nsocket.socket(40, socket.SOCK_STREAM).bind((0xFFFFFFFF, 1234))",
    "AF_INET": "import socket\nsocket.socket()",
    "AF_NETLINK": "import socket\nsocket.socket(16, socket.SOCK_RAW)",
    "memfd": "import os\nos.memfd_create('m')",
    "keyring": "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
               "assert libc.syscall(248, b'user', b'k', b'v', 1, -4) != -1",
    "ptrace": "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nassert libc.ptrace(16, 1, 0, 0) != -1",
    "signal to the worker": "import os\nos.kill(os.getppid(), 19)",
    "signal to everyone": "import os\nos.kill(-1, 19)",
    "signal through F_SETOWN": "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                               "assert libc.fcntl(0, 8, os.getppid()) != -1, ctypes.get_errno()",
    "signal through FIOSETOWN": "import ctypes, os, socket\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                                "mine = socket.socket(socket.AF_UNIX)\n"
                                "assert libc.ioctl(mine.fileno(), 0x8901, ctypes.byref(ctypes.c_int(os.getppid()))) != -1",
    "exec": "import os\nos.execv('/bin/sh', ['sh', '-c', 'sleep 100'])",
    "fork": "import os\nos.fork()",
    "files past --memory": "for i in range(64):\n    open(f'/tmp/big{i}', 'wb').write(b'x' * 2**20)",
}


@pytest.mark.parametrize("attack", LIMITS)
@pytest.mark.parametrize("level", LEVELS)
def test_limits_hold(level, attack):
    small = Limits(wall=5.0, cpu=5.0, memory_mb=64, file_mb=2)
    with Sandbox(1, small, level=level) as box:
        run = box.run(["a = 1.0", LIMITS[attack], "b = 2.0"], ["a", "b"])
        assert box.run(*HONEST).values == HONEST_VALUES
    if attack == "files past --memory" and level == "none":
        return  # the host's /tmp: no private space to count (documented)
    assert run.values == {"a": 1.0, "b": 2.0} and list(run.cell_errors) == [1], run.cell_errors


def test_a_large_honest_notebook_is_graded():
    cells = [f"v{i} = {i}" for i in range(8000)] + ["total = float(sum(globals()[f'v{i}'] for i in range(8000)))"]
    with Sandbox(1, Limits(wall=30.0, cpu=30.0), level=LEVELS[0]) as box:
        run = box.run(cells, ["total", "v7999"])
    assert run.values == {"total": float(sum(range(8000))), "v7999": 7999.0} and run.cell_errors == {}
