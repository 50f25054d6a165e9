"""A student's exam as LaTeX: a cover page, per problem a statement page and answer pages, an even page count.

Every page is one \\hwgenpage of exam.tex.j2: its content is shrunk to fit should it be taller than a page, so a
student's page count is known here, before LaTeX runs, and every page's QR code can say "page k of n". Answer
boxes are packed onto pages by their estimated height (ANSWER_CM + the box's rows).
"""

from __future__ import annotations

from typing import Any

from ..render import latex
from ..render.latex import Record, Tex
from . import qr
from .cells import boxes

PAGE_CM = 21.0  # what the answers of one page may take (of about 22.5 cm of text height on letter paper)
QUESTION_CM = 1.5  # a question's line, its box's column numbers and the space below it
WORK_CM = 3.5  # room to work above a box
ROW_CM = 0.95  # one row of a box


def path(assignment: Any, student: Any) -> str:
    """exams/<id>.tex."""
    return f"exams/{student.id}.tex"


def text(work: Any) -> str:
    """The student's exam (work: generate.StudentWork)."""
    ctx = work.shared(latex.context)
    assignment, student = work.assignment, work.student
    plan: list[Record] = [Record(kind="cover")]
    for p, spec in zip(ctx["problems"], assignment.problems):
        plan.append(Record(kind="statement", problem=p))
        questions: list[Record] = []
        for q, box in zip(p.questions, boxes(spec, work.variants[spec.key].trace)):
            q.letter, q.box = chr(ord("a") + len(questions)), box
            q.rows, q.cols = box.grid or (1, 1)
            questions.append(q)
        for group in _pack(questions):
            plan.append(Record(kind="answers", problem=p, questions=group))
    if len(plan) % 2:
        plan.append(Record(kind="blank"))
    for k, page in enumerate(plan, start=1):
        pid = qr.PageId(assignment.name, student.id, k, len(plan))
        page.qr, page.label = Tex(qr.tex(qr.payload(pid))), qr.label(pid)
    exam = Record(duration=assignment.duration, pages=len(plan), work=WORK_CM)
    return latex.render("exam.tex.j2", {**ctx, "pages": plan, "exam": exam})


def _height(q: Record) -> float:
    """About how much of a page a question with its box takes (cm)."""
    return QUESTION_CM + WORK_CM + ROW_CM * q.rows


def _pack(questions: list[Record]) -> list[list[Record]]:
    """The questions in order, as many on a page as fit (at least one)."""
    pages: list[list[Record]] = []
    used = PAGE_CM
    for q in questions:
        if used + _height(q) > PAGE_CM:
            pages.append([])
            used = 0.0
        pages[-1].append(q)
        used += _height(q)
    return pages
