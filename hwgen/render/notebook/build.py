"""The instructor notebook of one student: an introduction, then per problem its statement with the
student's numbers, a read-only cell of given arrays, and per asked quantity an answer cell (with the
solution) and an autograder test cell (a visible type/shape check and hidden value checks)."""

from __future__ import annotations

import re
from functools import lru_cache
from string import Template as Slots
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import jinja2
import nbformat
import numpy as np
from nbformat import NotebookNode

from ... import questions
from ...assignment import Assignment, Student
from ...bank import Template
from ...engine import Problem, Step
from ...grade.tolerance import tolerances, trace_of
from ...notation import CONSTANT_NOTES, description, names, symbol
from ...numfmt import counted, tex_arrays
from ...problem import ProblemSpec, answer_variable
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
EXACT_DIGITS = 12  # given numbers are shown exactly (they lie on a coarse grid)


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """Jinja2 over templates/notebook (inside the installed package, or beside it in a source checkout)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates_dir() / "notebook"), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, autoescape=False, auto_reload=False)
    env.filters["points"] = lambda p: counted(p, "point")
    env.filters["listed"] = lambda items: " and ".join(filter(None, [", ".join(map(str, items[:-1])), str(items[-1])]))
    env.filters["md"] = lambda text: re.sub(r"([\\`*_\[\]<>#|$])", r"\\\1", str(text))
    return env


def _render(name: str, **values: Any) -> str:
    """One cell source from templates/notebook/NAME."""
    return environment().get_template(name).render(**values).strip("\n")


Pair = tuple[Cell, Cell]  # a cell of the instructor notebook and its student version (preprocess.student_cell)
Row = tuple[str, tuple[int, ...], tuple[tuple[str, Any], ...]]  # an asked quantity, its core shape, its prompt row


def _hole(name: str) -> str:
    """Where a student's value goes in a source made once for every student of a problem."""
    return f"\x00{name}\x00"


def _fill(pattern: str, values: Mapping[str, str]) -> str:
    """A source from its pattern: each value's hole replaced by the value."""
    for name, value in values.items():
        pattern = pattern.replace(_hole(name), value)
    return pattern


def _holed(render: Callable[[Mapping[str, str]], str], names: Sequence[str]) -> str | None:
    """render(values) with a hole where each value goes; None if the template does more with a value than print
    it (a probe filled in must give what rendering the probe gives)."""
    pattern = render({name: _hole(name) for name in names})
    probe = {name: f"[{i}.25, -1.5]" for i, name in enumerate(names)}
    return pattern if _fill(pattern, probe) == render(probe) else None


def _pair(data: dict) -> Pair:
    """A cell and its student version, with their texts."""
    mine, theirs = cell(data), student_cell(data)
    return mine, mine if theirs == data else cell(theirs)


class _Fixed(NamedTuple):
    """The cells of one asked quantity that are the same for every student of a problem."""

    prompt: Pair
    answer: Pair
    test: str | None  # the test cell's source with holes for the student's numbers; None: rendered per student
    student_test: Cell | None  # the test cell's student version, when it keeps none of the holes


class _Shared(NamedTuple):
    """What every student of a problem shares: the statement's and the given cell's sources with holes for the
    student's numbers (None: rendered per student), and each asked quantity's cells."""

    statement: str | None
    given: str | None
    asked: tuple[_Fixed, ...]


TEST_NUMBERS = ("expected", "rtol", "atol")  # what test.py.j2 prints of a student's numbers


@lru_cache(maxsize=256)  # the same for every student of a problem: per problem of an assignment, made once
def _shared(index: int, key: str, t: Template, points: float, lr: str, shapes: tuple[tuple[int, ...], ...],
            rows: tuple[Row, ...]) -> _Shared:
    """What every student of problem `key` (template t, `points`, learning rate `lr`, given arrays of these shapes,
    asked quantities `rows`) shares: made once."""
    known: set[str] = set()
    asked = []
    for number, (q, core_shape, items) in enumerate(rows, start=1):
        row = dict(items)
        variable = row["variable"]
        solution = solution_lines(key, t.steps, q, known, t.display)
        test = _holed(lambda numbers: _test_source(core_shape, row, numbers), TEST_NUMBERS)
        student_test = None
        if test is not None:
            derived = student_cell(code_cell(test, "test", f"test_{variable}", points=row["points"]))
            student_test = cell(derived) if "\x00" not in derived["source"] else None
        answer = code_cell(_render("answer.py.j2", solution=solution, **row), "answer", variable,
                           hwgen={"problem": key, "quantity": q, "variable": variable})
        asked.append(_Fixed(_pair(markdown_cell(_render("prompt.md.j2", prefix=index, number=number, **row),
                                                f"{variable}_prompt")),
                            _pair(answer), test, student_test))
    given = tuple(t.problem.given)
    return _Shared(_holed(lambda values: _statement(index, key, t, points, lr, shapes, rows, values), given),
                   _holed(lambda arrays: _given_source(index, key, t, shapes, arrays), (*given, *_numbers(t))),
                   tuple(asked))


