"""The gradebook survives `kill -9` of the grader mid-batch: nothing recorded is lost, the next run
finishes the rest, every student is graded exactly once, and no sandbox is left behind."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from hwgen.grade.gradebook import GRADEBOOK, Gradebook
from hwgen.grade.simulate import Sim, text

from .grade_support import make_class

STUDENTS = [f"s{i:02d}" for i in range(8)]


def _slow_correct(sim: Sim) -> str:
    """Correct answers, after a pause, so that the batch takes a while."""
    nb = sim.answered(sim.exact())
    nb["cells"][0] = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                      "source": "import time\ntime.sleep(0.4)"}
    return text(nb)


def _recorded(db) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            return con.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]
    except sqlite3.Error:
        return 0


def _children(pid: int) -> list[int]:
    """Direct children of a process (Linux /proc)."""
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            out += [int(x) for x in f.read().split()]
    return out


def _all_gone(pids: list[int], timeout: float = 5.0) -> bool:
    """Whether every process has exited (a zombie awaiting its reaper counts as exited) within `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = []
        for pid in pids:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                        alive.append(pid)
            except FileNotFoundError:
                pass
        if not alive:
            return True
        time.sleep(0.05)
    return False


def _grade(folder) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "hwgen", "grade", str(folder), "--jobs", "1", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_kill_9_mid_batch_loses_nothing_and_the_rerun_finishes(tmp_path):
    from hwgen.grade.simulate import submit

    folder, manifest = make_class(tmp_path, [(s, s.upper()) for s in STUDENTS])
    for sid in STUDENTS:
        submit(folder, manifest, sid, _slow_correct)
    db = folder / GRADEBOOK
    proc = _grade(folder)
    deadline = time.monotonic() + 60
    sandboxes: list[int] = []
    while _recorded(db) < 3:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "the grader recorded nothing in 60 s"
        sandboxes = sandboxes or _children(proc.pid)
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = {}
    with Gradebook(db) as book:
        first = {sid: (s.graded_at, s.score) for sid, s in book.submissions().items()}
    assert 3 <= len(first) < len(STUDENTS), "the kill came too late to test anything"
    assert sandboxes and _all_gone(sandboxes), "a sandbox outlived the grader"

    again = _grade(folder)
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err.decode()
    assert f"{len(first)} unchanged" in err.decode() and f"{len(STUDENTS) - len(first)} graded" in err.decode()
    with Gradebook(db) as book:
        final = book.submissions()
        assert set(final) == set(STUDENTS)
        for sid, (graded_at, score) in first.items():
            assert (final[sid].graded_at, final[sid].score) == (graded_at, score)  # earlier grades untouched
        for sid in STUDENTS:
            assert final[sid].score == pytest.approx(manifest.max_points)
            items = list(book.items(sid))
            assert len(items) == len({(i.problem, i.quantity) for i, _, _ in items}) == \
                sum(len(s.asked) for s in manifest.problems)
