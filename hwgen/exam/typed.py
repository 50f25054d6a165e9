"""Grading answers typed from paper: the TAs' sheet (student_id, name, one column per answer cell) parsed strictly as
data, each row's cells put back into the grids the exam shows (as a notebook hands its answers in), and graded by
the notebook grader's own trusted checks (chunks.check_student) into the same gradebook.

A cell is forgiving the way people type (`0,5`, `-.25`, `1.2e-3`, spaces, a typographic minus) and never
evaluated. A quantity whose cells are all blank is missing, and so is one with a blank or unreadable cell among
filled ones (its message names the cells); every unreadable cell, unknown student and unknown column is reported
by row and column, and no row stops the others.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..errors import InputFileError
from ..grade.chunks import ClassContext, check_student
from ..grade.copies import CopyIndex
from ..grade.gradebook import Gradebook, Submission
from ..grade.manifest import ClassManifest, find_id
from ..grade.result import Item
from ..grade.sandbox import Limits
from ..problem import answer_variable
from ..yamlfile import read_text
from .cells import boxes
from .keys import ID_COLUMNS

MAX_CELL = 40  # characters in one typed number
MAX_TEXT = 200  # characters in one typed text cell (a shape, an expression), as a notebook's string is cut
MAX_ROWS = 20_000
SOURCE = "typed"  # the isolation column of a typed grade: no code ran
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']")  # spaces, thin spaces and ' as digit grouping
_MINUS = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2014": "-"})


def parse_number(text: str) -> float | None:
    """A typed number (None if blank): `0,5` and `-.25` and `1.2e-3` and `- 0.5` read; a comma is a decimal comma
    only where it cannot group thousands (not `1,234`). ValueError says why a cell cannot be read."""
    cell = _SPACES.sub("", text.translate(_MINUS))
    if not cell:
        return None
    if len(cell) > MAX_CELL:
        raise ValueError(f"longer than {MAX_CELL} characters")
    if "," in cell:
        whole, _, decimals = cell.partition(",")
        if "." in cell or "," in decimals:
            raise ValueError(f"{text.strip()!r} mixes , and . or has several commas: write one decimal point")
        if len(decimals.split("e")[0].split("E")[0]) == 3 and whole.lstrip("+-") not in ("", "0"):
            raise ValueError(f"{text.strip()!r} could be {whole}.{decimals} or {whole}{decimals}: write a decimal point")
        cell = f"{whole}.{decimals}"
    if not _NUMBER.fullmatch(cell):
        raise ValueError(f"{text.strip()!r} is not a number")
    return float(cell)


@dataclass
class Row:
    """One student's typed answers: variable (p1_Z1) -> the value as displayed (nested lists, as a notebook
    hands it in), or -> why not."""

    student: str
    line: int
    values: dict[str, Any] = field(default_factory=dict)
    unread: dict[str, str] = field(default_factory=dict)  # variable -> which cells were blank or unreadable
    sha256: str = ""


@dataclass
class Sheet:
    """A parsed sheet: rows to grade, and what could not be used (file:row:column lines)."""

    rows: list[Row] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def read_answers(path: Path, manifest: ClassManifest) -> Sheet:
    """The sheet's rows as canonical values; header and cell problems are reported, never raised (a sheet
    without a student_id column or not readable as CSV is an InputFileError)."""
    reader = csv.reader(io.StringIO(read_text(path, encoding="utf-8-sig"), newline=""))
    try:
        header = [h.strip() for h in next(reader, [])]
        if "student_id" not in header:
            raise InputFileError(path, 1, "the header row has no student_id column",
                                 "start from the sheet `hwgen answers DIR --csv SHEET.csv` writes")
        return _rows(path, reader, header, manifest)
    except csv.Error as exc:
        raise InputFileError(path, reader.line_num, f"this row cannot be read as CSV ({exc})",
                             "save the sheet again as a UTF-8 CSV with one row per student") from None


def _rows(path: Path, reader: Any, header: list[str], manifest: ClassManifest) -> Sheet:
    """The rows after the header (read_answers)."""
    sheet = Sheet()
    first = next(iter(manifest.students), None)
    answers = manifest.students[first]["problems"] if first else {}
    layout = {spec.key: boxes(spec, answers[spec.key]["answers"]) for spec in manifest.problems} if first else {}
    known = {name for bs in layout.values() for box in bs for name in box.names} | set(ID_COLUMNS)
    sheet.problems += [f"{path}:1: column {name!r} ({_letter(i)}) is not an answer cell of this exam; it is ignored"
                       for i, name in enumerate(header) if name and name not in known]
    column = {name: i for i, name in enumerate(header)}
    seen: dict[str, int] = {}
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(sheet.rows) >= MAX_ROWS:
            sheet.problems.append(f"{path}:{line}: more than {MAX_ROWS} rows; the rest are ignored")
            break
        typed = cells[column["student_id"]].strip() if column["student_id"] < len(cells) else ""
        sid = find_id(typed, manifest.students)
        if sid is None:
            sheet.problems.append(f"{path}:{line}: student {typed[:60]!r} is not in manifest.json; row not graded")
            continue
        if sid in seen:
            sheet.problems.append(f"{path}:{line}: student {sid!r} again (first on row {seen[sid]}); row not graded")
            continue
        seen[sid] = line
        row = Row(sid, line, sha256=hashlib.sha256("\x1f".join(cells).encode()).hexdigest())
        for spec in manifest.problems:
            for box in layout[spec.key]:
                _quantity(path, row, spec, box, cells, column, sheet.problems)
        sheet.rows.append(row)
    return sheet


def _quantity(path: Path, row: Row, spec: Any, box: Any, cells: list[str], column: dict[str, int],
              problems: list[str]) -> None:
    """One quantity of one row: its value as displayed in row.values, or (a cell blank or unreadable among filled
    ones: the quantity counts as not answered) which cells in row.unread."""
    if box.text is not None:
        _text_quantity(row, spec, box, cells, column)
        return
    read: list[float | None] = []
    bad: list[str] = []
    for name in box.names:
        i = column.get(name)
        text = cells[i] if i is not None and i < len(cells) else ""
        try:
            read.append(parse_number(text))
        except ValueError as exc:
            read.append(None)
            bad.append(name)
            problems.append(f"{path}:{row.line}: column {name} ({_letter(i)}): {exc}; counted as not answered")
    variable = spec.variable(box.quantity)
    if all(v is None for v in read) and not bad:
        return
    blank = [name for name, v in zip(box.names, read) if v is None and name not in bad]
    if bad or blank:
        cells_named = ", ".join((bad + blank)[:4]) + (" ..." if len(bad + blank) > 4 else "")
        row.unread[variable] = (f"the entr{'ies' if len(bad + blank) > 1 else 'y'} {cells_named} "
                                f"{'were' if len(bad + blank) > 1 else 'was'} left blank or could not be read")
        return
    row.values[variable] = np.array(read, dtype=float).reshape(box.grid).tolist() if box.grid else read[0]


def _text_quantity(row: Row, spec: Any, box: Any, cells: list[str], column: dict[str, int]) -> None:
    """A text box (a shape, expressions) of one row: its cells as typed, nested as the grader reads them (never
    evaluated here or there), or which cells were left blank or are too long."""
    typed = [cells[i].strip() if (i := column.get(name)) is not None and i < len(cells) else "" for name in box.names]
    if not any(typed):
        return
    unread = [name for name, text in zip(box.names, typed) if not text or len(text) > MAX_TEXT]
    if unread:
        row.unread[spec.variable(box.quantity)] = (f"the entr{'ies' if len(unread) > 1 else 'y'} "
                                                   f"{', '.join(unread[:4])}{' ...' if len(unread) > 4 else ''} "
                                                   f"{'were' if len(unread) > 1 else 'was'} left blank or longer "
                                                   f"than {MAX_TEXT} characters")
        return
    row.values[spec.variable(box.quantity)] = typed[0] if not box.text else \
        np.array(typed, dtype=object).reshape(box.text).tolist()


def _letter(index: int | None) -> str:
    """A spreadsheet's column letter for a 0-based index: 0 -> A, 27 -> AB."""
    if index is None:
        return "no such column"
    out = ""
    index += 1
    while index:
        index, r = divmod(index - 1, 26)
        out = chr(ord("A") + r) + out
    return f"column {out}"


