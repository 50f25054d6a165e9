"""The gradebook as a table: one row per roster student, a column per problem and the total.

`csv_text(..., "canvas")` follows Canvas's gradebook CSV (Student, ID, SIS User ID, SIS Login ID,
Section, then one column per assignment, and a "Points Possible" row under the header); "moodle"
follows Moodle's grade import (an identifier column to map from, then one column per grade item; the
maximum is in each header, since Moodle reads every other row as a student). Students of the roster who
have never been graded get empty cells; students who submitted nothing have 0, or empty cells with
`missing="blank"` (see README).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Callable, Collection, Mapping

from ..numfmt import points_text
from .gradebook import Gradebook
from .manifest import ClassManifest
from .safetext import clean, csv_cell
from .totals import class_totals

DECIMALS = 3
NOTES_CHARS = 500
COPIED = "Copied from"  # classmates whose numbers the student handed in (a flag for the instructor, not a grade)
PENALTY = "Late penalty"  # points the late policy took off the total (already taken off)


@dataclass(frozen=True)
class Row:
    """One roster student: identity, points per problem (None if never graded), total, status, flags."""

    student: str
    name: str
    email: str
    points: dict[str, float | None]
    total: float | None
    status: str
    flags: list[str]
    copied_from: list[str]  # classmates whose numbers this student handed in (grade.copies)
    canvas: dict[str, str] = field(default_factory=dict)  # the roster's Canvas identity columns (ID, Section, ...)
    penalty: float | None = None  # points the late penalty took off (None: no late policy or no submission)

    @property
    def notes(self) -> str:
        """The flags as one cell of text."""
        text = "; ".join(self.flags)
        if len(text) <= NOTES_CHARS:
            return text
        cut = text[: NOTES_CHARS - 2]
        space = cut.rfind(" ")
        return (cut[:space] if space > NOTES_CHARS // 2 else cut[:-1]).rstrip(" ;,:") + "..."


MISSING = ("zero", "blank")  # what a student who handed in nothing gets (`--missing`); the first is the default


def rows(manifest: ClassManifest, book: Gradebook, missing: str = MISSING[0]) -> list[Row]:
    """Every roster student in roster order, with their points per problem (overrides put in) and their total
    after the late penalty (grade.totals), the penalty and the overrides also told in the notes; a student who
    handed in nothing has 0 points, or empty cells with `missing="blank"`."""
    subs, copied, totals = book.submissions(), book.copied_from(), class_totals(book)
    out = []
    for sid, record in manifest.students.items():
        name, email = clean(record.get("name") or ""), clean(record.get("email") or "")
        canvas = {clean(str(k)): clean(str(v)) for k, v in (record.get("canvas") or {}).items()}
        sub = subs.get(sid)
        if sub is None or (sub.status == "missing" and missing == "blank"):
            out.append(Row(sid, name, email, {spec.key: None for spec in manifest.problems}, None,
                           sub.status if sub else "not graded", list(sub.flags) if sub else [], copied.get(sid, []),
                           canvas))
            continue
        t = totals[sid]
        points: dict[str, float | None] = {spec.key: round(t.problems.get(spec.key, 0.0), DECIMALS)
                                           for spec in manifest.problems}
        notes = [t.late.sentence(t.penalty_points)] if t.late and t.penalty_points else []
        out.append(Row(sid, name, email, points, round(t.score, DECIMALS), sub.status,
                       notes + [o.note() for o in t.overrides] + list(sub.flags), copied.get(sid, []),
                       canvas, round(t.penalty_points, DECIMALS) if t.late else None))
    return out


def _num(x: float | None) -> str:
    """A cell of points: empty for None, else at most 3 decimals without trailing zeros (numfmt.points_text)."""
    return "" if x is None else points_text(x)


def _canvas(manifest: ClassManifest, table: list[Row]) -> list[list[str]]:
    head = [f"{manifest.title} {spec.key}" for spec in manifest.problems] + [f"{manifest.title} total"]
    points = [*(spec.points for spec in manifest.problems), manifest.max_points]
    possible = [_num(value) for value in points]
    out = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *head, PENALTY, "Notes", COPIED],
           ["    Points Possible", "", "", "", "", *possible, "", "", ""]]
    for r in table:
        out.append([r.name or r.student, *_identity(r),
                    *(_num(r.points[spec.key]) for spec in manifest.problems), _num(r.total), _num(r.penalty), r.notes,
                    " ".join(r.copied_from)])
    return out


def _identity(r: Row) -> list[str]:
    """Canvas's ID, SIS User ID, SIS Login ID and Section of a student: the roster's own columns when it had them
    (a Canvas export used as the roster), else the student id as SIS User ID and the email as login."""
    sis = r.canvas.get("SIS User ID", "" if r.canvas.get("ID") == r.student else r.student)
    return [r.canvas.get("ID", ""), sis, r.canvas.get("SIS Login ID", r.email), r.canvas.get("Section", "")]


def _moodle(manifest: ClassManifest, table: list[Row]) -> list[list[str]]:
    head = [f"{manifest.title} {spec.key} (max {_num(spec.points)})" for spec in manifest.problems]
    out = [["ID number", "Email address", "Full name", *head,
            f"{manifest.title} total (max {_num(manifest.max_points)})", PENALTY, "Notes", COPIED]]
    for r in table:
        out.append([r.student, r.email, r.name, *(_num(r.points[spec.key]) for spec in manifest.problems),
                    _num(r.total), _num(r.penalty), r.notes, " ".join(r.copied_from)])
    return out


FORMATS: dict[str, Callable[[ClassManifest, list[Row]], list[list[str]]]] = {"canvas": _canvas, "moodle": _moodle}


def csv_text(manifest: ClassManifest, book: Gradebook, fmt: str = "canvas", missing: str = MISSING[0]) -> str:
    """The CSV file's text in the chosen LMS's import format (`missing`: what non-submitters get, see rows); no
    cell starts like a spreadsheet formula."""
    buffer = io.StringIO()
    table = FORMATS[fmt](manifest, rows(manifest, book, missing))
    csv.writer(buffer, lineterminator="\r\n").writerows([csv_cell(cell) for cell in row] for row in table)
    return buffer.getvalue()


def table_text(manifest: ClassManifest, book: Gradebook, about: Mapping[str, str] | None = None,
               only: Collection[str] | None = None) -> str:
    """The gradebook as an aligned text table for the terminal (`only` these students, else every roster
    student); `about` adds a last column by student id."""
    table = [r for r in rows(manifest, book) if only is None or r.student in only]
    head = ["student", "name", *(f"{s.key}/{_num(s.points)}" for s in manifest.problems),
            f"total/{_num(manifest.max_points)}", "status", "flags", "copied from"] + (["about"] if about else [])
    body = [[r.student, r.name, *(_num(r.points[s.key]) for s in manifest.problems), _num(r.total), r.status,
             str(len(r.flags)) if r.flags else "", " ".join(r.copied_from), *([about.get(r.student, "")] if about else [])]
            for r in table]
    return aligned(head, body, right=range(2, 3 + len(manifest.problems)))


def aligned(head: list[str], body: list[list[str]], right: Collection[int]) -> str:
    """A text table for the terminal: columns padded to their widest cell, those in `right` right-aligned, a
    rule under the header."""
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]
    lines = ["  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()
             for row in [head, *body]]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]]) + "\n"
