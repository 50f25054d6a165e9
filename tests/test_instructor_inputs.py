"""Hostile instructor-side input: every bad file or flag is one message naming the file (and line) and the fix,
exit status 2, never a traceback. Each case runs the real CLI (hwgen.cli.main)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Callable

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
