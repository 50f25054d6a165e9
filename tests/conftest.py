"""Shared fixtures: the bundled templates and a runner for the installed CLI."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hwgen import bank


@pytest.fixture(scope="session")
def templates():
    """Every template in the bundled problem bank, loaded."""
    return {p.stem: bank.load(p) for p in bank.template_paths()}


def run_cli(*args: str, cwd=None, check: bool = False) -> subprocess.CompletedProcess:
    """Run `python -m hwgen ARGS` in a fresh interpreter and capture its output."""
    return subprocess.run([sys.executable, "-m", "hwgen", *args], capture_output=True, text=True, cwd=cwd, check=check)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    """A real Dask cluster of two single-threaded worker processes on this machine: its dask:// address. Its
    scratch space is the test's own (dask's default, /tmp/dask-scratch-space, would be left behind)."""
    distributed = pytest.importorskip("distributed")
    import dask  # installed with distributed
    scratch = {"temporary-directory": str(tmp_path_factory.mktemp("dask"))}
    with dask.config.set(scratch), \
            distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as c:
        yield c.scheduler_address.replace("tcp://", "dask://")


@pytest.fixture(scope="session")
def course(tmp_path_factory):
    """A graded class with late submissions, an extension and an override (tests/course_support.py)."""
    from .course_support import build_course
    return build_course(tmp_path_factory.mktemp("course"))
