"""Calculus problems and shape questions on paper: the exam prints them, keys/answers.csv holds the exact entries
(a shape as "4 by 2", expressions as text), and answers typed from paper are graded like notebooks: read, never
run."""

from __future__ import annotations

import csv
import json

import pytest

from hwgen.grade.manifest import load_manifest

from .conftest import run_cli
from .grade_support import make_class

ASSIGNMENT = """\
title: Derivatives on paper
seed: 5
mode: exam
problems:
  - template: chain_rule
    asked: [J_F, D_F_G, J_F_expr]
  - template: xor_net
    display: {layout: rows}
    asked: [L, "shape(dZ2 @ W2.T)", "shape(X, n)"]
"""
IDS = ["s1", "s2", "s3"]


@pytest.fixture(scope="module")
def exam(tmp_path_factory):
    folder, _ = make_class(tmp_path_factory.mktemp("calculus-exam"), [(sid, sid.upper()) for sid in IDS], ASSIGNMENT)
    return folder


def test_the_exam_and_its_keys_hold_the_text_answers(exam):
    text = (exam / "exams" / "s1.tex").read_text()
    assert r"\operatorname{shape}" in text and "F(u, v) =" in text
    key = {row["student_id"]: row for row in csv.DictReader((exam / "keys" / "answers.csv").open(encoding="utf-8"))}
    assert key["s1"]["p2.shape(dZ2 @ W2.T)"] == "4 by 2" and key["s1"]["p2.shape(X, n)"] == "n by 2"
    expressions = load_manifest(exam).students["s1"]["problems"]["p1"]["answers"]["J_F_expr"]
    assert [key["s1"][f"p1.J_F_expr[{i},{j}]"] for i in (1, 2) for j in (1, 2)] == [e for r in expressions for e in r]
    assert "4 by 2" in (exam / "keys" / "compact.tex").read_text()


def test_typed_shapes_and_expressions_are_graded_never_run(exam, tmp_path):
    sheet = tmp_path / "sheet.csv"
    assert run_cli("answers", str(exam), "--csv", str(sheet)).returncode == 0
    key = list(csv.DictReader((exam / "keys" / "answers.csv").open(encoding="utf-8")))
    header = next(csv.reader(sheet.open(encoding="utf-8")))
    rows = [dict(r) for r in key]
    canary = tmp_path / "canary"
    rows[1] |= {"p2.shape(dZ2 @ W2.T)": "2 x 4", "p2.shape(X, n)": "4 by 2",  # transposed; n not written
                "p1.J_F_expr[1,2]": rows[1]["p1.J_F_expr[2,1]"], "p1.J_F_expr[2,1]": rows[1]["p1.J_F_expr[1,2]"]}
    rows[2] |= {"p2.shape(dZ2 @ W2.T)": f"__import__('os').system('touch {canary}')",
                "p1.J_F_expr[1,1]": f"open('{canary}', 'w')"}
    with sheet.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows([[r.get(c, "") for c in header] for r in rows])
    result = run_cli("grade", str(exam), "--answers", str(sheet), "--json", str(tmp_path / "report.json"))
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["s1"]["score"] == report["s1"]["max"], report["s1"]
    s2 = {(i["problem"], i["quantity"]): (i["status"], i["misconception"]) for i in report["s2"]["items"]}
    assert s2[("p2", "shape(dZ2 @ W2.T)")] == ("wrong", "transposed_shape")
    assert s2[("p2", "shape(X, n)")] == ("wrong", None)
    if key[1]["p1.J_F_expr[1,2]"] != key[1]["p1.J_F_expr[2,1]"]:
        assert s2[("p1", "J_F_expr")] == ("wrong", "transposed_jacobian")
    s3 = {(i["problem"], i["quantity"]): i["status"] for i in report["s3"]["items"]}
    assert s3[("p2", "shape(dZ2 @ W2.T)")] == s3[("p1", "J_F_expr")] == "invalid"
    assert not canary.exists()
