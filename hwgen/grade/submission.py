"""A student's submitted notebook: find it in nbgrader's layout, read its code cells, tolerantly.

The notebook is parsed with the standard json module, not nbformat: nothing is validated or upgraded
(a half-broken notebook still yields its code) and nothing is trusted: metadata is ignored, only each
code cell's source is kept, and every defect becomes a message for the student.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

MAX_BYTES = 50 * 2**20  # larger notebooks are almost always full of saved output; they are refused
FIX = "open it in Jupyter, save it (File > Save and Checkpoint), and submit the saved .ipynb file again"


class Unreadable(Exception):
    """A file that yields no code cells; str(exc) says why, for the student."""


@dataclass
class Notebook:
    """The code cells of one submitted notebook, in order, with what was odd about the file."""

    path: Path
    cells: list[str]
    notes: list[str] = field(default_factory=list)

    def label(self, index: int) -> str:
        """How a student finds code cell `index`: 'code cell 7 (`p1_dW1 = ...`)'."""
        first = next((line.strip() for line in self.cells[index].splitlines() if line.strip()), "")
        first = first if len(first) <= 40 else first[:37] + "..."
        return f"code cell {index + 1}" + (f" (`{first}`)" if first else "")

    @cached_property
    def _names(self) -> list[set[str]]:
        """The identifiers in each code cell."""
        return [set(re.findall(r"[A-Za-z_]\w*", src)) for src in self.cells]

    def mentioning(self, name: str) -> list[int]:
        """Indexes of the code cells whose source mentions the variable `name`."""
        return [i for i, names in enumerate(self._names) if name in names]


def locate(student_dir: Path, assignment: str) -> tuple[Path | None, list[str]]:
    """The notebook to grade in submitted/<student>/: <assignment>/<assignment>.ipynb, else the only
    (or newest) .ipynb in <assignment>/ or in the student's folder itself; notes say what was odd."""
    expected = student_dir / assignment / f"{assignment}.ipynb"
    if expected.is_file():
        return expected, []
    for folder in (student_dir / assignment, student_dir):
        found = sorted((p for p in folder.glob("*.ipynb") if p.is_file() and not p.name.startswith(".")),
                       key=lambda p: (p.stat().st_mtime, p.name)) if folder.is_dir() else []
        if found:
            chosen = found[-1]
            base = student_dir.parent.parent
            notes = [f"graded {chosen.relative_to(base)}: the expected file is {expected.relative_to(base)}"]
            if len(found) > 1:
                notes.append(f"{len(found)} notebooks were found; the newest was graded, not "
                             + ", ".join(p.name for p in found[:-1]))
            return chosen, notes
    return None, []


def links_outside(path: Path, folder: Path) -> bool:
    """Whether `path` is, or lies below, a symbolic link to something outside `folder` (the student's own):
    such a file (another student's notebook, an instructor's, a device) is never read."""
    return not path.resolve().is_relative_to(folder.resolve())


def file_sha256(path: Path) -> tuple[str | None, bytes | None]:
    """SHA-256 of a file and, if it is no larger than MAX_BYTES, its bytes (read once, for read_notebook);
    (None, None) if it cannot be read. A larger file is hashed in blocks."""
    try:
        with path.open("rb") as f:
            if os.fstat(f.fileno()).st_size <= MAX_BYTES:
                data = f.read()
                return hashlib.sha256(data).hexdigest(), data
            digest, block = hashlib.sha256(), bytearray(1 << 20)
            while size := f.readinto(block):
                digest.update(memoryview(block)[:size])
            return digest.hexdigest(), None
    except OSError:
        return None, None


def _source(cell: dict) -> str | None:
    """A cell's source as one string (nbformat allows a string or a list of lines), or None."""
    src = cell.get("source", "")
    if isinstance(src, list) and all(isinstance(s, str) for s in src):
        return "".join(src)
    return src if isinstance(src, str) else None


def strip_magics(source: str) -> str:
    """IPython-only syntax made harmless: a %%cell magic skips the cell, %line magics and !shell lines become `pass`."""
    if source.lstrip().startswith("%%"):
        return ""
    lines = source.split("\n")
    for i, line in enumerate(lines):
        body = line.lstrip()
        if body.startswith(("%", "!")):
            lines[i] = line[: len(line) - len(body)] + "pass"
    return "\n".join(lines)


def read_notebook(path: Path, raw: bytes | None = None) -> Notebook:
    """The code cells of the notebook at `path` (whose bytes are `raw`, if they have been read already);
    Unreadable if there are none to be had."""
    size = path.stat().st_size if raw is None else len(raw)
    if size > MAX_BYTES:
        raise Unreadable(f"the notebook is {size / 2**20:.0f} MB, more than the {MAX_BYTES // 2**20} MB accepted; "
                         "clear its outputs (Edit > Clear All Outputs), save, and submit it again")
    raw = path.read_bytes() if raw is None else raw
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise Unreadable(f"{path.name} is not a text file, so not a Jupyter notebook; {FIX}") from None
    except json.JSONDecodeError as exc:
        raise Unreadable(f"{path.name} is not valid notebook JSON (line {exc.lineno}, column {exc.colno}: "
                         f"{exc.msg}); the file is damaged. {FIX}") from None
    except RecursionError:
        raise Unreadable(f"{path.name} is nested too deeply to be a notebook; {FIX}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        old = isinstance(data, dict) and "worksheets" in data
        raise Unreadable(f"{path.name} is " + ("an old (version 3) notebook" if old else "not a Jupyter notebook")
                         + f" (it has no list of cells); {FIX}")
    cells, notes = [], []
    for n, cell in enumerate(data["cells"], 1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = _source(cell)
        if source is None:
            notes.append(f"cell {n} has no readable source and was skipped")
            continue
        cells.append(strip_magics(source))
    if not cells:
        raise Unreadable(f"{path.name} has no code cells; submit the notebook you worked in")
    return Notebook(path, cells, notes)
