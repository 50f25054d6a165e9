"""Late work and overrides (issue 15): timestamps, extensions, the policy's penalty, manual grades."""

from __future__ import annotations

import csv
import io
import os
from datetime import datetime, timezone

import pytest

from hwgen.cli import main as hwgen_main
from hwgen.grade import late
from hwgen.grade.gradebook import GRADEBOOK, Gradebook
from hwgen.grade.late import handed_in, parse_when

from .conftest import run_cli
from .course_support import LATE_FRACTION
from .grade_support import make_class, points


def test_penalties_follow_the_policy_in_the_json_report(course):
    report, most = course.report, course.manifest.max_points
    expected_days = {"ada": 0, "bob": 0, "cy": 2, "dee": 10, "eve": 0, "fay": 1}
    for sid, fraction in LATE_FRACTION.items():
        entry = report[sid]
        checks = sum(i["points"] for i in entry["items"])
        extra = sum(o["points"] - next(i["points"] for i in entry["items"] if (i["problem"], i["quantity"]) ==
                                       (o["problem"], o["quantity"])) for o in entry["overrides"])
        assert entry["raw_score"] == pytest.approx(checks + extra, abs=1e-6)
        assert entry["late"]["penalty"] == pytest.approx(fraction)
        assert entry["score"] == pytest.approx(entry["raw_score"] * (1 - fraction), abs=1e-6)
        if sid in expected_days:
            assert entry["late"]["days"] == expected_days[sid]
    assert report["dee"]["late"]["source"] == "file time" and "modification time" in report["dee"]["late"]["note"]
    assert report["eve"]["late"]["extended"] and report["eve"]["late"]["due"] == "2026-12-05T12:00:00Z"
    assert report["cy"]["raw_score"] == pytest.approx(most) and report["cy"]["score"] == pytest.approx(0.8 * most)
    assert report["jon"]["late"] is None and report["jon"]["score"] == 0


def test_the_override_survives_regrading_and_shows_everywhere(course):
    folder, manifest = course.folder, course.manifest
    fay = course.report["fay"]
    assert fay["overrides"] == [{"problem": "p1", "quantity": "L", "points": pytest.approx(points(manifest, "p1_L")),
                                 "reason": "showed the 1/2 on paper", "by": "TA Kim", "at": fay["overrides"][0]["at"]}]
    assert fay["raw_score"] == pytest.approx(manifest.max_points)  # her only wrong answer was p1 L
    assert hwgen_main(["grade", str(folder), "--quiet", "--regrade", "--student", "fay"]) == 0
    with Gradebook(folder / GRADEBOOK) as book:
        again = book.report(["fay"])["fay"]
    assert again["score"] == pytest.approx(fay["score"]) and again["overrides"] == fay["overrides"]
    assert run_cli("export", str(folder), "--csv", str(folder / "g.csv")).returncode == 0
    rows = {r["SIS User ID"]: r for r in csv.DictReader(io.StringIO((folder / "g.csv").read_text()))}
    assert float(rows["fay"]["Course HW total"]) == pytest.approx(fay["score"], abs=1e-3)
    assert float(rows["fay"]["Course HW p1"]) == pytest.approx(10, abs=1e-3)
    assert float(rows["fay"]["Late penalty"]) == pytest.approx(fay["late"]["penalty_points"], abs=1e-3)
    assert "p1 L set to" in rows["fay"]["Notes"] and "TA Kim" in rows["fay"]["Notes"]
    assert "2 days late, 20% off" in rows["cy"]["Notes"] and rows["ada"]["Late penalty"] == "0"
    assert run_cli("feedback", str(folder), "--student", "fay").returncode == 0
    page = (folder / "feedback" / "fay.html").read_text()
    assert "Late penalty" in page and "showed the 1/2 on paper" in page and "1 day late, 10% off" in page


