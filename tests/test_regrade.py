"""Regrading that cannot mislead: notebooks whose given numbers are not the student's are flagged
numbers_changed, feedback pages follow every new grade, and `generate --force` says what it deleted."""

from __future__ import annotations

import csv
import io
import json

import numpy as np

from hwgen.grade.chunks import changed_givens
from hwgen.grade.simulate import submit

from .conftest import run_cli
from .grade_support import ASSIGNMENT, make_class
from .gradehelp import problem, record

ROSTER = [("ana", "Ana"), ("ben", "Ben"), ("cy", "Cy")]


def _grade(folder, *extra):
    result = run_cli("grade", str(folder), "--quiet", "--json", str(folder / "r.json"), *extra)
    assert result.returncode == 0, result.stderr
    return json.loads((folder / "r.json").read_text()), result


def test_a_regenerated_lr_flags_the_old_notebooks_and_names_no_mistake(tmp_path):
    folder, manifest = make_class(tmp_path, ROSTER)
    for sid, behaviour in (("ana", "correct"), ("ben", "misconceptions")):
        submit(folder, manifest, sid, behaviour)
    before, _ = _grade(folder)
    assert all(before[s]["flagged"] == [] for s in before)
    assert run_cli("feedback", str(folder)).returncode == 0
    (tmp_path / "hw.yaml").write_text(ASSIGNMENT.replace("    points: 6\n", "    points: 6\n    lr: 0.2\n"))
    again = run_cli("generate", str(tmp_path / "hw.yaml"), "--roster", str(tmp_path / "roster.csv"),
                    "--out", str(folder), "--force", "--jobs", "1")
    assert again.returncode == 0, again.stderr
    pages = [f"feedback/{s}.html" for s, _ in ROSTER]
    assert f"3 of them this run does not write again: {', '.join(pages)}" in again.stdout
    assert "kept gradebook.db and submitted" in again.stdout and not (folder / "feedback" / "ana.html").exists()
    after, _ = _grade(folder)
    for sid in ("ana", "ben"):
        flags = after[sid]["flagged"]
        assert [(f["kind"], f["problem"]) for f in flags] == [("numbers_changed", "p2")], flags
        assert "p2_lr" in flags[0]["variables"] and any("given numbers (p2_" in f for f in after[sid]["flags"])
        for item in after[sid]["items"]:
            if item["problem"] == "p2":
                assert item["misconception"] is None
                if item["status"] != "correct":
                    assert item["message"].startswith("Your notebook's given numbers (p2_")
    assert after["cy"]["flagged"] == []  # nothing handed in: nothing to compare
    out = folder / "g.csv"
    assert run_cli("export", str(folder), "--csv", str(out)).returncode == 0
    notes = {r[2]: r[-2] for r in csv.reader(io.StringIO(out.read_text()))}
    assert "given numbers (p2_" in notes["ana"] and "given numbers" not in notes["cy"]


def test_a_new_grade_rewrites_that_students_feedback_page(tmp_path):
    folder, manifest = make_class(tmp_path, ROSTER)
    submit(folder, manifest, "ana", "correct")
    submit(folder, manifest, "ben", "one_wrong")
    _grade(folder)
    assert run_cli("feedback", str(folder)).returncode == 0
    ana_page = (folder / "feedback" / "ana.html").read_text()
    assert "Score: 16 / 16" not in (folder / "feedback" / "ben.html").read_text()
    (folder / "feedback" / "ana.html").write_text(ana_page + "<!-- untouched -->")
    submit(folder, manifest, "ben", "correct")
    _, result = _grade(folder)
    assert "wrote 1 feedback page again" in result.stderr
    assert "Score: 16 / 16" in (folder / "feedback" / "ben.html").read_text()
    assert (folder / "feedback" / "ana.html").read_text().endswith("<!-- untouched -->")


def test_given_numbers_compare_in_either_orientation_and_absent_ones_say_nothing():
    spec = problem("xor_net")
    rec = record(spec, 4)
    given = rec["given"]
    values = {f"p1_{k}": np.asarray(v).T.tolist() for k, v in given.items()} | {"p1_lr": rec["network"]["lr"]}
    assert changed_givens(spec, rec, values) is None
    assert changed_givens(spec, rec, {}) is None
    edited = values | {"p1_W1": (np.asarray(given["W1"]) + 0.01).tolist(), "p1_lr": "0.5"}
    flag = changed_givens(spec, rec, edited)
    assert flag["kind"] == "numbers_changed" and flag["variables"] == ["p1_W1", "p1_lr"]
