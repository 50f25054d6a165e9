"""The instructor notebook of one student: an introduction, then per problem its statement with the
student's numbers, a read-only cell of given arrays, and per asked quantity an answer cell (with the
solution) and an autograder test cell (a visible type/shape check and hidden value checks)."""

from __future__ import annotations

import re
from functools import lru_cache
from string import Template as Slots
from typing import Any, Mapping, Sequence

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
from .nbgrader import code_cell, markdown_cell
from .preprocess import ComputeChecksums, run
from .solution import solution_lines

Array = np.ndarray

METADATA = {
    "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
    "language_info": {"name": "python"},
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


def _fill(pattern: str, values: Mapping[str, str]) -> str:
    """A test cell's source from its pattern: each hole replaced by its value."""
    for name, hole in _HOLES.items():
        pattern = pattern.replace(hole, values[name])
    return pattern


@lru_cache(maxsize=256)
def _fixed_sources(index: int, key: str, template: Template,
                   rows: tuple[tuple[str, tuple[int, ...], tuple[tuple[str, Any], ...]], ...]) -> tuple[tuple[str, str, str | None], ...]:
    """Per asked (quantity, core shape, prompt row) of a problem: the prompt's and the answer cell's sources and
    the test cell's source with holes for the student's numbers (None if the template does more with them than
    print them, which a probe shows): the same for every student of the problem, so made once."""
    known: set[str] = set()
    out = []
    for number, (q, core_shape, items) in enumerate(rows, start=1):
        row = dict(items)
        solution = solution_lines(key, template.steps, template.network, q, known)
        test = _render("test.py.j2", core_shape=list(core_shape), **_HOLES, **row)
        if _fill(test, _PROBE) != _render("test.py.j2", core_shape=list(core_shape), **_PROBE, **row):
            test = None
        out.append((_render("prompt.md.j2", prefix=index, number=number, **row),
                    _render("answer.py.j2", solution=solution, **row), test))
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


def intro_cell(specs: Sequence[ProblemSpec], assignment: Mapping[str, Any], student: str) -> NotebookNode:
    """The introduction: what to do, the rounding rule, typing or computing answers, canonical orientation."""
    digits = sorted({s.template.significant for s in specs})
    rounding = (f"Give every answer to {digits[0]} significant digits." if len(digits) == 1
                else "Each problem says how many significant digits to give.")
    subtitle = " · ".join(str(assignment[k]) for k in ("course", "due") if assignment.get(k))
    return markdown_cell(_render("intro.md.j2", title=assignment.get("title") or "Backpropagation homework",
                                 subtitle=subtitle, student=student, rounding=rounding,
                                 instructions=str(assignment.get("instructions") or "").strip()), "intro")


def problem_cells(index: int, spec: ProblemSpec, record: Mapping[str, Any],
                  grading: Mapping[str, Any]) -> list[NotebookNode]:
    """The cells of one problem: statement, given data, then per asked quantity a prompt, an answer and a test
    (whose tolerance is the grader's, for the assignment's grading options)."""
    t, key, trace = spec.template, spec.key, trace_of(spec, record)
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
    cells = [markdown_cell(statement, key),
             code_cell(_render("given.py.j2", index=index, arrays=arrays), "readonly", f"{key}_given")]
    core = {q: tuple(k for k in shapes[q] if k != 1) for q in asked}
    fixed = _fixed_sources(index, key, t, tuple((q, core[q], tuple(row.items())) for q, row in zip(asked, rows)))
    for q, row, (prompt, answer, test) in zip(asked, rows, fixed):
        variable, expected = row["variable"], np.asarray(record["answers"][q], dtype=float)  # the reference, as the grader
        cells.append(markdown_cell(prompt, f"{variable}_prompt"))
        cells.append(code_cell(answer, "answer", variable, hwgen={"problem": key, "quantity": q, "variable": variable}))
        numbers = {"expected": repr(expected.ravel().tolist()), "rtol": repr(tol[q][0]), "atol": repr(tol[q][1])}
        source = _fill(test, numbers) if test is not None else \
            _render("test.py.j2", core_shape=list(core[q]), **numbers, **row)
        cells.append(code_cell(source, "test", f"test_{variable}", points=spec.asked[q]))
    return cells


def instructor_notebook(problems: Sequence[tuple[ProblemSpec, Mapping[str, Any]]], assignment: Mapping[str, Any],
                        student: str = "") -> NotebookNode:
    """One student's instructor notebook from (ProblemSpec, manifest problem record) pairs and the assignment's
    header (title, course, due, instructions, grading); checksums included."""
    nb = nbformat.v4.new_notebook(metadata=dict(METADATA))
    nb.cells = [intro_cell([spec for spec, _ in problems], assignment, student)]
    for index, (spec, record) in enumerate(problems, start=1):
        nb.cells += problem_cells(index, spec, record, assignment.get("grading") or {})
    return run(nb, [ComputeChecksums()])


def for_student(assignment: Assignment, student: Student, variants: Mapping[str, Variant]) -> NotebookNode:
    """The instructor notebook of one student of `hwgen generate` (an Assignment, a Student, p1.. -> Variant)."""
    problems = [(spec, variants[spec.key].record(spec.key)) for spec in assignment.problems]
    header = {"title": assignment.title, "course": assignment.course, "due": assignment.due_text,
              "instructions": assignment.instructions, "grading": assignment.grading}
    return instructor_notebook(problems, header, f"{student.name} ({student.id})" if student.name else student.id)
