"""The sandbox on its own: what bubblewrap hides, the limits at every isolation level, the fallback,
and the trusted side's checks of whatever comes back."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from hwgen.grade import isolation
from hwgen.grade.sandbox import Limits, Run, Sandbox, _accept
from hwgen.grade.submission import locate, strip_magics

FAST = Limits(wall=2.0, cpu=2.0, memory_mb=256, file_mb=1)
needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

PROBE = """
import os, resource
seen_root = sorted(os.listdir('/'))
seen_secret = os.path.exists(SECRET)
processes = len([p for p in os.listdir('/proc') if p.isdigit()])
interfaces = sorted(line.split(':')[0].strip() for line in open('/proc/net/dev').readlines()[2:])
uid = os.getuid()
limits = [resource.getrlimit(r)[0] for r in (resource.RLIMIT_NPROC, resource.RLIMIT_FSIZE, resource.RLIMIT_NOFILE)]
cwd_empty = os.listdir('.') == []
"""


@needs_bwrap
def test_bubblewrap_shows_only_what_python_needs(tmp_path):
    secret = tmp_path / "class" / "manifest.json"
    secret.parent.mkdir()
    secret.write_text("{}")
    with Sandbox(1, FAST, hidden=[secret.parent], level="bwrap") as box:
        run = box.run([f"SECRET = {str(secret)!r}", PROBE],
                      ["seen_root", "seen_secret", "processes", "interfaces", "uid", "limits", "cwd_empty"])
    v = run.values
    assert run.cell_errors == {} and v["seen_secret"] is False and v["cwd_empty"] is True
    py = isolation.Python.current()
    python_tops = {isolation.placed(p).parts[1] for p in (py.prefix, py.site, py.executable)}  # wherever it lives
    assert set(v["seen_root"]) <= {"bin", "dev", "etc", "lib", "lib32", "lib64", "proc", "sbin", "tmp", "usr"} | python_tops
    assert v["interfaces"] == ["lo"] and v["processes"] <= 4  # own pid namespace: bwrap, worker, child
    assert v["limits"] == [0.0, float(FAST.file_mb * 2**20), 64.0]
    if os.geteuid() == 0:
        assert v["uid"] == 65534.0  # root's children run as nobody, so that RLIMIT_NPROC applies


@needs_bwrap
def test_each_notebook_starts_with_an_empty_tmp_and_folder():
    """Files one notebook leaves in /tmp or its folder (even unreadable or behind a link) are gone for the next,
    another student's, run on the same worker."""
    leave = ("import os\nopen('/tmp/note', 'w').write('A')\nos.makedirs('/tmp/d/e')\nopen('/tmp/d/e/f', 'w').close()\n"
             "os.chmod('/tmp/d', 0)\nos.symlink('/usr', '/tmp/link')\nopen('../mine', 'w').close()")
    look = "import os\nseen = sorted(os.listdir('/tmp')) + sorted(os.listdir('..')) + sorted(os.listdir('.'))"
    with Sandbox(1, FAST, level="bwrap") as box:
        assert box.run([leave], []).cell_errors == {}
        assert box.run([look], ["seen"]).values == {"seen": ["run", "run"]}


@pytest.mark.parametrize("level", [lvl for lvl in ("unshare", "none") if isolation.AVAILABLE[lvl]()])
def test_fallback_levels_keep_the_limits(level):
    cells = ["x = 1.5", "import os\nos.fork()", "b = bytearray(10**9)", "open('f', 'wb').write(b'x' * 2**21)",
             "import os\nos._exit(3)", "import sys\nsys.exit()", "y = [[1, 2], [3, 4]]"]
    with Sandbox(1, FAST, level=level) as box:
        assert box.level == level
        run = box.run(cells, ["x", "y", "b"])
        work = Path(box._all[0].info["work"])
        assert work.is_dir() and (work == Path("/tmp")) == (level == "unshare")  # unshare: a private /tmp
    assert level == "unshare" or not work.exists()  # the host folder the workers ran in is removed with them
    assert run.values == {"x": 1.5, "y": [[1.0, 2.0], [3.0, 4.0]]}
    assert "BlockingIOError" in run.cell_errors[1] and "MemoryError" in run.cell_errors[2]
    assert "File too large" in run.cell_errors[3] and "exit status 3" in run.cell_errors[4]
    assert "sys.exit" in run.cell_errors[5] and run.attempts == 2


