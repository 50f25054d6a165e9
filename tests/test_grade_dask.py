"""`hwgen grade --executor dask://...`: a class graded on a real Dask cluster (a distributed.LocalCluster of two
worker processes, each running its own bubblewrap sandbox) gives the gradebook a local run gives."""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
import time

import pytest

from hwgen import executor as ex
from hwgen.cli import main as hwgen_main
from hwgen.grade.batch import GradeOptions, grade_class
from hwgen.grade.gradebook import GRADEBOOK
from hwgen.grade.sandbox import Limits
from hwgen.grade.simulate import submit

from .conftest import run_cli
from .grade_support import make_class

pytest.importorskip("distributed")

KINDS = {"ann": "correct", "bob": "rounded", "cy": "slip", "dee": "misconceptions", "eve": "one_wrong",
         "fay": "blank", "gus": "broken", "hal": "allclose_attack", "ida": "copier", "jo": "absent",
         "kim": "rounded_3", "lou": "correct"}
LIMITS = Limits(wall=3.0, cpu=3.0, memory_mb=512)


def _rows(folder) -> dict[str, list]:
    """Everything the gradebook says about the grades (not when or how fast they were made)."""
    db = sqlite3.connect(folder / GRADEBOOK)
    try:
        return {"submissions": db.execute("SELECT student, status, path, sha256, variant_sha256, score, max_score, "
                                          "flags, isolation, attempts FROM submissions ORDER BY student").fetchall(),
                "items": db.execute("SELECT student, position, problem, quantity, points, max_points, status, "
                                    "misconception, message, answer FROM items ORDER BY student, position").fetchall(),
                "copies": db.execute("SELECT * FROM copies ORDER BY student, problem, other").fetchall()}
    finally:
        db.close()


@pytest.fixture(scope="module")
def graded_twice(tmp_path_factory, cluster):
    """One class graded by local processes and, from a copy of its folder, on the cluster through the CLI."""
    root = tmp_path_factory.mktemp("dask")
    folder, manifest = make_class(root, [(sid, sid.title()) for sid in KINDS])
    for sid, kind in KINDS.items():
        submit(folder, manifest, sid, kind)
    (folder / "submitted" / "zz_unknown").mkdir()
    shutil.copytree(folder, root / "on_cluster")
    grade_class(folder, GradeOptions(jobs=2, limits=LIMITS, progress=False))
    done = run_cli("grade", str(root / "on_cluster"), "--executor", cluster, "--timeout", "3", "--memory", "512",
                   "--quiet", "--json", str(root / "cluster.json"))
    assert done.returncode == 0, done.stderr
    return folder, root / "on_cluster", json.loads((root / "cluster.json").read_text()), done.stderr


def test_the_cluster_gives_the_gradebook_a_local_run_gives(graded_twice):
    local, remote, report, stderr = graded_twice
    assert "isolation: bwrap" in stderr and "10 graded, 1 missing, 1 invalid, 1 unknown" in stderr
    assert _rows(remote) == _rows(local)
    with sqlite3.connect(local / GRADEBOOK) as db:
        scores = dict(db.execute("SELECT student, score FROM submissions"))
    assert {sid: entry["score"] for sid, entry in report.items()} == pytest.approx(scores)
    assert report["ann"]["score"] == pytest.approx(report["ann"]["max"]) and report["hal"]["score"] == 0


def test_each_notebook_ran_in_a_sandbox_on_a_worker(graded_twice):
    _, remote, _, _ = graded_twice
    with sqlite3.connect(remote / GRADEBOOK) as db:
        ran = dict(db.execute("SELECT student, isolation FROM submissions WHERE status = 'graded'"))
    assert len(ran) == 10 and set(ran.values()) == {"bwrap"}


def test_the_workers_stop_their_sandboxes_at_the_end(cluster):
    import distributed

    def sandboxes() -> int:
        from hwgen.grade import chunks
        return len(chunks._SANDBOXES)

    with distributed.Client(cluster.replace("dask://", "tcp://"), set_as_default=False) as client:
        for _ in range(50):  # the run that just ended may still be closing them
            if not any(client.run(sandboxes).values()):
                break
            time.sleep(0.1)
        assert not any(client.run(sandboxes).values())


@pytest.mark.parametrize("where", ["here", "processes", "dask"])
def test_results_in_any_order_are_all_there(where, cluster):
    executor = {"here": lambda: ex.executor_for("local", 1), "processes": lambda: ex.executor_for(None, 2),
                "dask": lambda: ex.executor_for(cluster, 2)}[where]()
    with executor:
        assert sorted(executor.map(_square, 3, range(17), ordered=False)) == sorted(3 * t * t for t in range(17))


def _square(common: int, task: int) -> int:
    return common * task * task


def test_clear_errors_without_dask_or_without_a_scheduler(graded_twice, monkeypatch, capsys):
    local = graded_twice[0]
    monkeypatch.setattr(ex, "CONNECT_TIMEOUT", "1s")
    assert hwgen_main(["grade", str(local), "--executor", "dask://127.0.0.1:9", "--regrade"]) == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "distributed", None)
    assert hwgen_main(["grade", str(local), "--executor", "dask://127.0.0.1:9", "--regrade"]) == 2
    assert "pip install 'hwgen[dask]'" in capsys.readouterr().err
