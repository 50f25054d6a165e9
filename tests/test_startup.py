"""Every `hwgen` command builds the whole argument parser, so a library imported at the top of any command module
is paid by every run (hwgen grade's start-up in particular): the heavy ones are imported by the commands that use
them. And hwgen grade reads and checks the manifest once."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("pypdf", "pypdfium2", "zxingcpp", "sympy", "matplotlib")  # scans, calculus, the report


def test_building_the_command_line_imports_no_heavy_library():
    code = ("import sys, hwgen.cli, hwgen.grade.batch; hwgen.cli.build_parser(); "
            f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == []


def test_hwgen_grade_checks_each_students_manifest_entry_once(tmp_path, monkeypatch):
    """The table at the end of hwgen grade reads the manifest the run has read (each entry checked once), not a
    second copy of it that checks every entry again."""
    from hwgen.cli import main
    from hwgen.grade.manifest import EntryCheck

    from .grade_support import make_class

    folder, _ = make_class(tmp_path, [("s1", "Ada"), ("s2", "Bob")])
    (folder / "submitted").mkdir()
    checked: list[object] = []
    real = EntryCheck.problem
    monkeypatch.setattr(EntryCheck, "problem", lambda self, entry: checked.append(entry) or real(self, entry))
    assert main(["grade", str(folder), "--quiet"]) == 0
    assert len(checked) == 2
