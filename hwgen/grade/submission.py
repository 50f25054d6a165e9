"""A student's submitted notebook: find it in nbgrader's layout, read its code cells, tolerantly.

The notebook is parsed with the standard json module, not nbformat: nothing is validated or upgraded
(a half-broken notebook still yields its code) and nothing is trusted: metadata is ignored, only each
code cell's source is kept, and every defect becomes a message for the student.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable

MAX_BYTES = 50 * 2**20  # larger notebooks are almost always full of saved output; they are refused
MAGIC = re.compile(r"^\s*[%!]", re.MULTILINE)  # a line that may start with % or ! (blanks, even line ends, first)
CHECK = re.compile(r"# Check p\d+_\w+ \(")  # the first line of a notebook's check cell (templates/notebook/test.py.j2)
FIX = "open it in Jupyter, save it (File > Save and Checkpoint), and submit the saved .ipynb file again"


class Unreadable(Exception):
    """A file that yields no code cells; str(exc) says why, for the student. `fingerprint`, when the file was
    refused unread, stands for it in the gradebook (so an unchanged refused file is not looked at again)."""

    def __init__(self, why: str, fingerprint: str | None = None) -> None:
        super().__init__(why)
        self.fingerprint = None if fingerprint is None else "refused:" + hashlib.sha256(
            f"{why}\n{fingerprint}".encode("utf-8", "replace")).hexdigest()


@dataclass
class Notebook:
    """The code cells of one submitted notebook, in order, with what was odd about the file."""

    path: Path
    cells: list[str]
    notes: list[str] = field(default_factory=list)
    places: list[tuple[int, int | None]] = field(default_factory=list)  # per code cell: position among all cells,
    # counted from 1 as a student scrolls (markdown included), and the execution count Jupyter shows as In [n]

    def label(self, index: int) -> str:
        """How a student finds code cell `index` in Jupyter: 'cell 15 (In [7]: `p1_dW1 = ...`)', its position among
        all the notebook's cells, the execution count shown beside it, and its first line."""
        first = next((line.strip() for line in self.cells[index].splitlines() if line.strip()), "")
        first = first if len(first) <= 40 else first[:37] + "..."
        position, count = self.places[index] if index < len(self.places) else (index + 1, None)
        shown = ([f"In [{count}]"] if count is not None else []) + ([f"`{first}`"] if first else [])
        return f"cell {position}" + (f" ({': '.join(shown)})" if shown else "")

    def is_check(self, index: int) -> bool:
        """Whether code cell `index` is one of the notebook's own type-and-shape checks of an answer (its text
        starts as hwgen writes them); what it asserts is already on the answer's item."""
        return bool(CHECK.match(self.cells[index]))

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


def _too_large(size: int) -> str:
    """Why a notebook of `size` bytes is refused."""
    return (f"the notebook is {size / 2**20:.0f} MB, more than the {MAX_BYTES // 2**20} MB accepted; clear its "
            "outputs (Edit > Clear All Outputs), save, and submit it again")


HAND_IN = "Hand in the notebook file itself."
# (the opened file is refused if, why) in order; nothing of a refused file is read
REFUSED: tuple[tuple[Callable[[os.stat_result], bool], Callable[[os.stat_result], str]], ...] = (
    (lambda st: not stat.S_ISREG(st.st_mode), lambda st: f"the notebook is not a regular file. {HAND_IN}"),
    (lambda st: st.st_nlink > 1, lambda st: "the notebook file has other names (a hard link, which can be someone "
                                           f"else's file). {HAND_IN}"),
    (lambda st: st.st_size > MAX_BYTES, lambda st: _too_large(st.st_size)),
)


def read_submission(submissions: Path, path: Path) -> tuple[str, bytes]:
    """(SHA-256, bytes) of the notebook at `path` under `submissions`, opened one path component at a time without
    following any link, checked on the opened file (fstat: no gap between check and read) and read only if it is
    the student's own regular file of at most MAX_BYTES; else Unreadable, whose `fingerprint` stands for the
    refused file (it changes when the file does)."""
    parts = path.relative_to(submissions).parts
    fds = [os.open(submissions, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)]  # the instructor's folder
    try:
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            try:
                fds.append(os.open(part, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
                                   | (0 if last else os.O_DIRECTORY), dir_fd=fds[-1]))
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise Unreadable(f"{'/'.join(parts[:i + 1])} is a symbolic link; links are not graded (they "
                                     f"can point at someone else's work). {HAND_IN}", f"link {exc.errno}") from None
                raise
        info = os.fstat(fds[-1])
        why = next((why for check, why in REFUSED if check(info)), None)
        if why:
            raise Unreadable(why(info), f"refused {info.st_ino} {info.st_size} {info.st_mtime_ns} {info.st_nlink}")
        with os.fdopen(fds.pop(), "rb") as f:
            data = f.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:  # it grew after fstat
            raise Unreadable(_too_large(len(data)), f"refused grew {len(data)}")
        return hashlib.sha256(data).hexdigest(), data
    finally:
        for fd in fds:
            os.close(fd)


def _source(cell: dict) -> str | None:
    """A cell's source as one string (nbformat allows a string or a list of lines), or None."""
    src = cell.get("source", "")
    if isinstance(src, list) and all(isinstance(s, str) for s in src):
        return "".join(src)
    return src if isinstance(src, str) else None


def strip_magics(source: str) -> str:
    """IPython-only syntax made harmless: a %%cell magic skips the cell, %line magics and !shell lines become `pass`."""
    if not MAGIC.search(source):
        return source  # most cells: no line starts with % or !
    if source.lstrip().startswith("%%"):
        return ""
    lines = source.split("\n")
    for i, line in enumerate(lines):
        body = line.lstrip()
        if body.startswith(("%", "!")):
            lines[i] = line[: len(line) - len(body)] + "pass"
    return "\n".join(lines)


def read_notebook(path: Path, raw: bytes) -> Notebook:
    """The code cells of the notebook at `path`, whose bytes are `raw` (read_submission); Unreadable if there are
    none to be had."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise Unreadable(f"{path.name} is not a text file, so not a Jupyter notebook; {FIX}") from None
    except json.JSONDecodeError as exc:
        raise Unreadable(f"{path.name} is not valid notebook JSON (line {exc.lineno}, column {exc.colno}: "
                         f"{exc.msg}); the file is damaged. {FIX}") from None
    except RecursionError:
        raise Unreadable(f"{path.name} is nested too deeply to be a notebook; {FIX}") from None
    except ValueError:  # an integer of thousands of digits: Python refuses to convert it (not a JSONDecodeError)
        raise Unreadable(f"{path.name} holds a number thousands of digits long, so it is not a notebook; {FIX}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        old = isinstance(data, dict) and "worksheets" in data
        raise Unreadable(f"{path.name} is " + ("an old (version 3) notebook" if old else "not a Jupyter notebook")
                         + f" (it has no list of cells); {FIX}")
    cells, notes, places = [], [], []
    for n, cell in enumerate(data["cells"], 1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = _source(cell)
        if source is None:
            notes.append(f"cell {n} has no readable source and was skipped")
            continue
        cells.append(strip_magics(source))
        count = cell.get("execution_count")
        places.append((n, count if type(count) is int and 0 <= count < 10**9 else None))
    if not cells:
        raise Unreadable(f"{path.name} has no code cells; submit the notebook you worked in")
    return Notebook(path, cells, notes, places)
