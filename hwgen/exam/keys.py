"""Keys for graders of a paper exam: DIR/keys/answers.csv (every answer cell's exact value, a row per student)
and DIR/keys/compact.tex (per student one block with every answer at the stated digits), from manifest.json."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from .. import questions
from ..assignment import Student
from ..errors import InputFileError
from ..grade.manifest import ClassManifest
from ..notation import names
from ..numfmt import tex_array
from ..outdir import Output
from ..render import latex
from ..render.latex import Record, Tex
from ..render.texescape import tex_text
from .cells import columns, entries, shown, text_answer

ANSWERS = "keys/answers.csv"
COMPACT = "keys/compact.tex"
ID_COLUMNS = ("student_id", "name")
RESERVED_IDS = ("compact",)


def header(manifest: ClassManifest) -> list[str]:
    """The columns of answers.csv and of the TAs' entry sheet: student_id, name, then every answer cell."""
    first = next(iter(manifest.students), None)
    if first is None:
        return list(ID_COLUMNS)
    answers = {k: p["answers"] for k, p in manifest.students[first]["problems"].items()}
    return [*ID_COLUMNS, *columns(manifest.problems, answers)]


def sheet_text(manifest: ClassManifest, exact: bool) -> str:
    """answers.csv (exact: every cell's value, full precision) or the blank entry sheet (cells empty)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    names = header(manifest)
    writer.writerow(names)
    for sid, record in manifest.students.items():
        row = {"student_id": sid, "name": record.get("name", "")}
        if exact:
            for spec in manifest.problems:
                row |= {k: v if isinstance(v, str) else repr(v)
                        for k, v in entries(spec, record["problems"][spec.key]["answers"]).items()}
        writer.writerow([row.get(name, "") for name in names])
    return buffer.getvalue()


def _blocks(manifest: ClassManifest) -> Iterator[Record]:
    """Per student: id, name and every asked answer as displayed, at the problem's digits."""
    for sid, record in manifest.students.items():
        answers = []
        for spec in manifest.problems:
            given = record["problems"][spec.key]["answers"]
            for q in spec.asked:
                symbol = names(spec.template.problem).symbols.get(q) or _typewriter(q)
                if questions.kind(spec.template, q) != "number":
                    text = _typewriter("; ".join(text_answer(spec, q, given)))
                else:
                    text = tex_array(shown(spec.template.display, np.asarray(given[q], dtype=float), q),
                                     spec.template.significant)
                answers.append(Record(problem=spec.key, symbol=Tex(symbol), value=Tex(text)))
        yield Record(id=sid, name=record.get("name", ""), answers=answers)


def _typewriter(text: str) -> str:
    """Text in math mode, as typed: a calculus name, a shape question, an expression."""
    return r"\text{\texttt{" + tex_text(text) + "}}"


def compact_text(manifest: ClassManifest, paper: str) -> str:
    """keys/compact.tex: the whole class's answers, a block per student."""
    a = manifest.assignment
    return latex.render("compact.tex.j2", {"paper": paper, "title": a.get("title", ""), "course": a.get("course", ""),
                                          "students": list(_blocks(manifest))})


def check_ids(students: Sequence[Student], roster: Path) -> None:
    """Refuse a roster whose student's key would be keys/compact.tex (or .pdf), before anything is written."""
    for student in students:
        if student.id in RESERVED_IDS:
            raise InputFileError(roster, student.line, f"the student id {student.id!r} would name the class's "
                                 f"keys/{student.id}.tex, which an exam's compact key uses",
                                 "give that student another id (e.g. with a prefix) in the roster")


def write(manifest: ClassManifest, output: Output, paper: str) -> list[Path]:
    """Write keys/answers.csv and keys/compact.tex into the class folder; their paths."""
    written = []
    for rel, text in ((ANSWERS, sheet_text(manifest, exact=True)), (COMPACT, compact_text(manifest, paper))):
        path = output.reserve(rel)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written

