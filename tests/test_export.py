"""`hwgen export` (Canvas and Moodle CSV) and `hwgen feedback` (HTML pages) on a small graded class."""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import json
import re

import pytest

from hwgen.grade.export import table_text
from hwgen.grade.feedback import page
from hwgen.grade.gradebook import GRADEBOOK, Gradebook
from hwgen.grade.manifest import load_manifest
from hwgen.grade.simulate import submit

from .conftest import run_cli
from .grade_support import make_class, points

ROSTER = [("ada", '<script>alert("x")</script> Ada'), ("bob", "Bob, Jr."), ("cy", "Cy"), ("dee", "Dee")]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder, manifest = make_class(tmp_path_factory.mktemp("export"), ROSTER)
    for sid, behaviour in (("ada", "correct"), ("bob", "one_wrong"), ("dee", "blank")):
        submit(folder, manifest, sid, behaviour)
    result = run_cli("grade", str(folder), "--json", str(folder / "out.json"), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "isolation: bwrap" in result.stderr and "4 students: 3 graded, 1 missing" in result.stderr
    return folder, manifest, json.loads((folder / "out.json").read_text())


def test_json_report_has_the_documented_shape(graded):
    folder, manifest, report = graded
    assert set(report) == {s for s, _ in ROSTER}
    item = report["bob"]["items"][0]
    assert set(report["bob"]) == {"score", "raw_score", "max", "late", "overrides", "items", "flags", "flagged"}
    assert report["bob"]["flagged"] == [] and report["bob"]["late"] is None and report["bob"]["overrides"] == []
    assert set(item) == {"problem", "quantity", "points", "max_points", "status", "misconception", "message"}
    assert report["bob"]["score"] == pytest.approx(manifest.max_points - points(manifest, "p1_L"))
    assert report["cy"]["flags"][0].startswith("no submission")


def test_canvas_csv_has_a_points_possible_row_and_one_row_per_student(graded):
    folder, manifest, report = graded
    result = run_cli("export", str(folder), "--csv", str(folder / "canvas.csv"))
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO((folder / "canvas.csv").read_text())))
    assert rows[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert rows[0][5:] == ["Backprop HW p1", "Backprop HW p2", "Backprop HW total", "Late penalty", "Notes",
                           "Copied from"]
    assert rows[1][0].strip() == "Points Possible" and rows[1][5:8] == ["10", "6", "16"]
    by_id = {r[2]: r for r in rows[2:]}
    assert list(by_id) == [s for s, _ in ROSTER]
    assert by_id["ada"][0] == ROSTER[0][1] and by_id["ada"][3] == "ada@example.edu"
    for sid, r in by_id.items():
        assert float(r[7]) == pytest.approx(report[sid]["score"], abs=1e-3)
        assert float(r[5]) + float(r[6]) == pytest.approx(float(r[7]), abs=2e-3)
    assert by_id["cy"][5:9] == ["0", "0", "0", ""] and "no submission" in by_id["cy"][9]


def test_item_points_are_quarter_points_adding_up_exactly_and_read_plainly(graded):
    """10 points over xor_net's 19 weights: the JSON report's items lie on the 0.25 grid and add up exactly (==)
    to each problem's points; the feedback page and the terminal table show them without rounding noise."""
    folder, manifest, report = graded
    for sid in report:
        for spec in manifest.problems:
            mine = [i for i in report[sid]["items"] if i["problem"] == spec.key]
            assert all((i["max_points"] * 4).is_integer() for i in mine)
            assert sum(i["max_points"] for i in mine) == spec.points
    assert report["ada"]["score"] == report["ada"]["max"] == 16
    assert run_cli("feedback", str(folder), "--student", "bob").returncode == 0
    bob = (folder / "feedback" / "bob.html").read_text()
    lost = points(manifest, "p1_L")
    shown = re.findall(r'class="points">([^<]*)<', bob) + re.findall(r"Score: ([^<]*)<", bob)
    assert f"0 / {lost:g}" in shown and f"{16 - lost:g} / 16" in shown
    assert all(re.fullmatch(r"\d+(\.\d{1,2})? / \d+(\.\d{1,2})?", text) for text in shown)
    with Gradebook(folder / GRADEBOOK) as book:
        table = table_text(manifest, book)
    assert "p1/10" in table and "total/16" in table and f" {16 - lost:g} " in table and ".00" not in table


def test_moodle_csv_puts_the_maximum_in_the_header(graded):
    folder, manifest, report = graded
    assert run_cli("export", str(folder), "--format", "moodle", "--csv", str(folder / "m.csv")).returncode == 0
    rows = list(csv.DictReader(io.StringIO((folder / "m.csv").read_text())))
    assert [r["ID number"] for r in rows] == [s for s, _ in ROSTER]
    assert float(rows[1]["Backprop HW total (max 16)"]) == pytest.approx(report["bob"]["score"], abs=1e-3)
    assert rows[0]["Email address"] == "ada@example.edu"


def test_feedback_pages_are_escaped_and_hide_the_expected_values(graded):
    folder, manifest, report = graded
    result = run_cli("feedback", str(folder))
    assert result.returncode == 0, result.stderr
    pages = sorted(p.name for p in (folder / "feedback").iterdir())
    assert pages == ["ada.html", "bob.html", "cy.html", "dee.html"]
    ada = (folder / "feedback" / "ada.html").read_text()
    assert "<script>" not in ada and "&lt;script&gt;" in ada
    bob = (folder / "feedback" / "bob.html").read_text()
    wrong_l = report["bob"]["items"][[i["quantity"] for i in report["bob"]["items"]].index("L")]
    assert wrong_l["status"] == "wrong" and html.escape(wrong_l["message"]) in bob
    assert "Your value:" in bob and "Expected:" not in bob
    assert "NotImplementedError" in (folder / "feedback" / "dee.html").read_text()


def test_feedback_shows_expected_values_when_the_assignment_says_so(graded):
    folder, manifest, _ = graded
    shown = dataclasses.replace(manifest, data={**manifest.data, "assignment": {
        **manifest.assignment, "grading": {"show_expected": True}}})
    with Gradebook(folder / GRADEBOOK) as book:
        html = page(shown, book, book.submissions()["bob"])
    expected_l = manifest.students["bob"]["problems"]["p1"]["answers"]["L"]
    assert "Expected:" in html and f"{expected_l:.4g}"[:5] in html


def test_export_and_feedback_need_a_graded_class(tmp_path):
    folder, _ = make_class(tmp_path, [("a", "A")])
    result = run_cli("export", str(folder))
    assert result.returncode == 2 and "no gradebook yet" in result.stderr and "Traceback" not in result.stderr
    assert load_manifest(folder).max_points == pytest.approx(16)


def test_grade_one_student_and_unknown_ids(graded):
    folder, manifest, report = graded
    one = run_cli("grade", str(folder), "--student", "BoB", "--regrade", "--quiet")
    assert one.returncode == 0 and "1 student: 1 graded" in one.stderr  # ids ignore letter case, as in the roster
    none = run_cli("grade", str(folder), "--student", "CY", "--quiet")
    assert none.returncode == 0 and "1 student: 1 unchanged" in none.stderr and "notebooks/s" not in none.stderr
    page_for = run_cli("feedback", str(folder), "--student", "ADA", "--out", str(folder / "one"))
    assert page_for.returncode == 0 and "1 page ->" in page_for.stderr and (folder / "one" / "ada.html").is_file()
    unknown = run_cli("grade", str(folder), "--student", "nobody_here", "--quiet")
    assert unknown.returncode == 2 and "no student 'nobody_here'" in unknown.stderr and "Traceback" not in unknown.stderr
