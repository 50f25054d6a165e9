"""The source passes ruff and mypy with the settings in pyproject.toml: zero findings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECKS = {"ruff": ["ruff", "check", "hwgen", "tests", "bench"], "mypy": ["mypy"]}  # mypy: files from pyproject.toml


@pytest.mark.parametrize("tool", sorted(CHECKS))
def test_no_findings(tool: str) -> None:
    if not (ROOT / "pyproject.toml").is_file():
        pytest.skip("run from an installed package: there is no source tree with pyproject.toml to check")
    done = subprocess.run([sys.executable, "-m", *CHECKS[tool]], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, f"{tool} found problems:\n{done.stdout}{done.stderr}"