def _unanswered(item: Item, row: Row) -> Item:
    """A missing item's message in the terms of the sheet: its cells empty, or which could not be read."""
    why = row.unread.get(answer_variable(item.problem, item.quantity), "its cells are empty")
    return dataclasses.replace(item, message=f"No answer: {why} (row {row.line} of the typed answers).")


def typed_since(book: Gradebook, student: str, notebook: Path | None) -> bool:
    """Whether the student's grade came from a typed sheet after their notebook (if any) last changed: then that
    grade stands when the notebooks are graded (the most recent source of a student's answers wins)."""
    source = book.source(student)
    if source is None or source[0] != SOURCE:
        return False
    try:
        changed = datetime.fromtimestamp(notebook.lstat().st_mtime, timezone.utc) if notebook else None
    except OSError:
        return False
    return changed is None or changed <= datetime.fromisoformat(source[1])


@dataclass
class TypedSummary:
    """What grading a sheet did."""

    graded: int = 0
    unchanged: int = 0
    replaced_notebooks: int = 0
    students: list[str] = field(default_factory=list)


def grade_answers(folder: Path, path: Path, manifest: ClassManifest, sheet: Sheet, regrade: bool = False) -> TypedSummary:
    """Grade every row of the sheet into DIR/gradebook.db, one transaction per student; the latest source of a
    student's answers (this sheet, or a notebook graded later) is the one the gradebook holds."""
    summary = TypedSummary()
    context = ClassContext(manifest.grading, CopyIndex(manifest.data), Limits(), "none")
    with Gradebook(folder / "gradebook.db") as book:
        before = book.submissions()
        for row in sheet.rows:
            record = manifest.students[row.student]
            variant = manifest.variant_hash(row.student, record)
            summary.students.append(row.student)
            if not regrade and book.fingerprint(row.student) == (row.sha256, variant):
                summary.unchanged += 1
                continue
            items, answers, copies, _ = check_student(context, row.student, record["problems"], row.values, {})
            items = [_unanswered(item, row) if item.status == "missing" else item for item in items]
            flags = [f"graded from answers typed into {path.name}, row {row.line}"]
            old = before.get(row.student)
            if old is not None and old.isolation != SOURCE and old.status != "missing":
                flags.append(f"replaces the notebook grade of {old.graded_at} ({old.score:g} points)")
                summary.replaced_notebooks += 1
            sub = Submission(row.student, "graded", f"{path.name}:{row.line}", row.sha256, variant,
                             score=round(sum(i.points for i in items), 6), max_score=manifest.max_points,
                             flags=flags + [c["message"] for c in copies], isolation=SOURCE, hwgen_version=__version__)
            book.record(sub, items, answers, copies)
            summary.graded += 1
    return summary
