"""Assignment files and rosters: the issue's example as written, overrides, and errors that name the line."""

from __future__ import annotations

import csv
import io
import shutil
import textwrap

import pytest

from hwgen import bank
from hwgen.assignment import load_assignment, load_roster
from hwgen.errors import InputFileError

from .conftest import run_cli

EXAMPLE = """\
title: Backprop homework 3
course: "CS 4780 & Friends: Machine Learning"
due: 2026-12-01
seed: 20261122
problems:
  - template: xor_net
    points: 10
  - template: bce_net
    points: 10
"""


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_the_issue_example_loads_as_written(tmp_path):
    a = load_assignment(_write(tmp_path, "hw3.yaml", EXAMPLE))
    assert (a.title, a.course, a.due, a.seed, a.name) == (
        "Backprop homework 3", "CS 4780 & Friends: Machine Learning", "2026-12-01", 20261122, "hw3")
    assert a.due_text == "Tuesday 1 December 2026"
    assert [(p.key, p.template.name) for p in a.problems] == [("p1", "xor_net"), ("p2", "bce_net")]
    assert [p.points for p in a.problems] == [10, 10]
    assert a.to_manifest()["grading"] == {} and a.to_manifest()["due"] == "2026-12-01"


def test_overrides_instructions_grading_and_a_template_next_to_the_file(tmp_path):
    (tmp_path / "mine").mkdir()
    shutil.copy(bank.bank_dir() / "relu_sigmoid.yaml", tmp_path / "mine" / "my_relu.yaml")
    path = _write(tmp_path, "exam.yaml", """\
        title: Midterm
        name: midterm-1
        due: 2026-12-01 23:59:00
        seed: "fall-2026"
        instructions: |
          Work alone.

          Calculators allowed.
        grading: {ecf_credit: 0.5, show_expected: false, late_policy: {rule: linear}}
        problems:
          - template: xor_net
            asked: [L, dW1]
            lr: 0.1
            significant: 3
          - template: mine/my_relu.yaml
            asked: {Z1: 2, dW2: 3.5}
            points: 5.5
        """)
    a = load_assignment(path)
    p1, p2 = a.problems
    assert list(p1.asked) == ["L", "dW1"] and p1.template.network.lr == 0.1 and p1.template.significant == 3
    assert p1.overrides == {"asked": ["L", "dW1"], "lr": 0.1, "significant": 3}
    assert p2.template.name == "relu_sigmoid" and p2.asked == {"Z1": 2.0, "dW2": 3.5}
    assert a.grading == {"ecf_credit": 0.5, "show_expected": False, "late_policy": {"rule": "linear"}}
    assert type(a.grading) is dict and type(a.grading["late_policy"]) is dict
    assert a.instructions == "Work alone.\n\nCalculators allowed."
    assert a.seed == "fall-2026" and a.name == "midterm-1" and a.due == "2026-12-01T23:59:00"
    assert a.due_text == "Tuesday 1 December 2026, 23:59"


@pytest.mark.parametrize("text, line, what", [
    (EXAMPLE.replace("seed: 20261122\n", ""), None, "'seed' is a required property"),
    (EXAMPLE.replace("course:", "cours:"), 2, "unknown key 'cours'"),
    (EXAMPLE.replace("template: bce_net", "template: bce_nett"), 8, "no template 'bce_nett'"),
    (EXAMPLE.replace("template: bce_net", "template: extra/missing.yaml"), 8,
     "template file 'extra/missing.yaml' not found"),
    (EXAMPLE + "    asked: [dW9]\n", 10, "dW9"),
    (EXAMPLE + "    lr: -1\n", 10, "-1"),
    (EXAMPLE + "    significant: 2\n", 8, "no variant passes hwgen's checks"),  # rounding swamps the gradients
    (EXAMPLE.replace("points: 10\n  - template: bce", "points: ten\n  - template: bce"), 7, "'ten' is not of type 'number'"),
    (EXAMPLE.replace("problems:", "problems: ["), 6, "not valid YAML"),
    (EXAMPLE + "    asked: {L: 2, dW1: 3}\n", 9, "the points in `asked` add up to 5, not to `points: 10`"),
    (EXAMPLE.replace("points: 10\n  - template: bce", "points: 10.1\n  - template: bce"), 7,
     "10.1 is not a multiple of 0.25"),
    (EXAMPLE.replace("points: 10\n  - template: bce", "points: 2\n  - template: bce"), 7,
     "2 points cannot be shared among 15 quantities"),
    (EXAMPLE + "    asked: {L: 0.1, dW1: 9.9}\n", 10, "0.1 is not a multiple of 0.25"),
    (EXAMPLE.replace("seed: 20261122", "seed: 1\nseed: 2"), 5, "duplicate key 'seed'"),
])
def test_assignment_errors_name_file_line_and_fix(tmp_path, text, line, what):
    path = _write(tmp_path, "hw.yaml", text)
    with pytest.raises(InputFileError) as info:
        load_assignment(path)
    err = info.value
    assert err.path == str(path) and what in err.what and err.fix
    if line:
        assert err.line == line


