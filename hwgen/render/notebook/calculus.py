"""A calculus problem's notebook cells: its statement (the functions with the student's parameters, the point), a
read-only cell of the parameters and the point, and per asked quantity a prompt, an answer cell (numbers, or
expression strings for `<q>_expr`) and a test cell (type and shape visible; hidden: a number within the grader's
tolerance, expressions at a few points in the student's kernel for nbgrader's autograde; `hwgen grade` judges
expressions with its parser and never runs them). build.problem_cells hands a calculus
problem here."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ... import questions
from ...grade.symbolic import key_samples, written_as_python
from ...grade.tolerance import tolerances
from ...problem import ProblemSpec
from ...render.calculus import description, functions_tex, symbol
from .build import Pair, environment, shape_text
from .ipynb import cell
from .nbgrader import code_cell, markdown_cell
from .preprocess import student_cell

Array = np.ndarray


def _pair(data: dict) -> Pair:
    """A cell and its student version."""
    theirs = student_cell(data)
    mine = cell(data)
    return mine, mine if theirs == data else cell(theirs)


def _render(name: str, **values: Any) -> str:
    """One cell source from templates/notebook/NAME."""
    return environment().get_template(name).render(**values).strip("\n")


def _literal(value: Any) -> str:
    """A number or array as a Python literal that gives it back exactly."""
    value = np.asarray(value, dtype=float)
    return repr(float(value)) if value.ndim == 0 else f"np.array({value.tolist()!r})"


def problem_cells(index: int, spec: ProblemSpec, record: Mapping[str, Any], grading: Mapping[str, Any],
                  trace: Mapping[str, Array]) -> list[Pair]:
    """The cells of one calculus problem and their student versions."""
    t, key = spec.template, spec.key
    calc = t.calculus
    assert calc
    values = {p: float(trace[p]) for p in calc.parameters}
    tol = tolerances(spec, record, spec.grading(grading))
    rows = []
    for q, points in spec.asked.items():
        expr = q.endswith(questions.EXPR)
        answer = record["answers"][q]
        shape = () if expr and isinstance(answer, str) else np.shape(answer)
        rows.append({"quantity": q, "variable": spec.variable(q), "symbol": symbol(calc, q), "points": points,
                     "description": description(calc, q), "expression": expr, "shape": shape_text(shape),
                     "core_shape": [k for k in shape if k != 1], "dims": list(shape), "answer": answer})
    point = ", ".join(f"{v} = {float(trace[v]):g}" for v in calc.variables)
    given = [(spec.variable(p), _literal(trace[p]), "parameter") for p in calc.parameters] + \
        [(spec.variable(v), _literal(trace[v]), "the point") for v in calc.variables]
    cells = [_pair(markdown_cell(_render("calculus.md.j2", index=index, title=t.title, points=spec.points,
                                         functions=functions_tex(calc, values), point=point, prefix=key, asked=rows,
                                         compose=" o ".join(calc.compose) if calc.compose else "",
                                         significant=t.significant, instructions=t.instructions.strip()), key)),
             _pair(code_cell(_render("given.py.j2", index=index, layout="", arrays=given), "readonly",
                             f"{key}_given"))]
    for number, row in enumerate(rows, start=1):
        variable, q = row["variable"], row["quantity"]
        solution = [f"{variable} = {row['answer']!r}" if row["expression"] else
                    f"{variable} = {_literal(row['answer'])}"]
        cells.append(_pair(markdown_cell(_render("prompt.md.j2", prefix=index, number=number, **row),
                                         f"{variable}_prompt")))
        cells.append(_pair(code_cell(_render("answer.py.j2", solution=solution, **row), "answer", variable,
                                     hwgen={"problem": key, "quantity": q, "variable": variable})))
        if row["expression"]:
            samples, expected = key_samples(calc, q, trace)
            power, implicit = written_as_python()
            source = _render("expression_test.py.j2", samples=samples, expected=expected, power=power,
                             implicit=implicit, **row)
        else:
            expected = np.asarray(row["answer"], dtype=float).ravel().tolist()
            source = _render("test.py.j2", expected=repr(expected), rtol=repr(tol[q][0]), atol=repr(tol[q][1]),
                             **row)
        cells.append(_pair(code_cell(source, "test", f"test_{variable}", points=row["points"])))
    return cells
