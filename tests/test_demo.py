"""`hwgen demo`, README's first command: the whole pipeline on the built-in roster, as a user runs it."""

from __future__ import annotations

import json

import pytest

from hwgen.demo import STUDENTS

from .conftest import run_cli


def _table(text: str) -> dict[str, dict[str, str]]:
    """The printed gradebook: student id -> {column: cell}, columns cut where the dashed rule says."""
    lines = text.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("-------"))
    spans, pos = [], 0
    for dashes in lines[rule].split("  "):
        spans.append((pos, pos + len(dashes)))
        pos += len(dashes) + 2
    cut = lambda line: [line[a:b].strip() for a, b in spans]  # noqa: E731
    head = cut(lines[rule - 1])
    rows = [dict(zip(head, cut(line))) for line in lines[rule + 1:] if line.strip()][:len(STUDENTS)]
    return {row["student"]: row for row in rows}


def test_demo_generates_submits_grades_and_prints_the_gradebook(tmp_path):
    out = tmp_path / "demo"
    result = run_cli("demo", "--out", str(out))
    assert result.returncode == 0, result.stderr
    table = _table(result.stdout)
    assert set(table) == {s.id for s in STUDENTS}
    total = {sid: float(row["total/16"]) for sid, row in table.items()}
    assert total["ada"] == total["blaise"] == 16.0
    assert 0 < total["carl"] < 16 and total["mallory"] == total["dora"] == 0.0
    assert table["emmy"]["status"] == "invalid" and table["kurt"]["status"] == "missing"
    assert table["mallory"]["about"].startswith("answers 0 everywhere")
    assert total["pierre"] == 16.0 and 14 < total["sophie"] < 16 and 8 < total["leon"] < 16  # fair grading
    assert table["copy"]["copied from"] == "ada" and total["copy"] < 4 and not table["ada"]["copied from"]
    assert "transposed gradient" in result.stdout and "squared-error derivative" in result.stdout
    assert "isolation: bwrap" in result.stdout
    assert (out / "class" / "gradebook.db").is_file() and len(list((out / "class" / "feedback").iterdir())) == len(STUDENTS)
    assert (out / "class" / "release" / "ada" / "demo_hw" / "demo_hw.ipynb").is_file()
    again = run_cli("demo", "--out", str(out))  # an earlier demo is replaced
    assert again.returncode == 0 and again.stdout.count("Ada Lovelace") == 1
    report = run_cli("grade", str(out / "class"), "--json", str(tmp_path / "r.json"), "--quiet")
    assert report.returncode == 0 and json.loads((tmp_path / "r.json").read_text())["ada"]["score"] == pytest.approx(16)
    data = json.loads((tmp_path / "r.json").read_text())
    assert {i["status"] for i in data["sophie"]["items"]} == {"wrong", "correct_ecf", "correct"}
    assert {i["misconception"] for i in data["leon"]["items"]} >= {"transposed_gradient", "squared_error_derivative_in_bce"}
    assert any("ada" in flag for flag in data["copy"]["flags"])


def test_demo_leaves_other_folders_alone(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    result = run_cli("demo", "--out", str(tmp_path))
    assert result.returncode == 2 and "not made by `hwgen demo`" in result.stderr
    assert (tmp_path / "mine.txt").read_text() == "keep me"
