"""Hostile instructor-side input: every bad file or flag is one message naming the file (and line) and the fix,
exit status 2, never a traceback. Each case runs the real CLI (hwgen.cli.main)."""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import subprocess
from pathlib import Path
from typing import Callable, Iterator

import pytest

from hwgen.cli import main

ASSIGNMENT = "title: T\nseed: 7\nproblems:\n  - template: xor_net\n    points: 10\n"
ROSTER = "student_id,name,email\ns1,Ann,a@x.edu\ns2,Bo,b@x.edu\n"


def _alias_bomb() -> str:
    """Nine levels of nine aliases each: a few lines that expand to 9**9 values."""
    lines = ["  l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]
    return "title: T\nseed: 7\ngrading:\n" + "\n".join(lines) + "\nproblems:\n  - template: xor_net\n"


def run(capsys: pytest.CaptureFixture, args: list[str]) -> tuple[int, str]:
    """Exit status and everything printed."""
    try:
        status = main(args)
    except SystemExit as exc:  # argparse's own errors
        status = exc.code
    out = capsys.readouterr()
    return status, out.out + out.err


def assert_refused(status: int, output: str, names: str, *fix_words: str) -> None:
    """Exit status 2, one message naming the file, a fix, no traceback and no file contents."""
    assert status == 2, output
    assert "Traceback" not in output, output
    assert names in output, output
    assert "fix:" in output or "usage:" in output, output
    for word in fix_words:
        assert word in output, output


# name -> (assignment text, what the message must name besides the file, words of the fix)
ASSIGNMENT_CASES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "impossible date": ("title: T\nseed: 7\ndue: 2026-13-45\nproblems:\n  - template: xor_net\n",
                        "hw.yaml:3", ("2026-12-01",)),
    "alias bomb": (_alias_bomb(), "hw.yaml:5", ("alias", "anchor")),
    "points nan": (ASSIGNMENT.replace("10", ".nan"), "hw.yaml:5", ("finite",)),
    "points inf": (ASSIGNMENT.replace("10", ".inf"), "hw.yaml:5", (".inf",)),
    "points -inf": (ASSIGNMENT.replace("10", "-.inf"), "hw.yaml:5", (".inf",)),
    "points 10**400": (ASSIGNMENT.replace("10", "1" + "0" * 400), "hw.yaml:5", ("fewer digits",)),
    "points 10**50": (ASSIGNMENT.replace("10", "1" + "0" * 50), "hw.yaml:5", ("at most",)),
    "points 5000 digits": (ASSIGNMENT.replace("10", "9" * 5000), "hw.yaml:5", ("fewer digits",)),
    "asked points inf": (ASSIGNMENT + "    asked: {Z1: .inf}\n", "hw.yaml:6", ("finite",)),
    "lr nan": (ASSIGNMENT + "    lr: .nan\n", "hw.yaml:6", ("finite",)),
    "deep nesting": ("title: T\nseed: 7\ngrading: " + "[" * 5000 + "]" * 5000 + "\nproblems:\n  - template: xor_net\n",
                     "hw.yaml:3", ("flatten",)),
    "template is /etc/passwd": (ASSIGNMENT.replace("xor_net", "../../../../../../../../etc/passwd"),
                                "etc/passwd", ("mapping",)),
    "empty file": ("", "hw.yaml", ("mapping",)),
    "binary file": ("\x00\x01\x02", "hw.yaml", ("not valid YAML",)),
    "duplicate key": ("title: T\n" + ASSIGNMENT, "hw.yaml:2", ("keep one",)),
    "a list, not a mapping": ("- a\n- b\n", "hw.yaml", ("mapping",)),
}


@pytest.mark.parametrize("name", ASSIGNMENT_CASES)
def test_bad_assignment_file_is_one_message(tmp_path, capsys, name):
    text, names, fix = ASSIGNMENT_CASES[name]
    (tmp_path / "hw.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    status, output = run(capsys, ["generate", str(tmp_path / "hw.yaml"), "--roster", str(tmp_path / "roster.csv"),
                                  "--out", str(tmp_path / "out"), "--jobs", "1"])
    assert_refused(status, output, names, *fix)
    assert "root:x:0:0" not in output
    assert not (tmp_path / "out").exists()


def test_a_bom_and_crlf_assignment_is_read(tmp_path, capsys):
    (tmp_path / "hw.yaml").write_bytes(b"\xef\xbb\xbf" + ASSIGNMENT.replace("\n", "\r\n").encode())
    (tmp_path / "roster.csv").write_bytes(b"\xef\xbb\xbf" + ROSTER.replace("\n", "\r\n").encode())
    status, output = run(capsys, ["generate", str(tmp_path / "hw.yaml"), "--roster", str(tmp_path / "roster.csv"),
                                  "--out", str(tmp_path / "out"), "--jobs", "1"])
    assert status == 0, output


def _roster_rows(rows: list[list[str]]) -> str:
    lines = ["student_id,name,email"]
    for row in rows:
        lines.append(",".join(row))
    return "\n".join(lines) + "\n"


