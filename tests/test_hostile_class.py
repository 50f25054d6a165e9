"""A class of honest students and one attacker per mechanism, graded by the installed CLI in a fresh process, as
this user and (run as root) as `nobody`: every honest student keeps their exact full score, each attacker gets at
most what their honest answers earn, the batch finishes, export and feedback work, and nothing stays in /tmp."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import hwgen
from hwgen.grade.simulate import Sim, submit, text

from .grade_support import make_class

ATTACKS = {
    "deep": "import os\nhome = os.getcwd()\nfor top in ('/tmp', home):\n    os.chdir(top)\n    for i in range(2000):\n"
            "        os.mkdir('d')\n        os.chdir('d')\n    os.chmod('.', 0)\nos.chdir('/')",
    "frame": "import sys\nf = sys._getframe(1).f_locals\nf['cell_errors'].append([10**9, 'x'])\nf['sink'].total = 10**400",
    "surrogate": "raise ValueError('\\ud800 \\udfff')",
    "progress": "import os\nfor fd in range(3, 64):\n    try:\n"
                "        os.write(fd, 'cell \u0663\\nvar \u00e9\\n'.encode())\n"
                "    except OSError:\n        pass\nos._exit(1)",
    "proc": "import os\nfor pid in os.listdir('/proc'):\n    for fd in range(64):\n        try:\n"
            "            f = os.open(f'/proc/{pid}/fd/{fd}', os.O_RDWR | os.O_NONBLOCK)\n"
            "            os.write(f, b'{\"outcome\": \"done\"}\\n')\n        except OSError:\n            pass",
    "namespace": "import os\nos.unshare(os.CLONE_NEWUSER | os.CLONE_NEWNS)",
    "sysv": "import ctypes\nlibc = ctypes.CDLL(None)\nid = libc.shmget(0x1234, 2**24, 0o1666)\nassert id != -1",
    "vsock": "import socket\nsocket.socket(40, socket.SOCK_STREAM).bind((0xFFFFFFFF, 1234))",
    "signals": "import os\nfor pid in range(1, 50):\n    try:\n        os.kill(pid, 19)\n    except OSError:\n        pass",
    "fork": "import os\nos.setsid()\nwhile True:\n    os.fork()",
    "tmpfill": "for i in range(100):\n    open(f'/tmp/big{i}', 'wb').write(b'x' * 2**20)",
    "spin": "while True:\n    pass",
}


def _attacker(cell: str):
    """Correct answers, then the attack."""
    def act(sim: Sim) -> str:
        return text(sim.answered(sim.exact(), (cell,)))
    return act


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    roster = []
    for name in ATTACKS:  # an attacker, then an honest student graded after it on the same worker
        roster += [(f"a_{name}", name), (f"h_{name}", "honest")]
    folder, manifest = make_class(tmp_path_factory.mktemp("hostile"), roster)
    for sid, _ in roster:
        submit(folder, manifest, sid, "correct" if sid.startswith("h_") else _attacker(ATTACKS[sid[2:]]))
    return folder, manifest


def _as_nobody() -> list[str]:
    """A command prefix that runs as `nobody`, with this Python, its packages and hwgen made reachable (a folder
    only root may enter, such as /root, is replaced by an empty one with just those bound in it)."""
    needed = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), Path(sys.executable).resolve().parent,
              Path(hwgen.__file__).resolve().parent.parent}
    binds = []
    for path in needed:
        closed = [p for p in reversed(path.parents) if not os.stat(p).st_mode & stat.S_IXOTH]
        if closed:
            binds.append((closed[0], path))
    prefix = []
    if binds:
        prefix = ["bwrap", "--dev-bind", "/", "/"]
        for top in {top for top, _ in binds}:
            prefix += ["--tmpfs", str(top)]
        for top, path in binds:
            for parent in reversed(path.parents):  # bubblewrap would make them 0700
                if top in parent.parents:
                    prefix += ["--perms", "0755", "--dir", str(parent)]
            prefix += ["--ro-bind", str(path), str(path)]
        prefix.append("--")
    return prefix + ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"]


def _tmp_entries() -> set[str]:
    return set(os.listdir(tempfile.gettempdir()))


@pytest.mark.parametrize("who", ["self", "nobody"])
def test_no_attacker_changes_a_classmate_or_escapes(built, tmp_path, who):
    """Graded as this user and as `nobody`."""
    folder, manifest = built
    prefix: list[str] = []
    if who == "nobody":
        if os.geteuid() != 0:
            pytest.skip("the grader already runs unprivileged (the `self` case)")
        if shutil.which("setpriv") is None or shutil.which("bwrap") is None:
            pytest.skip("setpriv or bwrap is missing: cannot switch the grader to nobody")
        prefix = _as_nobody()
    base = tmp_path if who == "self" else Path(tempfile.mkdtemp(prefix="hwgen-hostile-"))  # /tmp/pytest-of-root is 0700
    work = base / "class"
    shutil.copytree(folder, work)
    if who == "nobody":
        for path in [base, work, *work.rglob("*")]:
            os.chown(path, 65534, 65534)
    try:
        _grade_and_check(prefix, base, work, manifest.max_points)
    finally:
        if who == "nobody":
            shutil.rmtree(base)


def _grade_and_check(prefix: list[str], base: Path, work: Path, full: float) -> None:
    before = _tmp_entries()
    own_tmp = base / "tmp"  # the grader's temp folder (at level none the runs' folders): empty at the end
    own_tmp.mkdir()
    os.chown(own_tmp, *(os.stat(work)[4:6]))
    env = dict(os.environ, HOME=str(base), TMPDIR=str(own_tmp))
    grade = subprocess.run([*prefix, sys.executable, "-m", "hwgen", "grade", str(work), "--jobs", "1", "--quiet",
                            "--timeout", "3", "--memory", "256", "--json", str(work / "out.json")],
                           capture_output=True, text=True, env=env, timeout=600)
    assert grade.returncode == 0, grade.stderr[-3000:]
    report = json.loads((work / "out.json").read_text())
    for sid, entry in report.items():
        if sid.startswith("h_"):
            assert entry["score"] == full and entry["flags"] == [], (sid, entry)
        else:
            assert entry["score"] <= full, (sid, entry)
    assert report["a_frame"]["score"] == 0 and "report was not valid" in " ".join(report["a_frame"]["flags"])
    for command in (["export", str(work)], ["feedback", str(work)]):
        done = subprocess.run([*prefix, sys.executable, "-m", "hwgen", *command], capture_output=True, text=True,
                              env=env, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
    assert {n for n in _tmp_entries() - before if n.startswith(("d", "big"))} == set() and not any(own_tmp.iterdir())
