"""The instructor notebook of one student: an introduction, then per problem its statement with the
student's numbers, a read-only cell of given arrays, and per asked quantity an answer cell (with the
solution) and an autograder test cell (a visible type/shape check and hidden value checks)."""

from __future__ import annotations

import re
from functools import lru_cache
from string import Template as Slots
from typing import Any, Mapping, NamedTuple, Sequence

import jinja2
import nbformat
import numpy as np
from nbformat import NotebookNode

from ...assignment import Assignment, Student
from ...bank import Template
from ...engine import ANSWER_NAMES, GIVEN_NAMES, Step
from ...grade.tolerance import tolerances, trace_of
from ...notation import DESCRIPTIONS, SYMBOLS
from ...numfmt import tex_array
from ...problem import ProblemSpec
from ...variant import Variant
from .. import templates_dir
from .ipynb import Cell, cell, notebook_text
from .nbgrader import code_cell, markdown_cell
from .preprocess import student_cell
from .solution import solution_lines

Array = np.ndarray

NOTEBOOK = {  # every notebook's top level besides its cells
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
                 "language_info": {"name": "python"}},
    "nbformat": nbformat.v4.nbformat, "nbformat_minor": nbformat.v4.nbformat_minor,
}
GIVEN_NOTES = {
    "X": "inputs, one row per sample", "Y": "targets, one row per sample", "W1": "hidden weights (inputs x hidden)",
    "b1": "hidden biases", "W2": "output weights (hidden x outputs)", "b2": "output biases", "lr": "learning rate",
}
GIVEN_ROWS = (("X", "Y"), ("W1", "b1"), ("W2", "b2"))  # the given arrays as the statement lays them out
EXACT_DIGITS = 12  # given numbers are shown exactly (they lie on a coarse grid)


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """Jinja2 over templates/notebook (inside the installed package, or beside it in a source checkout)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates_dir() / "notebook"), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, autoescape=False, auto_reload=False)
    env.filters["points"] = lambda p: f"{p:g} point{'' if p == 1 else 's'}"
    env.filters["md"] = lambda text: re.sub(r"([\\`*_\[\]<>#|$])", r"\\\1", str(text))
    return env


def _render(name: str, **values: Any) -> str:
    """One cell source from templates/notebook/NAME."""
    return environment().get_template(name).render(**values).strip("\n")


# test.py.j2 is rendered once per quantity with these marks where a student's numbers go, then filled in
_HOLES = {"expected": "\x00expected\x00", "rtol": "\x00rtol\x00", "atol": "\x00atol\x00"}
_PROBE = {"expected": "[0.25, -1.5]", "rtol": "0.001", "atol": "1e-12"}

Pair = tuple[Cell, Cell]  # a cell of the instructor notebook and its student version (preprocess.student_cell)


def _fill(pattern: str, values: Mapping[str, str]) -> str:
    """A test cell's source from its pattern: each hole replaced by its value."""
    for name, hole in _HOLES.items():
        pattern = pattern.replace(hole, values[name])
    return pattern


def _pair(data: dict) -> Pair:
    """A cell and its student version, with their texts."""
    mine, theirs = cell(data), student_cell(data)
    return mine, mine if theirs == data else cell(theirs)


class _Fixed(NamedTuple):
    """The cells of one asked quantity that are the same for every student of a problem."""

    prompt: Pair
    answer: Pair
    test: str | None  # the test cell's source with _HOLES for the student's numbers; None: rendered per student
    student_test: Cell | None  # the test cell's student version, when it keeps none of the holes