def test_auto_falls_back_when_bubblewrap_fails(monkeypatch):
    monkeypatch.setitem(isolation.WRAPPERS, "bwrap", lambda py, hidden, tmp_mb: ["false", "--"])
    monkeypatch.setitem(isolation.AVAILABLE, "bwrap", lambda: True)
    with Sandbox(1, FAST) as box:
        assert box.level in ("unshare", "none") and box.fallbacks[0].startswith("bwrap:")
        assert "WARNING" not in box.describe() and box.level in box.describe()
        assert box.run(["z = 2"], ["z"]).values == {"z": 2.0}


def _report(fields: dict) -> bytes:
    return b"result " + json.dumps(fields).encode() + b"\n"


HONEST = {"values": {"d": [1.0, 2.0], "e": 1.0}, "reasons": {"f": "undefined because reasons"}, "cell_errors": [[0, "boom"]],
          "output_chars": 10**9}


def test_the_trusted_side_checks_every_value_of_a_report():
    forged = HONEST | {"values": {"a": {"evil": 1}, "b": [[[[[[[[[[1.0]]]]]]]]]], "c": "x" * 5000, "d": [1.0, 2],
                                  "e": 10**400 // 10**399, "h": [10**400], "i": "\ud800", "not_asked": 3.0},
                       "reasons": {"f": "undefined because \x1b[2Jreasons", "g": 7}, "cell_errors": [[0, "bo\u202eom"]]}
    run = Run()
    _accept(run, _report(forged), ["a", "b", "c", "d", "e", "f", "g", "h", "i"], 2)
    assert run.values == {"d": [1.0, 2.0], "e": 10.0, "i": "\ufffd"} and type(run.values["d"][1]) is float
    assert set(run.reasons) == {"a", "b", "c", "f", "h"} and "nested" in run.reasons["b"] and "too large" in run.reasons["h"]
    assert run.reasons["f"] == "undefined because \\x1b[2Jreasons"  # as text, as safetext.clean shows it everywhere
    assert run.cell_errors == {0: "bo\\u202eom"} and "1000 million characters" in run.notes[0] and not run.malformed


@pytest.mark.parametrize("report", [
    b"[" * 100_000, b"result " + b"[" * 100_000 + b"\n", _report(HONEST)[:-1], _report(HONEST) + b"extra",
    _report(HONEST).replace(b"boom", b"\xff\xfe"), _report(HONEST).replace(b"10000", b"1" + b"0" * 5000),
    _report(HONEST | {"cell_errors": [[2, "out of range"]]}), _report(HONEST | {"cell_errors": [[-1, "x"]]}),
    _report(HONEST | {"cell_errors": [[True, "x"]]}), _report(HONEST | {"cell_errors": [["0", "x"]]}),
    _report(HONEST | {"cell_errors": [[0, 1]]}), _report(HONEST | {"cell_errors": {"0": "x"}}),
    _report(HONEST).replace(b"1000000000", b"1" + b"0" * 400), _report(HONEST | {"output_chars": -1}),
    _report(HONEST | {"output_chars": 1.5}), _report(HONEST | {"values": []}), _report(HONEST | {"reasons": "x"}),
    _report(HONEST | {"extra": 1}), _report([1, 2]), b"", b"result \n",
])
def test_a_report_not_shaped_as_an_honest_one_makes_the_run_malformed(report):
    run = Run()
    _accept(run, report, ["d", "e"], 2)
    assert run.malformed and run.values == {} and "could not be read" in run.reasons["d"]
    assert "report was not valid" in run.notes[0]
    _accept(honest := Run(), _report(HONEST), ["d", "e"], 2)
    assert honest.values == {"d": [1.0, 2.0], "e": 1.0} and not honest.malformed


def test_magics_become_harmless():
    assert strip_magics("%%time\nx = 1") == ""
    assert strip_magics("%matplotlib inline\nx = 1\n  !ls\ny = 2") == "pass\nx = 1\n  pass\ny = 2"
    assert strip_magics("x = 5 % 3") == "x = 5 % 3"


def test_locate_is_tolerant_about_names(tmp_path):
    student = tmp_path / "submitted" / "s1"
    (student / "hw").mkdir(parents=True)
    assert locate(student, "hw") == (None, [])
    (student / "hw" / "Copy of hw.ipynb").write_text("{}")
    path, notes = locate(student, "hw")
    assert path.name == "Copy of hw.ipynb" and "the expected file is submitted/s1/hw/hw.ipynb" in notes[0]
    (student / "hw" / "hw.ipynb").write_text("{}")
    assert locate(student, "hw") == (student / "hw" / "hw.ipynb", [])


def test_a_python_below_tmp_is_shown_outside_the_private_tmp(tmp_path):
    site = tmp_path / "venv" / "lib" / "site-packages"
    site.mkdir(parents=True)
    py = isolation.Python(str(tmp_path / "venv" / "python"), str(tmp_path / "venv"), str(site))
    args = isolation.command("bwrap", py, [tmp_path / "class"], 16)
    shown = isolation.PLACED / str(tmp_path / "venv").lstrip("/")
    assert args[args.index(str(tmp_path / "venv")) + 1] == str(shown)  # --ro-bind SOURCE DEST
    assert args[-1] == str(shown / "lib" / "site-packages") and str(shown / "python") in args
    assert not any(a.startswith("/tmp/") for a in args[args.index("--ro-bind"):] if a != str(tmp_path / "venv"))
    assert str(tmp_path / "class") not in args  # not below a bound folder, so simply never bound


def test_a_cell_cannot_signal_its_worker(monkeypatch):
    # Run as a normal user, a child has the worker's uid; here (maybe root) the child is made to keep the worker's
    # uid too. The seccomp filter refuses every signal to another process.
    import hwgen.grade.sandbox as sandbox

    monkeypatch.setattr(sandbox, "NOBODY", None)
    cells = ["x = 1.0", "import os\nos.kill(os.getppid(), 9)", "y = 2.0", "import os, signal\nos.kill(-1, signal.SIGKILL)",
             "z = 3.0"]
    with Sandbox(1, FAST) as box:
        run = box.run(cells, ["x", "y", "z"])
        first = box._all[0]
        assert box.run(["a = 5"], ["a"]).values == {"a": 5.0} and box._all == [first]  # the same worker
    assert run.values == {"x": 1.0, "y": 2.0, "z": 3.0} and run.attempts == 1
    assert set(run.cell_errors) == {1, 3} and "PermissionError" in run.cell_errors[1]


def test_a_lost_worker_costs_only_the_cell_it_was_running(monkeypatch):
    import hwgen.grade.sandbox as sandbox

    cells = ["x = 1.0", "import time\ntime.sleep(30)", "y = 2.0"]
    with Sandbox(1, Limits(wall=30.0, cpu=30.0, memory_mb=256, file_mb=1)) as box:
        worker = box._all[0]
        threading.Timer(1.0, lambda: os.killpg(worker.proc.pid, 9)).start()
        run = box.run(cells, ["x", "y"])
        assert worker not in box._all and box.run(["a = 5"], ["a"]).values == {"a": 5.0}
    assert run.values == {"x": 1.0, "y": 2.0} and set(run.cell_errors) == {1} and run.attempts == 2
    assert "stopped the grading process" in run.cell_errors[1] and sandbox.MAX_ATTEMPTS > 2


TRUSTED = "a = 1\nb = [1 / k for k in (1, 0)]\n"  # raises in a comprehension (its own code object) on line 2


def test_the_instructors_cells_are_compiled_once_by_the_worker_and_behave_as_the_childs_own():
    """A cell exactly as the grader handed it to the worker runs from the worker's code object, wherever it sits in
    the notebook: its errors name that cell and line; a cell that differs by one character is compiled as usual."""
    peek = "import sys\nknown = sorted(sys._getframe(1).f_globals['_TRUSTED'])"  # the worker's globals, seen from a cell
    with Sandbox(1, FAST, level="auto", trusted=[TRUSTED, "def (:"]) as box:
        run = box.run([TRUSTED, peek, "x = 2", TRUSTED, TRUSTED.replace("0)", "2)")], ["known", "a", "b"])
    assert run.values["known"] == [TRUSTED]  # the one that compiles
    assert run.cell_errors == {0: "line 2: ZeroDivisionError: division by zero",
                               3: "line 2: ZeroDivisionError: division by zero"}
    assert run.values["b"] == [1.0, 0.5] and run.values["a"] == 1.0
