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
