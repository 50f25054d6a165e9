"""A network problem's shape questions in the notebook: per question a prompt, an answer cell (a tuple such as
(4, 2), ("n", 2) for any number of samples, or text "4 by 2") and a test cell (the form visible, the shape hidden,
read as hwgen/grade/shapes.py reads it); build.problem_cells hands them here."""

from __future__ import annotations

from ...problem import ProblemSpec
from ...render.shapes import answer, asked, description, tex_symbol
from .build import Pair, environment
from .ipynb import cell
from .nbgrader import code_cell, markdown_cell
from .preprocess import student_cell


def _pair(data: dict) -> Pair:
    """A cell and its student version."""
    theirs, mine = student_cell(data), cell(data)
    return mine, mine if theirs == data else cell(theirs)


def shape_cells(index: int, spec: ProblemSpec, first: int) -> list[Pair]:
    """The cells of the problem's shape questions, numbered from `first` within the problem."""
    env, cells = environment(), []
    for number, (q, question) in enumerate(asked(spec), start=first):
        variable, expected = spec.variable(q), answer(spec.template, question)
        row = {"variable": variable, "symbol": tex_symbol(question, spec.template.problem), "product": question.product,
               "description": description(question), "points": spec.asked[q], "literal": repr(tuple(expected)),
               "symbolic_n": question.symbolic_n, "prefix": index, "number": number}
        cells.append(_pair(markdown_cell(env.get_template("shape_prompt.md.j2").render(**row).strip("\n"),
                                         f"{variable}_prompt")))
        cells.append(_pair(code_cell(env.get_template("shape_answer.py.j2").render(**row).strip("\n"), "answer",
                                     variable, hwgen={"problem": spec.key, "quantity": q, "variable": variable})))
        cells.append(_pair(code_cell(env.get_template("shape_test.py.j2").render(**row).strip("\n"), "test",
                                     f"test_{variable}", points=spec.asked[q])))
    return cells