# name -> (roster bytes, what the message must name, words of the fix)
ROSTER_CASES: dict[str, tuple[bytes, str, tuple[str, ...]]] = {
    "field over 128 KiB": (_roster_rows([["s1", "x" * 200_000, ""]]).encode(), "roster.csv:2", ("128 KiB",)),
    "NUL in a name": (_roster_rows([["s1", "a\x00b", ""]]).encode(), "roster.csv:2", ("control",)),
    "ANSI escape in a name": (_roster_rows([["s1", "\x1b[2J", ""]]).encode(), "roster.csv:2", ("control",)),
    "not UTF-8": (b"student_id\n\xff\xfe\n", "roster.csv", ("UTF-8",)),
    "empty": (b"", "roster.csv:1", ("student_id",)),
    "no students": (b"student_id,name\n", "roster.csv", ("add one row",)),
    "duplicate ids": (_roster_rows([["s1", "", ""], ["s1", "", ""]]).encode(), "roster.csv:3", ("unique",)),
    "id with a slash": (_roster_rows([["../s1", "", ""]]).encode(), "roster.csv:2", ("no slashes",)),
}


@pytest.mark.parametrize("name", ROSTER_CASES)
def test_bad_roster_is_one_message(tmp_path, capsys, name):
    data, names, fix = ROSTER_CASES[name]
    (tmp_path / "hw.yaml").write_text(ASSIGNMENT, encoding="utf-8")
    (tmp_path / "roster.csv").write_bytes(data)
    status, output = run(capsys, ["generate", str(tmp_path / "hw.yaml"), "--roster", str(tmp_path / "roster.csv"),
                                  "--out", str(tmp_path / "out"), "--jobs", "1"])
    assert_refused(status, output, names, *fix)


# name -> how the input file is replaced (path -> None)
NOT_A_FILE: dict[str, Callable[[Path], None]] = {
    "a folder": lambda p: p.mkdir(),
    "a device": lambda p: p.symlink_to("/dev/zero"),
    "missing": lambda p: None,
    "larger than 4 MiB": lambda p: p.write_bytes(b"# " + b"x" * (5 * 2**20) + b"\n"),
}


@pytest.mark.parametrize("which", ["hw.yaml", "roster.csv"])
@pytest.mark.parametrize("name", NOT_A_FILE)
def test_an_input_that_is_not_a_usable_file_is_one_message(tmp_path, capsys, name, which):
    (tmp_path / "hw.yaml").write_text(ASSIGNMENT, encoding="utf-8")
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    (tmp_path / which).unlink()
    NOT_A_FILE[name](tmp_path / which)
    status, output = run(capsys, ["generate", str(tmp_path / "hw.yaml"), "--roster", str(tmp_path / "roster.csv"),
                                  "--out", str(tmp_path / "out"), "--jobs", "1"])
    assert_refused(status, output, which)


def test_roster_written_by_csv_module_is_read(tmp_path, capsys):
    """The control: the same roster as the hostile cases, written properly, generates."""
    with (tmp_path / "roster.csv").open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["student_id", "name"], ["s1", "Ann, \"the\" first"]])
    (tmp_path / "hw.yaml").write_text(ASSIGNMENT, encoding="utf-8")
    status, output = run(capsys, ["generate", str(tmp_path / "hw.yaml"), "--roster", str(tmp_path / "roster.csv"),
                                  "--out", str(tmp_path / "out"), "--jobs", "1"])
    assert status == 0, output


@contextlib.contextmanager
def tmpfs(where: Path, size: str, readonly: bool = False) -> Iterator[Path]:
    """A small tmpfs mounted at `where` (full after `size`; remounted read-only if asked); skips without root."""
    where.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                                           capture_output=True).returncode:
        pytest.skip("mounting a tmpfs needs root (and a mount namespace that allows it)")
    try:
        if readonly:
            subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[Path]:
    """A folder with the immutable attribute (chattr +i); skips where that cannot be set."""
    path.mkdir()
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode:
        pytest.skip("chattr +i is not available here (needs root and a file system with attributes)")
    try:
        yield path
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def _generate(capsys: pytest.CaptureFixture, tmp_path: Path, out: Path, roster: str = ROSTER,
              *extra: str) -> tuple[int, str]:
    (tmp_path / "hw.yaml").write_text(ASSIGNMENT, encoding="utf-8")
    (tmp_path / "roster.csv").write_text(roster, encoding="utf-8")
    return run(capsys, ["generate", str(tmp_path / "hw.yaml"), "--roster", str(tmp_path / "roster.csv"),
                        "--out", str(out), "--jobs", "1", *extra])


def test_output_folder_that_is_a_dangling_link(tmp_path, capsys):
    (tmp_path / "out").symlink_to(tmp_path / "nowhere")
    assert_refused(*_generate(capsys, tmp_path, tmp_path / "out"), "out", "remove the link")


def test_output_folder_that_is_immutable(tmp_path, capsys):
    with immutable(tmp_path / "out") as out:
        assert_refused(*_generate(capsys, tmp_path, out), "out", "chattr -i")