def _numbers(t: Template) -> tuple[str, ...]:
    """The numbers a given cell defines besides the given arrays: lr for a problem with an SGD step (a network),
    and the problem's constants (the weight decay lam)."""
    return (*(("lr",) if t.network else ()), *t.problem.constants)


def _test_source(core_shape: tuple[int, ...], row: Mapping[str, Any], numbers: Mapping[str, str]) -> str:
    """A test cell's source: the student's expected values, rtol and atol as Python literals."""
    return _render("test.py.j2", core_shape=list(core_shape), **numbers, **row)


def _statement(index: int, key: str, t: Template, points: float, lr: str, shapes: tuple[tuple[int, ...], ...],
               rows: tuple[Row, ...], given: Mapping[str, str]) -> str:
    """A problem's statement: the network or graph, its formulas, the given arrays (as LaTeX, `given`) and what is
    asked."""
    problem, asked = t.problem, [dict(items) for _, _, items in rows]
    steps = {s.name: s for s in t.steps}
    updates = [s for s in t.steps if s.phase == "update"]
    per_sample = [shape[0] for shape in shapes if shape]
    net = t.network
    return _render(
        "problem.md.j2", index=index, title=t.title, points=points, sizes=net.sizes if net else (),
        activations=net.activations if net else (), n=per_sample[0] if per_sample else 0, prefix=key,
        significant=t.significant, instructions=t.instructions.strip(), lr=lr, asked=asked,
        note=t.display.note(tex=True) if net else "", first=list(problem.given)[:2],
        output=symbol(problem, problem.by_role("node_grad")[0].name[1:]) if not net else "",
        forward=[(symbol(problem, s.name), _symbols(t, s)) for s in t.steps if s.phase in ("forward", "loss")],
        constants=[(symbol(problem, k), f"{v:g}", CONSTANT_NOTES[k]) for k, v in problem.constants.items()],
        update=f"{symbol(problem, updates[0].name)} = {_symbols(t, updates[0])}" if any(
            steps[q].phase == "update" for q, _, _ in rows) else "",
        given=[[(symbol(problem, k), given[k]) for k in row] for row in names(problem).given_rows])


def _given_source(index: int, key: str, t: Template, shapes: tuple[tuple[int, ...], ...],
                  arrays: Mapping[str, str]) -> str:
    """The read-only cell defining the given arrays (and lr) from their Python literals, `arrays`, laid out as
    the problem shows them (canonical `shapes`)."""
    show = t.display
    comments = [f"{show.shape(shape, k)} {show.given_note(k, t.problem)}" for k, shape in zip(t.problem.given, shapes)]
    return _render("given.py.j2", index=index, layout=show.note() if t.network else "",
                   arrays=[(answer_variable(key, k), arrays[k], comment)
                           for k, comment in zip((*t.problem.given, *_numbers(t)),
                                                 [*comments, *(CONSTANT_NOTES[k] for k in _numbers(t))])])


def shape_text(shape: tuple[int, ...]) -> str:
    """A shape as students read it: (2, 2), (3,), or () for a number."""
    return "() (a number)" if not shape else str(tuple(shape))


def _literal(value: Array) -> str:
    """A Python literal that gives back exactly this value: 0.5 or np.array([[0.1, 0.2]])."""
    return repr(float(value)) if value.ndim == 0 else f"np.array({value.tolist()!r})"


def _symbols(t: Template, step: Step) -> str:
    """A step's formula, as the problem writes it, with the LaTeX symbols put in."""
    return Slots(t.display.formula(step)).substitute(_braced(t.problem))


def _braced(problem: Problem) -> dict[str, str]:
    """Each quantity's symbol braced, so that ^{\\top} may follow it."""
    return {k: "{" + v + "}" for k, v in names(problem).symbols.items()}