def test_problem_and_assignment_overrides_and_clear(course):
    folder = str(course.folder)
    before = course.report["gus"]["score"]
    assert hwgen_main(["override", folder, "--student", "gus", "--problem", "p2", "--points", "6",
                       "--reason", "regraded by hand"]) == 0
    with Gradebook(course.folder / GRADEBOOK) as book:
        gus = book.report(["gus"])["gus"]
    p1 = sum(i["points"] for i in gus["items"] if i["problem"] == "p1")
    assert gus["score"] == pytest.approx(p1 + 6)
    assert hwgen_main(["override", folder, "--student", "gus", "--points", "3", "--reason", "academic integrity"]) == 0
    with Gradebook(course.folder / GRADEBOOK) as book:
        assert book.report(["gus"])["gus"]["score"] == pytest.approx(3)
    for problem in (["--problem", "p2"], []):
        assert hwgen_main(["override", folder, "--student", "gus", *problem, "--clear"]) == 0
    with Gradebook(course.folder / GRADEBOOK) as book:
        assert book.report(["gus"])["gus"]["score"] == pytest.approx(before)


@pytest.mark.parametrize("args, message", [
    (["--student", "nobody", "--points", "1", "--reason", "x"], "not in"),
    (["--student", "ada", "--problem", "p9", "--points", "1", "--reason", "x"], "use one of: p1, p2"),
    (["--student", "ada", "--problem", "p2", "--quantity", "Z1", "--points", "0", "--reason", "x"], "not asked"),
    (["--student", "ada", "--quantity", "L", "--points", "1", "--reason", "x"], "--quantity needs --problem"),
    (["--student", "ada", "--problem", "p1", "--points", "nan", "--reason", "x"], "from 0 to 10"),
    (["--student", "ada", "--problem", "p1", "--points", "11", "--reason", "x"], "from 0 to 10"),
    (["--student", "ada", "--problem", "p1", "--points", "-1", "--reason", "x"], "from 0 to 10"),
    (["--student", "ada", "--points", "1", "--reason", "  "], "--reason must be"),
    (["--student", "ada", "--points", "1"], "needs --points and --reason"),
    (["--student", "ada", "--problem", "p1", "--clear"], "no override"),
])
def test_bad_overrides_are_one_clear_message(course, args, message):
    result = run_cli("override", str(course.folder), *args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("text, expected", [
    ("2026-12-01 23:59:59.123456 UTC", datetime(2026, 12, 1, 23, 59, 59, 123456, timezone.utc)),  # nbgrader
    ("2026-12-01 18:59:59.5 -0500", datetime(2026, 12, 1, 23, 59, 59, 500000, timezone.utc)),
    ("2026-12-01T23:59:59Z", datetime(2026, 12, 1, 23, 59, 59, tzinfo=timezone.utc)),
    ("2026-12-02 00:59 Europe/Berlin", datetime(2026, 12, 1, 23, 59, tzinfo=timezone.utc)),
    ("2026-06-02 01:59 Europe/Berlin", datetime(2026, 6, 1, 23, 59, tzinfo=timezone.utc)),  # summer time
    ("2026-12-01 23:59", datetime(2026, 12, 1, 23, 59, tzinfo=timezone.utc)),
])
def test_times_in_nbgrader_and_iso_forms(text, expected):
    assert parse_when(text) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01 10:00", "2026-12-01 25:00", "2026-12-01 10:00 Mars/Base",
                                  "2026-12-01 10:00 +2500", "9999-12-31 23:59 -1200", "2026-12-01 10:00 ../../etc",
                                  "2026-12-01" + " " * 200 + "10:00"])
def test_bad_times_are_refused(text):
    with pytest.raises(ValueError):
        parse_when(text)