def test_roster_reads_ids_names_and_emails(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text('\ufeffStudent_ID , Name,email,section\n s1 ,"Zoë Ångström-Łukasiewicz",z@x.org,A\n\n'
                    's2,"O\'Brien & Sons_100%, Jr.",,B\ns3\n', encoding="utf-8")
    students = load_roster(path)
    assert [(s.id, s.name, s.email, s.line) for s in students] == [
        ("s1", "Zoë Ångström-Łukasiewicz", "z@x.org", 2), ("s2", "O'Brien & Sons_100%, Jr.", "", 4), ("s3", "", "", 5)]


@pytest.mark.parametrize("rows, line, what", [
    ("s1,A\ns2,B\ns1,C\n", 4, "'s1' appears twice (first on line 2)"),
    ("s1,A\n,B\n", 3, "the student_id is empty"),
    ("s1,A\n  ,B\n", 3, "the student_id is empty"),
    ("s1,A\nab/cd,B\n", 3, "slash"),
    ("s1,A\n..,B\n", 3, "not a usable folder name"),
    ("s1,A\nx\\y,B\n", 3, "slash"),
    ("s1,A\n\"bell\x07\",B\n", 3, "control"),
    ("Ab1,A\naB1,B\n", 3, "only in letter case"),
    (f"{'x' * 101},A\n", 2, "longer than 100 bytes"),
])
def test_roster_errors_name_the_row(tmp_path, rows, line, what):
    path = tmp_path / "roster.csv"
    path.write_text("student_id,name\n" + rows, encoding="utf-8")
    with pytest.raises(InputFileError) as info:
        load_roster(path)
    assert info.value.line == line and what in info.value.what and info.value.fix


def test_roster_without_an_id_column_or_students(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("sid,name\ns1,A\n", encoding="utf-8")  # (`id` is Canvas's own id column: that one is read)
    with pytest.raises(InputFileError, match="no student_id column") as info:
        load_roster(path)
    assert info.value.line == 1
    path.write_text("student_id,name\n\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="lists no students"):
        load_roster(path)


def test_cli_prints_roster_errors_without_a_traceback(tmp_path):
    hw = _write(tmp_path, "hw3.yaml", EXAMPLE)
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id\ns1\ns1\n", encoding="utf-8")
    result = run_cli("generate", str(hw), "--roster", str(roster), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{roster}:3: student id 's1' appears twice (first on line 2)" in result.stderr
    assert "fix:" in result.stderr and not (tmp_path / "out").exists()


@pytest.mark.parametrize("sep", [";", "\t", ","])
def test_roster_in_any_spreadsheet_dialect(tmp_path, sep):
    path = tmp_path / "roster.csv"
    path.write_text(sep.join(["student_id", "name", "email"]) + "\n" +
                    sep.join(["s1", '"Doe, Jane"', "j@x.org"]) + "\n" + sep.join(["s2", "Bo", ""]) + "\n",
                    encoding="utf-8")
    roster = load_roster(path)
    assert [(s.id, s.name, s.email) for s in roster] == [("s1", "Doe, Jane", "j@x.org"), ("s2", "Bo", "")]
    assert roster.delimiter == sep and roster.id_column == "student_id"


CANVAS_EXPORT = """\
Student,ID,SIS User ID,SIS Login ID,Section,Homework 3 (4411)
    Points Possible,,,,,16
"Doe, Jane",1001,S-17,jdoe,CS 4780 Sec 1,
"Roe, Rich",1002,S-18,rroe,CS 4780 Sec 2,12
"Student, Test",1003,,,CS 4780 Sec 1,
"""


def test_a_canvas_gradebook_export_is_a_roster(tmp_path):
    """Canvas's own export: ids from SIS User ID (else ID), its Points Possible and test-student rows skipped, its
    identity columns kept for the export."""
    path = tmp_path / "canvas.csv"
    path.write_text(CANVAS_EXPORT, encoding="utf-8")
    roster = load_roster(path)
    assert roster.id_column == "SIS User ID" and [(s.id, s.name, s.line) for s in roster] == [
        ("S-17", "Doe, Jane", 3), ("S-18", "Roe, Rich", 4)]
    assert dict(roster[0].canvas) == {"ID": "1001", "SIS User ID": "S-17", "SIS Login ID": "jdoe",
                                      "Section": "CS 4780 Sec 1"}
    path.write_text(CANVAS_EXPORT.replace("S-17", "").replace("S-18", ""), encoding="utf-8")
    roster = load_roster(path)
    assert roster.id_column == "ID" and [s.id for s in roster] == ["1001", "1002", "1003"]


def test_canvas_columns_and_section_reach_the_canvas_csv(tmp_path):
    hw = _write(tmp_path, "hw3.yaml", EXAMPLE)
    (tmp_path / "canvas.csv").write_text(CANVAS_EXPORT, encoding="utf-8")
    (tmp_path / "plain.csv").write_text("student_id;name;section\ns1;Ann;Lab B\n", encoding="utf-8")
    for roster, expected in (("canvas.csv", [["Doe, Jane", "1001", "S-17", "jdoe", "CS 4780 Sec 1"],
                                             ["Roe, Rich", "1002", "S-18", "rroe", "CS 4780 Sec 2"]]),
                             ("plain.csv", [["Ann", "", "s1", "", "Lab B"]])):
        out = tmp_path / roster.replace(".csv", "")
        made = run_cli("generate", str(hw), "--roster", str(tmp_path / roster), "--out", str(out), "--jobs", "1")
        assert made.returncode == 0, made.stderr
        column = "SIS User ID" if roster == "canvas.csv" else "student_id"
        assert f"ids from the column '{column}'" in made.stdout
        (out / "submitted").mkdir()
        assert run_cli("grade", str(out), "--quiet").returncode == 0
        assert run_cli("export", str(out), "--csv", str(out / "g.csv")).returncode == 0
        rows = list(csv.reader(io.StringIO((out / "g.csv").read_text(encoding="utf-8"))))
        assert [r[:5] for r in rows[2:]] == expected