def intro_cell(specs: Sequence[ProblemSpec], assignment: Mapping[str, Any], student: str) -> dict:
    """The introduction: what to do, the rounding rule, typing or computing answers, canonical orientation."""
    digits = sorted({s.template.significant for s in specs})
    rounding = (f"Give every answer to {digits[0]} significant digits." if len(digits) == 1
                else "Each problem says how many significant digits to give.")
    subtitle = " · ".join(str(assignment[k]) for k in ("course", "due") if assignment.get(k))
    return markdown_cell(_render("intro.md.j2", title=assignment.get("title") or "Backpropagation homework",
                                 subtitle=subtitle, student=student, rounding=rounding, example=_example(specs),
                                 text_answers=any(questions.kind(s.template, q) != "number" for s in specs for q in s.asked),
                                 instructions=str(assignment.get("instructions") or "").strip()), "intro")


def _example(specs: Sequence[ProblemSpec]) -> tuple[str, str]:
    """The intro's example answer: (variable, NumPy line) of the first problem's first step that has code, in its own
    names and layout (p1_Z1 = p1_X @ p1_W1 + p1_b1; p1_q = p1_x + p1_y for a graph)."""
    for spec in specs:
        t = spec.template
        step = next((s for s in t.steps if s.code), None)
        if step:
            return spec.variable(step.name), solution_lines(spec.key, t.steps, step.name, set(), t.display)[0]
    first = specs[0]
    return first.variable(next(iter(first.asked))), ""


def problem_cells(index: int, spec: ProblemSpec, record: Mapping[str, Any], grading: Mapping[str, Any],
                  trace: Mapping[str, Array] | None = None) -> list[Pair]:
    """The cells of one problem and their student versions: statement, given data, then per asked quantity a
    prompt, an answer and a test (whose tolerance is the grader's, for the assignment's grading options).
    `trace` is the record's solved trace when the caller has it (else it is solved again)."""
    t, key, show = spec.template, spec.key, spec.template.display
    trace = trace_of(spec, record) if trace is None else trace
    if t.calculus:
        from .calculus import problem_cells as calculus_cells  # sympy, only for a calculus problem
        return calculus_cells(index, spec, record, grading, trace)
    problem = t.problem
    asked = [q for q in problem.answers if q in spec.asked]
    tol = tolerances(spec, record, spec.grading(grading))
    shown = {q: show.shape(np.shape(trace[q]), q) for q in asked}  # every array as the problem lays it out
    rows = tuple((q, tuple(k for k in shown[q] if k != 1),
                  (("variable", spec.variable(q)), ("symbol", symbol(problem, q)),
                   ("description", description(problem, q)),
                   ("shape", shape_text(shown[q])), ("points", spec.asked[q]))) for q in asked)
    lr, shapes = f"{float(trace['lr']):g}", tuple(np.shape(trace[k]) for k in problem.given)
    shared = _shared(index, key, t, spec.points, lr, shapes, rows)
    values = {k: show.value(trace[k], k) for k in problem.given}
    given = dict(zip(problem.given, tex_arrays(list(values.values()), EXACT_DIGITS)))
    arrays = {k: _literal(values[k]) for k in problem.given} | {k: _literal(np.asarray(trace[k])) for k in _numbers(t)}
    cells = [_pair(markdown_cell(_fill(shared.statement, given) if shared.statement is not None else
                                 _statement(index, key, t, spec.points, lr, shapes, rows, given), key)),
             _pair(code_cell(_fill(shared.given, arrays) if shared.given is not None else
                             _given_source(index, key, t, shapes, arrays), "readonly", f"{key}_given"))]
    for (q, core_shape, items), same in zip(rows, shared.asked):
        expected = show.value(record["answers"][q], q)  # the reference, as the grader, laid out as shown
        numbers = {"expected": repr(expected.ravel().tolist()), "rtol": repr(tol[q][0]), "atol": repr(tol[q][1])}
        source = _fill(same.test, numbers) if same.test is not None else _test_source(core_shape, dict(items), numbers)
        test = code_cell(source, "test", f"test_{spec.variable(q)}", points=spec.asked[q])
        cells += [same.prompt, same.answer, (cell(test), same.student_test) if same.student_test else _pair(test)]
    if len(asked) < len(spec.asked):  # shape questions
        from .shapes import shape_cells
        cells += shape_cells(index, spec, len(asked) + 1)
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