def test_hostile_timestamp_files_fall_back_to_the_file_time(tmp_path, monkeypatch):
    notebook = tmp_path / "hw.ipynb"
    notebook.write_text("{}")
    os.utime(notebook, (1_800_000_000, 1_800_000_000))
    file_time = datetime.fromtimestamp(1_800_000_000, timezone.utc)
    stamp = tmp_path / "timestamp.txt"
    for make in (lambda: stamp.write_bytes(b"\xff\xfe garbage"), lambda: stamp.write_text("9" * 10_000),
                 lambda: stamp.symlink_to("/etc/hostname"), lambda: os.mkfifo(stamp), lambda: stamp.mkdir(),
                 lambda: stamp.write_text("   \n")):
        make()
        got = handed_in(notebook)
        assert (got.when, got.source) == (file_time, "file time") and "modification time" in got.note
        stamp.rmdir() if stamp.is_dir() and not stamp.is_symlink() else stamp.unlink()
    monkeypatch.setattr(late.os, "lstat", lambda path: os.stat_result((0,) * 7 + (1e20,) * 3))  # beyond year 9999
    assert handed_in(notebook).source == "grading time"


BAD_POLICIES = [
    ("late: {penalty_per_day: .nan}", "not a finite number", ".nan and .inf are not accepted"),
    ("late: {penalty_per_day: -0.5}", "late.penalty_per_day", "from 0 to 1"),
    ("late: {penalty_per_day: 1.5}", "late.penalty_per_day", "from 0 to 1"),
    ("late: {max_penalty: -0.1}", "late.max_penalty", "from 0 to 1"),
    ("late: {grace_minutes: .inf}", "not a finite number", ".nan and .inf are not accepted"),
    ("late: {grace_minutes: 20000}", "late.grace_minutes", "from 0 to 10080"),
    ("late: {max_penalty: true}", "late.max_penalty", "a number"),
    ("late: {grace: 15}", "unknown key", "remove or rename"),
    ("extensions: ext.csv", "needs a late policy", "late:"),
]


@pytest.mark.parametrize("line, what, fix", BAD_POLICIES)
def test_bad_late_policies_name_the_line(tmp_path, line, what, fix):
    (tmp_path / "hw.yaml").write_text(f"title: T\ndue: 2026-12-01 23:59\nseed: 1\n{line}\nproblems:\n"
                                      "  - template: xor_net\n")
    (tmp_path / "r.csv").write_text("student_id\na\n")
    result = run_cli("generate", str(tmp_path / "hw.yaml"), "--roster", str(tmp_path / "r.csv"),
                     "--out", str(tmp_path / "o"))
    assert result.returncode == 2 and "hw.yaml:4: " in result.stderr and what in result.stderr, result.stderr
    assert fix in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("rows, message", [
    ("student_id,due\nzed,2026-12-05\n", "line 2"), ("student_id,due\na,someday\n", "is not a date"),
    ("student_id,due\na,2026-11-01\n", "before the assignment's due"), ("id,when\n", "needs the columns"),
    ("student_id,due\na,2026-12-05\na,2026-12-06\n", "appears twice"),
])
def test_bad_extensions_name_the_file_and_line(tmp_path, rows, message):
    text = "title: T\ndue: 2026-12-01 23:59\nseed: 1\nlate: {penalty_per_day: 0.1}\nextensions: ext.csv\nproblems:\n" \
           "  - template: xor_net\n"
    folder, _ = make_class(tmp_path, [("a", "A")], text.replace("ext.csv", "missing.csv").replace("extensions:", "#"))
    (tmp_path / "ext.csv").write_text("student_id,due\n")
    (tmp_path / "hw.yaml").write_text(text)
    assert hwgen_main(["generate", str(tmp_path / "hw.yaml"), "--roster", str(tmp_path / "roster.csv"),
                       "--out", str(folder), "--force"]) == 0
    (tmp_path / "ext.csv").write_text(rows)  # changed after generating: checked again when grading
    (folder / "submitted").mkdir()
    result = run_cli("grade", str(folder), "--quiet")
    where = "ext.csv:" if "line" not in message else "ext.csv:2"
    assert result.returncode == 2 and where in result.stderr, result.stderr
    assert (message if "line" not in message else "not in the class") in result.stderr
    assert "Traceback" not in result.stderr