@lru_cache(maxsize=256)
def _fixed_cells(index: int, key: str, template: Template,
                 rows: tuple[tuple[str, tuple[int, ...], tuple[tuple[str, Any], ...]], ...]) -> tuple[_Fixed, ...]:
    """Per asked (quantity, core shape, prompt row) of a problem, what every student of it shares: made once.
    A test pattern is None if the template does more with the numbers than print them (a probe shows it)."""
    known: set[str] = set()
    out = []
    for number, (q, core_shape, items) in enumerate(rows, start=1):
        row = dict(items)
        variable = row["variable"]
        solution = solution_lines(key, template.steps, template.network, q, known)
        test: str | None = _render("test.py.j2", core_shape=list(core_shape), **_HOLES, **row)
        if _fill(test, _PROBE) != _render("test.py.j2", core_shape=list(core_shape), **_PROBE, **row):
            test = None
        student_test = None
        if test is not None:
            derived = student_cell(code_cell(test, "test", f"test_{variable}", points=row["points"]))
            student_test = cell(derived) if "\x00" not in derived["source"] else None
        answer = code_cell(_render("answer.py.j2", solution=solution, **row), "answer", variable,
                           hwgen={"problem": key, "quantity": q, "variable": variable})
        out.append(_Fixed(_pair(markdown_cell(_render("prompt.md.j2", prefix=index, number=number, **row),
                                              f"{variable}_prompt")),
                          _pair(answer), test, student_test))
    return tuple(out)


def shape_text(shape: tuple[int, ...]) -> str:
    """A shape as students read it: (2, 2), (3,), or () for a number."""
    return "() (a number)" if not shape else str(tuple(shape))


def _literal(value: Array) -> str:
    """A Python literal that gives back exactly this value: 0.5 or np.array([[0.1, 0.2]])."""
    return repr(float(value)) if value.ndim == 0 else f"np.array({value.tolist()!r})"


def _symbols(step: Step, formula: str | None = None) -> str:
    """A step's formula (or another with `$name` slots) with the LaTeX symbols put in."""
    return Slots(step.tex if formula is None else formula).substitute(SYMBOLS)


def intro_cell(specs: Sequence[ProblemSpec], assignment: Mapping[str, Any], student: str) -> dict:
    """The introduction: what to do, the rounding rule, typing or computing answers, canonical orientation."""
    digits = sorted({s.template.significant for s in specs})
    rounding = (f"Give every answer to {digits[0]} significant digits." if len(digits) == 1
                else "Each problem says how many significant digits to give.")
    subtitle = " · ".join(str(assignment[k]) for k in ("course", "due") if assignment.get(k))
    return markdown_cell(_render("intro.md.j2", title=assignment.get("title") or "Backpropagation homework",
                                 subtitle=subtitle, student=student, rounding=rounding,
                                 instructions=str(assignment.get("instructions") or "").strip()), "intro")


def problem_cells(index: int, spec: ProblemSpec, record: Mapping[str, Any], grading: Mapping[str, Any],
                  trace: Mapping[str, Array] | None = None) -> list[Pair]:
    """The cells of one problem and their student versions: statement, given data, then per asked quantity a
    prompt, an answer and a test (whose tolerance is the grader's, for the assignment's grading options).
    `trace` is the record's solved trace when the caller has it (else it is solved again)."""
    t, key = spec.template, spec.key
    trace = trace_of(spec, record) if trace is None else trace
    steps = {s.name: s for s in t.steps}
    asked = [q for q in ANSWER_NAMES if q in spec.asked]
    tol = tolerances(spec, record, spec.grading(grading))
    shapes = {q: np.shape(trace[q]) for q in asked}
    rows = [{"variable": spec.variable(q), "symbol": SYMBOLS[q], "description": DESCRIPTIONS[q],
             "shape": shape_text(shapes[q]), "points": spec.asked[q]} for q in asked]
    updates = [s for s in t.steps if s.phase == "update"]
    statement = _render(
        "problem.md.j2", index=index, title=t.title, points=spec.points, sizes=t.network.sizes,
        activations=t.network.activations, n=int(trace["n"]), prefix=key, significant=t.significant,
        instructions=t.instructions.strip(), lr=f"{float(trace['lr']):g}", asked=rows,
        forward=[(SYMBOLS[s.name], _symbols(s)) for s in t.steps if s.phase in ("forward", "loss")],
        update=f"{SYMBOLS[updates[0].name]} = {_symbols(updates[0])}" if any(s.phase == "update" for s in
                                                                               map(steps.get, asked)) else "",
        given=[[(SYMBOLS[k], tex_array(trace[k], EXACT_DIGITS)) for k in row] for row in GIVEN_ROWS])
    arrays = [(spec.variable(k), _literal(trace[k]), f"{np.shape(trace[k])} {GIVEN_NOTES[k]}" if k != "lr" else
               GIVEN_NOTES[k]) for k in (*GIVEN_NAMES, "lr")]
    cells = [_pair(markdown_cell(statement, key)),
             _pair(code_cell(_render("given.py.j2", index=index, arrays=arrays), "readonly", f"{key}_given"))]
    core = {q: tuple(k for k in shapes[q] if k != 1) for q in asked}
    fixed = _fixed_cells(index, key, t, tuple((q, core[q], tuple(row.items())) for q, row in zip(asked, rows)))
    for q, row, same in zip(asked, rows, fixed):
        expected = np.asarray(record["answers"][q], dtype=float)  # the reference, as the grader
        numbers = {"expected": repr(expected.ravel().tolist()), "rtol": repr(tol[q][0]), "atol": repr(tol[q][1])}
        source = _fill(same.test, numbers) if same.test is not None else \
            _render("test.py.j2", core_shape=list(core[q]), **numbers, **row)
        test = code_cell(source, "test", f"test_{row['variable']}", points=spec.asked[q])
        cells += [same.prompt, same.answer, (cell(test), same.student_test) if same.student_test else _pair(test)]
    return cells