def test_output_folder_on_a_read_only_file_system(tmp_path, capsys):
    with tmpfs(tmp_path / "ro", "1m", readonly=True) as ro:
        assert_refused(*_generate(capsys, tmp_path, ro / "out"), "ro/out", "writable disk")


@pytest.mark.parametrize("students", [3, 300])
def test_full_disk_during_generate_leaves_no_partial_manifest(tmp_path, capsys, students):
    roster = "student_id\n" + "".join(f"s{i}\n" for i in range(students))
    with tmpfs(tmp_path / "small", "96k") as small:
        status, output = _generate(capsys, tmp_path, small / "out", roster)
        assert_refused(status, output, "out", "free some space", "--force")
        assert not (small / "out" / "manifest.json.partial").exists()
        assert not (small / "out" / "manifest.json").exists()


# flags of `hwgen grade` and `hwgen generate` -> a hostile value each
BAD_FLAGS: list[tuple[str, str, str]] = [
    ("grade", "--timeout", "nan"), ("grade", "--timeout", "inf"), ("grade", "--timeout", "-1"),
    ("grade", "--timeout", "0"), ("grade", "--timeout", "1e400"), ("grade", "--timeout", "ten"),
    ("grade", "--memory", "0"), ("grade", "--memory", "-64"), ("grade", "--memory", "9" * 30),
    ("grade", "--jobs", "-1"), ("grade", "--jobs", "100000"), ("grade", "--jobs", "1.5"),
    ("generate", "--jobs", "-5"), ("generate", "--jobs", "100000000"),
]


@pytest.mark.parametrize("command,flag,value", BAD_FLAGS)
def test_hostile_flag_values_are_refused(tmp_path, capsys, command, flag, value):
    args = {"grade": ["grade", str(tmp_path)],
            "generate": ["generate", str(tmp_path / "hw.yaml"), "--roster", str(tmp_path / "r.csv"),
                         "--out", str(tmp_path / "out")]}[command]
    status, output = run(capsys, [*args, flag, value])
    assert_refused(status, output, flag, "write e.g.")


def test_json_report_pointing_at_a_folder_is_refused_before_grading(tmp_path, capsys):
    (tmp_path / "report").mkdir()
    status, output = run(capsys, ["grade", str(tmp_path / "class"), "--json", str(tmp_path / "report")])
    assert_refused(status, output, "report", "file")


# name -> the --given file of `hwgen solve` (None: /dev/zero), and what the message says
GIVEN_FILES: dict[str, tuple[str | None, str]] = {
    "deep nesting": ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    "5000 digits": ('{"X": 1' + "0" * 5000 + "}", "digits"),
    "a device": (None, "not a regular file"),
    "NaN": ('{"X": [[NaN, 1], [0, 1]], "Y": [[1]], "W1": [[1, 1], [1, 1]], "b1": [0, 0], "W2": [[1], [1]], '
            '"b2": [0]}', "finite"),
}


@pytest.mark.parametrize("name", GIVEN_FILES)
def test_bad_given_file_is_one_message(tmp_path, capsys, name):
    text, what = GIVEN_FILES[name]
    path = tmp_path / "given.json"
    path.symlink_to("/dev/zero") if text is None else path.write_text(text, encoding="utf-8")
    status, output = run(capsys, ["solve", "xor_net", "--given", str(path)])
    assert_refused(status, output, "given.json", what)


def test_json_report_in_a_missing_folder_is_refused_before_grading(tmp_path, capsys):
    status, output = run(capsys, ["grade", str(tmp_path / "class"), "--json", str(tmp_path / "nowhere" / "r.json")])
    assert_refused(status, output, "r.json", "existing folder")


# name -> how out/.hwgen-outputs (hwgen's record of an earlier run) is damaged, and what the message says
RECORDS: dict[str, tuple[Callable[[Path, Path], None], str]] = {
    "not UTF-8": (lambda rec, tmp: rec.write_bytes(b"\xff\xfe\n"), "cannot be read"),
    "a path outside": (lambda rec, tmp: rec.write_text("../../x\n", encoding="utf-8"), "was edited"),
    "a folder": (lambda rec, tmp: rec.mkdir(), "in the way"),
    "a link to a file": (lambda rec, tmp: rec.symlink_to(tmp / "hw.yaml"), "in the way"),
    "a dangling link": (lambda rec, tmp: rec.symlink_to(tmp / "created-through-the-link"), "in the way"),
}


@pytest.mark.parametrize("name", RECORDS)
def test_a_damaged_record_of_an_earlier_run_is_one_message(tmp_path, capsys, name):
    damage, what = RECORDS[name]
    (tmp_path / "out").mkdir()
    (tmp_path / "hw.yaml").write_text(ASSIGNMENT, encoding="utf-8")
    damage(tmp_path / "out" / ".hwgen-outputs", tmp_path)
    status, output = _generate(capsys, tmp_path, tmp_path / "out", ROSTER, "--force")
    assert_refused(status, output, ".hwgen-outputs", what)
    assert not (tmp_path / "created-through-the-link").exists()
    assert (tmp_path / "hw.yaml").read_text(encoding="utf-8") == ASSIGNMENT
