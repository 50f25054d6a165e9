"""Where chunks of students are built: in this process, in local processes, or on a real Dask cluster (a
distributed.LocalCluster of two worker processes) — the files are the same byte for byte every way."""

from __future__ import annotations

import sys

import pytest

from hwgen import executor as ex
from hwgen import generate as gen
from hwgen.assignment import Student

from .conftest import run_cli
from .test_generate import _files, inputs  # noqa: F401  (module-scoped fixture: the README assignment)

distributed = pytest.importorskip("distributed")


def _tagged(common: str, task: int) -> str:
    """A task's result that shows which common data and which task made it."""
    return f"{common}:{task * task}"


@pytest.mark.parametrize("where", ["here", "processes", "dask"])
def test_results_come_back_in_task_order_with_the_common_data(where, cluster):
    executor = {"here": lambda: ex.executor_for("local", 1), "processes": lambda: ex.executor_for(None, 2),
                "dask": lambda: ex.executor_for(cluster, 2)}[where]()
    with executor:
        assert list(executor.map(_tagged, "c", range(23))) == [f"c:{t * t}" for t in range(23)]


def test_a_class_built_on_the_cluster_is_byte_identical_to_a_local_run(inputs, cluster, tmp_path):  # noqa: F811
    assignment, students, _ = inputs
    students = [*students, *(Student(f"x{i:02d}", f"Extra {i}") for i in range(10))]
    gen.generate(assignment, students, tmp_path / "local", jobs=2, progress=False)
    with ex.executor_for(cluster, 2) as executor:
        assert executor.workers == 2
        summary = gen.generate(assignment, students, tmp_path / "dask", progress=False, executor=executor)
    assert summary.files == 4 * len(students)
    local, dask = _files(tmp_path / "local"), _files(tmp_path / "dask")
    assert sorted(local) == sorted(dask) and all(local[k] == dask[k] for k in local)


def test_workers_must_run_this_hwgen_version(cluster, monkeypatch):
    monkeypatch.setattr(ex, "__version__", "0.0.0-other")
    with pytest.raises(ex.ExecutorError, match=r"must run hwgen 0\.0\.0-other.*has hwgen"):
        ex.executor_for(cluster, 2)


def test_clear_errors_without_dask_or_without_a_scheduler(inputs, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.setattr(ex, "CONNECT_TIMEOUT", "1s")
    with pytest.raises(ex.ExecutorError, match=r"cannot reach the Dask scheduler at tcp://127.0.0.1:9 .*\n  fix: start it"):
        ex.executor_for("dask://127.0.0.1:9", 2)
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ex.ExecutorError, match=r"not installed\n  fix: pip install 'hwgen\[dask\]'"):
        ex.executor_for("dask://127.0.0.1:9", 2)
    for bad in ("dask://", "dask://no-port", "spark://h:1"):
        with pytest.raises(ex.ExecutorError, match="unknown --executor"):
            ex.executor_for(bad, 2)
    root = inputs[2]
    done = run_cli("generate", str(root / "hw3.yaml"), "--roster", str(root / "roster.csv"), "--out", str(tmp_path / "o"),
                   "--executor", "dask://h")
    assert done.returncode == 2 and "unknown --executor" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "o").exists()
