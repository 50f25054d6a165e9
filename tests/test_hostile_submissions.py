"""What a student controls beyond their code: the submission's links, hard links, size and folder names (issue 10,
item 5), and text that reaches the gradebook, the CSV export, the HTML feedback and the terminal (item 2's
downstream half); and gradebooks that are damaged or on a full or read-only disk (item 9)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from hwgen.cli import main
from hwgen.grade.gradebook import GRADEBOOK, Gradebook, Submission
from hwgen.grade.result import Item
from hwgen.grade.simulate import submit
from hwgen.grade.submission import MAX_BYTES, Unreadable, read_notebook

from .grade_support import make_class
from .test_instructor_inputs import assert_refused, run, tmpfs

EVIL = ("\ud800 \udfff NUL\x00 bell\x07 \x1b[2J\x1b]0;pwned\x07 \u202eevil <script>alert(1)</script> "
        "=cmd|' /C calc'!A0 ")
ATTACKS = ("folder_link", "assignment_link", "notebook_link", "hard_link", "huge", "strings")
ROSTER = [("honest", "Honest"), *((sid, sid) for sid in ATTACKS), ("formula", "=HYPERLINK(\"http://x\",\"y\")")]


def _nb(folder: Path, tree: str, sid: str, name: str) -> Path:
    return folder / tree / sid / name / f"{name}.ipynb"


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    """A class with one honest student and one attacker per mechanism, graded once through the CLI."""
    folder, manifest = make_class(tmp_path_factory.mktemp("hostile"), ROSTER)
    name, sub = manifest.name, folder / "submitted"
    for sid in ("honest", "notebook_link", "hard_link", "huge", "formula"):
        submit(folder, manifest, sid, "correct")
    (sub / "folder_link").symlink_to(folder / "source" / "folder_link")
    (sub / "assignment_link").mkdir(parents=True)
    (sub / "assignment_link" / name).symlink_to(folder / "source" / "assignment_link" / name)
    _nb(folder, "submitted", "notebook_link", name).unlink()
    _nb(folder, "submitted", "notebook_link", name).symlink_to(_nb(folder, "source", "notebook_link", name))
    _nb(folder, "submitted", "hard_link", name).unlink()
    os.link(_nb(folder, "source", "hard_link", name), _nb(folder, "submitted", "hard_link", name))
    with _nb(folder, "submitted", "huge", name).open("r+b") as f:
        f.truncate(MAX_BYTES + 1)  # sparse: refused from its size, never read
    strings = json.loads(submit(folder, manifest, "strings", "correct").read_text(encoding="utf-8"))
    strings["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                             "source": f"raise ValueError({EVIL!r} + 'x' * 10_000_000)"})
    _nb(folder, "submitted", "strings", name).write_text(json.dumps(strings), encoding="utf-8")
    os.mkdir(os.fsencode(sub) + b"/not-utf8-\xff\xfe")  # a folder name that is not UTF-8
    (sub / "ansi\x1b[31mred").mkdir()  # and one that would colour the terminal
    return folder, manifest


@pytest.fixture(scope="module")
def graded(klass):
    """(folder, manifest, the output of `hwgen grade`, its submissions, the source notebooks' bytes before)."""
    folder, manifest = klass
    before = {p: p.read_bytes() for p in (folder / "source").rglob("*.ipynb")}
    capture = io.StringIO()
    with contextlib.redirect_stderr(capture), contextlib.redirect_stdout(capture):
        status = main(["grade", str(folder), "--jobs", "1", "--quiet", "--timeout", "5", "--memory", "512"])
    assert status == 0, capture.getvalue()
    with Gradebook(folder / GRADEBOOK) as book:
        subs = book.submissions()
    return folder, manifest, capture.getvalue(), subs, before


@pytest.mark.parametrize("sid,why", [("folder_link", "symbolic link"), ("assignment_link", "symbolic link"),
                                     ("notebook_link", "symbolic link"), ("hard_link", "hard link"),
                                     ("huge", f"more than the {MAX_BYTES // 2**20} MB")])
def test_a_submission_that_is_not_the_students_own_file_is_refused(graded, sid, why):
    folder, manifest, _, subs, before = graded
    assert subs[sid].status == "invalid" and subs[sid].score == 0
    assert any(why in flag for flag in subs[sid].flags), subs[sid].flags
    assert {p: p.read_bytes() for p in (folder / "source").rglob("*.ipynb")} == before


def test_the_honest_classmates_keep_full_marks(graded):
    _, manifest, _, subs, _ = graded
    assert subs["honest"].status == "graded" and subs["honest"].score == pytest.approx(manifest.max_points)
    assert subs["formula"].score == pytest.approx(manifest.max_points)


def test_folder_names_that_cannot_be_ids_are_reported_and_skipped(graded):
    _, _, output, subs, _ = graded
    assert "Traceback" not in output and "\x1b" not in output
    assert "not-utf8-" in output and "not valid UTF-8" in output
    assert "ansi\\x1b[31mred" in output and "control" in output
    assert "2 folders skipped" in output
    assert not any(s.startswith(("not-utf8", "ansi")) for s in subs)


def test_hostile_text_is_kept_as_valid_bounded_text(graded):
    folder, _, _, subs, _ = graded
    db = sqlite3.connect(folder / GRADEBOOK)  # the default text factory: strict UTF-8
    texts = [t for row in db.execute("SELECT message FROM items UNION ALL SELECT flags FROM submissions")
             for t in row]
    db.close()
    assert all("\x1b" not in t and "\x00" not in t and len(t) < 100_000 for t in texts)
    assert any("<script>" in flag for flag in subs["strings"].flags)  # kept, as text, for the instructor


def test_export_and_feedback_show_hostile_text_safely(graded, tmp_path, capsys):
    folder, manifest, _, _, _ = graded
    for fmt in ("canvas", "moodle"):
        status, output = run(capsys, ["export", str(folder), "--csv", str(tmp_path / f"{fmt}.csv"), "--format", fmt])
        assert status == 0, output
        rows = list(csv.reader(io.StringIO((tmp_path / f"{fmt}.csv").read_text(encoding="utf-8"))))
        cells = [c for row in rows for c in row]
        assert not [c for c in cells if c.startswith(("=", "+", "@")) or c.startswith("-") and not c[1:2].isdigit()]
        assert any(c.startswith("'=HYPERLINK") for c in cells) and any("'=cmd" in c or "=cmd" in c for c in cells)
    status, output = run(capsys, ["feedback", str(folder), "--out", str(tmp_path / "fb")])
    assert status == 0, output
    page = (tmp_path / "fb" / "strings.html").read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;" in page and "\x1b" not in page


def test_the_gradebook_keeps_any_text_valid_and_bounded(tmp_path):
    """Record hostile text directly (whatever a child's report or a file name may hold) and read it back."""
    sub = Submission("s1", "graded", path="s1/hw/\udcff\udcfe.ipynb", flags=[EVIL * 3, "x" * 10_000_000] * 40)
    item = Item("p1", "L", 0.0, 1.0, "wrong", EVIL + "y" * 10_000_000, misconception=EVIL)
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    with Gradebook(tmp_path / GRADEBOOK) as book:
        book.record(sub, [item, Item("p1", "Z1", 0.0, 1.0, "wrong", "m"), Item("p1", "A1", 0.0, 1.0, "wrong", "m")],
                    {("p1", "L"): 10**5000, ("p1", "Z1"): deep, ("p1", "A1"): [1.5, float("nan")]})
        back, items = book.submissions()["s1"], book.items("s1")
    assert len(back.flags) == 51 and all(len(f) < 10_000 for f in back.flags)
    assert "\ufffd" in back.path and "\\x1b[2J" in back.flags[0]
    assert len(items[0][0].message) < 10_000 and "\\x00" in items[0][0].message
    assert [answer for _, answer, _ in items][:2] == [None, None] and items[2][1][0] == 1.5


def _random(path: Path) -> None:
    path.write_bytes(os.urandom(100_000))


def _text(path: Path) -> None:
    path.write_text("student,score\nann,10\n", encoding="utf-8")


def _folder(path: Path) -> None:
    path.mkdir()


def _other_schema(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE submissions (who TEXT, mark REAL)")
    db.commit()
    db.close()


def _truncated(path: Path, good: bytes) -> None:
    path.write_bytes(good[: len(good) // 3])


DAMAGE = {"random bytes": _random, "text": _text, "a folder": _folder, "another schema": _other_schema,
          "truncated": _truncated}


@pytest.mark.parametrize("command", ["grade", "export", "feedback"])
@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_gradebook_is_one_message(klass, graded, tmp_path, capsys, damage, command):
    folder, _ = klass
    copy = tmp_path / "class"
    copy.mkdir()
    (copy / "manifest.json").write_bytes((folder / "manifest.json").read_bytes())
    (copy / "submitted").mkdir()
    good = (folder / GRADEBOOK).read_bytes()
    fn = DAMAGE[damage]
    fn(copy / GRADEBOOK, good) if fn is _truncated else fn(copy / GRADEBOOK)
    status, output = run(capsys, [command, str(copy), *(["--quiet", "--jobs", "1"] if command == "grade" else [])])
    assert_refused(status, output, "gradebook.db", "hwgen grade")


def _copy(folder: Path, copy: Path) -> Path:
    """The class's manifest, gradebook and honest student's notebook copied to `copy`."""
    name = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["assignment"]["name"]
    _nb(copy, "submitted", "honest", name).parent.mkdir(parents=True)
    for rel in ("manifest.json", GRADEBOOK, _nb(Path(), "submitted", "honest", name)):
        (copy / rel).write_bytes((folder / rel).read_bytes())
    return copy


def _fill(folder: Path) -> None:
    """Fill the file system that holds `folder` (until the write that fails for want of space)."""
    with contextlib.suppress(OSError), (folder / "filler").open("wb") as f:
        while True:
            f.write(b"\0" * 65536)
            f.flush()


@pytest.mark.parametrize("command", ["grade", "export", "feedback"])
def test_a_gradebook_on_a_full_disk_is_one_message(klass, graded, tmp_path, capsys, command):
    folder, _ = klass
    with tmpfs(tmp_path / "small", "2m") as small:
        copy = _copy(folder, small / "class")
        _fill(copy)
        status, output = run(capsys, [command, str(copy), *(["--quiet", "--jobs", "1", "--regrade"]
                                                            if command == "grade" else [])])
        assert_refused(status, output, "class/", "space")


@pytest.mark.parametrize("command", ["grade", "export", "feedback"])
def test_a_gradebook_on_a_read_only_disk_is_one_message(klass, graded, tmp_path, capsys, command):
    folder, _ = klass
    with tmpfs(tmp_path / "ro", "8m") as ro:
        copy = _copy(folder, ro / "class")
        subprocess.run(["mount", "-o", "remount,ro", str(ro)], check=True)
        status, output = run(capsys, [command, str(copy), *(["--quiet", "--jobs", "1", "--regrade"]
                                                            if command == "grade" else [])])
        assert_refused(status, output, "class/", "writable")


def _entry(data: dict, change) -> str:
    """manifest.json's text with `change(first student's p1 record)` applied."""
    change(next(iter(data["students"].values()))["problems"]["p1"])
    return json.dumps(data)


# name -> the damaged manifest text made from the good one's data, and what the message names
MANIFESTS = {
    "a string answer": (lambda d: _entry(d, lambda p: p["answers"].update(L="abc")), "answers.L"),
    "a wrongly shaped given": (lambda d: _entry(d, lambda p: p["given"].update(W1=[1, 2, 3])), "given.W1"),
    "a ragged answer": (lambda d: _entry(d, lambda p: p["answers"].update(Z1=[[1, 2], [3]])), "answers.Z1"),
    "answers not an object": (lambda d: _entry(d, lambda p: p.update(answers=[1])), "answers"),
    "a NaN answer": (lambda d: _entry(d, lambda p: p["answers"].update(L=float("nan"))), "answers.L"),
    "10**400": (lambda d: _entry(d, lambda p: p["answers"].update(L=10**400)), "answers.L"),
    "5000 digits": (lambda d: json.dumps(d).replace('"seed": ', '"seed": 1' + "0" * 5000 + ', "x": ', 1), "digits"),
    "very deep nesting": (lambda d: json.dumps(d).replace('"seed": ', '"seed": ' + "[" * 100_000 + "]" * 100_000
                                                           + ', "x": ', 1), "nested too deeply"),
    "points NaN": (lambda d: json.dumps({**d, "problems": [{**d["problems"][0], "asked": {"L": float("nan")}},
                                                            *d["problems"][1:]]}), "points"),
    "grading not an object": (lambda d: json.dumps({**d, "assignment": {**d["assignment"], "grading": "x"}}),
                              "grading"),
}


@pytest.mark.parametrize("command", ["grade", "export", "feedback"])
@pytest.mark.parametrize("name", MANIFESTS)
def test_a_damaged_manifest_is_one_message(klass, graded, tmp_path, capsys, name, command):
    folder, _ = klass
    copy = _copy(folder, tmp_path / "class")
    make, names = MANIFESTS[name]
    (copy / "manifest.json").write_text(make(json.loads((folder / "manifest.json").read_text(encoding="utf-8"))),
                                        encoding="utf-8")
    status, output = run(capsys, [command, str(copy), *(["--quiet", "--jobs", "1"] if command == "grade" else [])])
    assert_refused(status, output, "manifest.json", "hwgen generate", names)


@pytest.mark.parametrize("args,names", [
    (["misconceptions", "{class}", "--csv", "{tmp}"], "it is a folder"),
    (["export", "{class}", "--csv", "{tmp}"], "it is a folder"),
    (["feedback", "{class}", "--out", "{tmp}/file"], "in the way"),
])
def test_an_output_that_cannot_be_written_is_one_message(graded, tmp_path, capsys, args, names):
    (tmp_path / "file").write_text("x", encoding="utf-8")
    status, output = run(capsys, [a.format(**{"class": graded[0], "tmp": tmp_path}) for a in args])
    assert_refused(status, output, str(tmp_path), names)


@pytest.mark.parametrize("body", ['{"cells": [], "x": 1%s}' % ("0" * 5000), '{"cells": %s}' % ("[" * 100_000)])
def test_a_notebook_of_hostile_json_is_unreadable_not_a_crash(body):
    # a 5,000-digit integer raised ValueError (Python's limit on integer conversion) in the trusted process
    with pytest.raises(Unreadable):
        read_notebook(Path("hw.ipynb"), body.encode())
