"""Every `hwgen` command builds the whole argument parser, so a library imported at the top of any command module
is paid by every run (hwgen grade's start-up in particular): the heavy ones are imported by the commands that use
them."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("pypdf", "pypdfium2", "zxingcpp", "sympy", "matplotlib")  # scans, calculus, the report


def test_building_the_command_line_imports_no_heavy_library():
    code = ("import sys, hwgen.cli, hwgen.grade.batch; hwgen.cli.build_parser(); "
            f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == []
