"""`hwgen generate --reroll ID [--problem P]`: one student's new numbers, every other byte the same."""

from __future__ import annotations

import hashlib
import json

from hwgen.cli import main as hwgen_main
from hwgen.grade.gradebook import GRADEBOOK, Gradebook
from hwgen.grade.manifest import load_manifest
from hwgen.grade.simulate import submit

from .conftest import run_cli
from .grade_support import make_class

ROSTER = [("ann", "Ann"), ("ben", "Ben"), ("cat", "Cat"), ("dan", "Dan")]


def checksums(folder):
    """Relative path -> SHA-256 of every file under folder."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_reroll_changes_only_that_students_files_and_flags_the_old_notebook(tmp_path, capsys):
    folder, manifest = make_class(tmp_path, ROSTER)
    submit(folder, manifest, "ben", "correct")  # ben's notebook, with his old numbers
    submit(folder, manifest, "ann", "correct")
    assert hwgen_main(["grade", str(folder), "--quiet", "--jobs", "1"]) == 0
    old_entry = json.loads(json.dumps(manifest.students["ben"]))
    old_bytes, (offset, old_size) = (folder / "manifest.json").read_bytes(), manifest.students.where("ben")
    before = checksums(folder)
    args = ["generate", str(tmp_path / "hw.yaml"), "--roster", str(tmp_path / "roster.csv"), "--out", str(folder)]
    assert hwgen_main([*args, "--reroll", "ben", "--problem", "p2"]) == 0
    after = checksums(folder)
    changed = {rel for rel in before if before[rel] != after.get(rel)}
    assert changed == {"manifest.json", "worksheets/ben.tex", "keys/ben.tex", "release/ben/hw/hw.ipynb",
                       "source/ben/hw/hw.ipynb"} and set(after) == set(before)
    new = load_manifest(folder)
    new_bytes, (new_offset, new_size) = (folder / "manifest.json").read_bytes(), new.students.where("ben")
    assert new_offset == offset and new_bytes[:offset] == old_bytes[:offset]  # every other byte the same
    assert new_bytes[offset + new_size:] == old_bytes[offset + old_size:]
    for sid, _ in ROSTER:
        if sid != "ben":
            assert new.students[sid] == manifest.students[sid]
    ben = new.students["ben"]
    assert ben["problems"]["p1"] == old_entry["problems"]["p1"]
    assert ben["problems"]["p2"]["given"] != old_entry["problems"]["p2"]["given"]
    assert [r["problems"] for r in ben["rerolls"]] == [["p2"]]
    capsys.readouterr()
    assert hwgen_main(["grade", str(folder), "--quiet", "--jobs", "1", "--json", str(tmp_path / "r.json")]) == 0
    assert "4 students: 1 graded, 3 unchanged" in capsys.readouterr().err  # ben's variant changed
    report = json.loads((tmp_path / "r.json").read_text())
    assert any("from before the student's new variant" in f for f in report["ben"]["flags"])
    p2 = [i for i in report["ben"]["items"] if i["problem"] == "p2"]
    assert p2 and all(i["status"] != "correct" for i in p2)
    assert all(i["status"] == "correct" for i in report["ben"]["items"] if i["problem"] == "p1")
    submit(folder, new, "ben", "correct")  # the new notebook: no flag
    assert hwgen_main(["grade", str(folder), "--quiet", "--jobs", "1", "--student", "ben"]) == 0
    with Gradebook(folder / GRADEBOOK) as book:
        assert book.report(["ben"])["ben"]["score"] == new.max_points
        assert not any("reroll" in f for f in book.report(["ben"])["ben"]["flags"])


def test_a_whole_reroll_twice_gives_new_numbers_each_time(tmp_path):
    folder, manifest = make_class(tmp_path, ROSTER)
    args = ["generate", str(tmp_path / "hw.yaml"), "--roster", str(tmp_path / "roster.csv"), "--out", str(folder)]
    seen = [manifest.students["dan"]["problems"]]
    for _ in range(2):
        assert hwgen_main([*args, "--reroll", "dan"]) == 0
        seen.append(load_manifest(folder).students["dan"]["problems"])
    for key in ("p1", "p2"):
        givens = [json.dumps(s[key]["given"]) for s in seen]
        assert len(set(givens)) == 3
    assert len(load_manifest(folder).students["dan"]["rerolls"]) == 2


def test_bad_rerolls_are_one_clear_message(tmp_path):
    folder, _ = make_class(tmp_path, ROSTER)
    base = ["generate", str(tmp_path / "hw.yaml"), "--roster", str(tmp_path / "roster.csv"), "--out", str(folder)]
    before = checksums(folder)
    for extra, message in ((["--reroll", "zed"], "not a student"), (["--reroll", "ann", "--problem", "p7"], "use one of"),
                           (["--problem", "p1"], "--problem goes with --reroll"),
                           (["--reroll", "ann", "--force"], "neither --force")):
        result = run_cli(*base, *extra)
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr, result.stderr
    (tmp_path / "hw.yaml").write_text((tmp_path / "hw.yaml").read_text().replace("seed: 7", "seed: 8"))
    result = run_cli(*base, "--reroll", "ann")
    assert result.returncode == 2 and "differs from the one" in result.stderr
    assert checksums(folder) == before
