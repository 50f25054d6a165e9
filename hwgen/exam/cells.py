"""Answer cells: every asked quantity as the grid of entries a student writes, in the problem's display notation.

A quantity shown as an r x c matrix has cells `<problem>.<quantity>[i,j]` (1-based, as displayed); a vector is
one row (or, in the `columns` layout, one column) of cells; a number is the single cell `<problem>.<quantity>`.
A shape question is one text cell ("4 by 2"), a derivative asked as expressions a grid of text cells (one per
entry, a gradient one row).
These names head the columns of DIR/keys/answers.csv and of the TAs' entry sheet; a typed grid goes to the grader
as displayed, as a notebook's answer does (the grader converts it, notation.Display.canonical).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from .. import questions
from ..notation import Display
from ..problem import ProblemSpec

Array = np.ndarray


@dataclass(frozen=True)
class Box:
    """One asked quantity's answer box: problem key, quantity, its displayed rows x columns (None: a number)."""

    problem: str
    quantity: str
    grid: tuple[int, int] | None
    text: tuple[int, ...] | None = None  # cells of text, nested to this shape as the grader reads them; None: numbers

    @property
    def names(self) -> list[str]:
        """The cells' column names, row by row: p1.Z1[1,1], p1.Z1[1,2], ...; p1.L for a number."""
        base = f"{self.problem}.{self.quantity}"
        if self.grid is None:
            return [base]
        rows, cols = self.grid
        return [f"{base}[{i + 1},{j + 1}]" for i in range(rows) for j in range(cols)]


def shown(display: Display, value: Array | float, name: str) -> Array:
    """A canonical value of quantity `name` as displayed, always 2-D for an array (a vector is one row, or one
    column in `columns`)."""
    a = display.value(value, name)
    return a if a.ndim != 1 else a.reshape(1, -1)


def boxes(spec: ProblemSpec, answers: Mapping[str, Any]) -> list[Box]:
    """The answer boxes of one problem, in the order asked; `answers`: quantity -> canonical value (a trace or
    the manifest record's answers)."""
    out = []
    for q in spec.asked:
        kind = questions.kind(spec.template, q)
        if kind == "number":
            a = shown(spec.template.display, np.asarray(answers[q], dtype=float), q)
            out.append(Box(spec.key, q, None if a.ndim == 0 else (a.shape[0], a.shape[1])))
        else:
            shape = np.shape(answers[q[:-len(questions.EXPR)]]) if kind == "expression" else ()  # its step's
            grid = None if not shape else (1, shape[0]) if len(shape) == 1 else (shape[0], shape[1])
            out.append(Box(spec.key, q, grid, shape))
    return out


def text_answer(spec: ProblemSpec, q: str, answers: Mapping[str, Any]) -> list[str]:
    """A text box's exact entries, row by row: a shape as words ("4 by 2"), expressions as the key writes them."""
    shape = questions.shape_question(q)
    if shape:
        from ..grade.shapes import product_shape, shapes
        return [" by ".join(map(str, product_shape(shape.product, shapes(spec.template, shape.symbolic_n))))]
    return [str(e) for e in np.ravel(np.asarray(answers[q], dtype=object))]


def columns(specs: Sequence[ProblemSpec], answers: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Every answer cell of an assignment, problem by problem: the columns after student_id and name."""
    return [name for spec in specs for box in boxes(spec, answers[spec.key]) for name in box.names]


def entries(spec: ProblemSpec, answers: Mapping[str, Any]) -> dict[str, float | str]:
    """Cell name -> exact value of one student's problem (`answers`: quantity -> canonical value), text for a text
    box."""
    out: dict[str, float | str] = {}
    for box in boxes(spec, answers):
        if box.text is not None:
            out.update(zip(box.names, text_answer(spec, box.quantity, answers)))
            continue
        values = shown(spec.template.display, np.asarray(answers[box.quantity], dtype=float), box.quantity).ravel()
        out.update(zip(box.names, map(float, values)))
    return out