def notebook_cells(problems: Sequence[tuple[ProblemSpec, Mapping[str, Any]]], assignment: Mapping[str, Any],
                   student: str = "", traces: Sequence[Mapping[str, Array]] | None = None) -> list[Pair]:
    """One student's instructor notebook cells and their student versions, from (ProblemSpec, manifest problem
    record) pairs and the assignment's header (title, course, due, instructions, grading); `traces`, the
    records' solved traces, if the caller has them."""
    cells = [_pair(intro_cell([spec for spec, _ in problems], assignment, student))]
    for index, (spec, record) in enumerate(problems, start=1):
        cells += problem_cells(index, spec, record, assignment.get("grading") or {},
                               traces[index - 1] if traces else None)
    return cells


def instructor_notebook(problems: Sequence[tuple[ProblemSpec, Mapping[str, Any]]], assignment: Mapping[str, Any],
                        student: str = "") -> NotebookNode:
    """One student's instructor notebook (notebook_cells), checksums included."""
    cells = [mine.data for mine, _ in notebook_cells(problems, assignment, student)]
    return nbformat.from_dict({**NOTEBOOK, "cells": cells})


def _problems(assignment: Assignment, variants: Mapping[str, Variant]) -> list[tuple[ProblemSpec, dict[str, Any]]]:
    """(ProblemSpec, manifest problem record) of each problem of a student of `hwgen generate`."""
    return [(spec, variants[spec.key].record(spec.key)) for spec in assignment.problems]


def _header(assignment: Assignment) -> dict[str, Any]:
    """The assignment's header as the notebooks read it."""
    return {"title": assignment.title, "course": assignment.course, "due": assignment.due_text,
            "instructions": assignment.instructions, "grading": assignment.grading}


def _named(student: Student) -> str:
    """How the notebooks name a student: Ada Lovelace (s001), or the id alone."""
    return f"{student.name} ({student.id})" if student.name else student.id


def for_student(assignment: Assignment, student: Student, variants: Mapping[str, Variant]) -> NotebookNode:
    """The instructor notebook of one student of `hwgen generate` (an Assignment, a Student, p1.. -> Variant)."""
    return instructor_notebook(_problems(assignment, variants), _header(assignment), _named(student))


def texts_for_student(assignment: Assignment, student: Student, variants: Mapping[str, Variant]) -> tuple[str, str]:
    """The .ipynb texts of a student's instructor notebook and of their student notebook (student_notebook of it)."""
    cells = notebook_cells(_problems(assignment, variants), _header(assignment), _named(student),
                           [variants[spec.key].trace for spec in assignment.problems])
    return (notebook_text(NOTEBOOK, [mine.text for mine, _ in cells]),
            notebook_text(NOTEBOOK, [theirs.text for _, theirs in cells]))
