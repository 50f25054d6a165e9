"""What a problem may ask besides a step's numbers: a symbolic derivative (`grad_f_expr`, `J_F_expr`, `D_F_G_expr`
of a calculus problem, answered as expressions) and a shape (`shape(Q)`, `shape(dZ2 @ W2.T)` of a network problem,
answered as (4, 2) or "4 by 2"; `shape(Q, n)` for any number of samples, answered "n by 2").

An asked quantity's kind decides who renders and grades it: numbers go through the steps and the rounding-aware
checks; expressions and shapes through hwgen/render/calculus.py, hwgen/render/shapes.py and hwgen/grade/questions.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from .errors import HwgenError

if TYPE_CHECKING:
    from .bank import Template
    from .calculus import Calculus

MAX_PRODUCT = 60  # characters inside shape(...)
_SHAPE = re.compile(r"^\s*shape\(\s*([A-Za-z][A-Za-z0-9_ .@]{0,%d}?)\s*(?:,\s*(n)\s*)?\)\s*$" % MAX_PRODUCT)
_TERM = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)\s*(\.T)?\s*$")
EXPR = "_expr"
PATTERN = r"^(?:[A-Za-z][A-Za-z0-9_]*|\s*shape\([A-Za-z0-9_ .@,]{1,70}\)\s*)$"  # what an asked name may look like


@dataclass(frozen=True)
class ShapeQuestion:
    """shape(A @ B.T ...): the factors (name, transposed) and whether the answer is for any number of samples."""

    factors: tuple[tuple[str, bool], ...]
    symbolic_n: bool

    @property
    def product(self) -> str:
        """The product as written in a notebook: dZ2 @ W2.T."""
        return " @ ".join(f"{name}{'.T' if t else ''}" for name, t in self.factors)

    @property
    def key(self) -> str:
        """The asked quantity's one spelling: shape(dZ2 @ W2.T) or shape(dZ2 @ W2.T, n)."""
        return f"shape({self.product}{', n' if self.symbolic_n else ''})"

    @property
    def suffix(self) -> str:
        """What follows the problem key in the notebook variable: shape_dZ2_at_W2T, shape_n_W1."""
        body = "_at_".join(f"{name}{'T' if t else ''}" for name, t in self.factors)
        return f"shape_{'n_' if self.symbolic_n else ''}{body}"


def shape_question(q: str) -> ShapeQuestion | None:
    """The shape question written as q, or None if q is not one (its factors are not checked against a problem)."""
    m = _SHAPE.match(q)
    if not m:
        return None
    factors = []
    for part in m[1].split("@"):
        term = _TERM.match(part)
        if not term:
            return None
        factors.append((term[1], bool(term[2])))
    return ShapeQuestion(tuple(factors), bool(m[2]))


def expression_names(t: Template) -> tuple[str, ...]:
    """The symbolic answers a calculus template can ask: each function's derivative and the composition's."""
    if not t.calculus:
        return ()
    calc = t.calculus
    names = [f"{derivative_name(calc, fn.name)}{EXPR}" for fn in calc.functions]
    return tuple(names + ([f"D_{calc.compose[0]}_{calc.compose[1]}{EXPR}"] if calc.compose else []))


def derivative_name(calc: Calculus, name: str) -> str:
    """The step of function `name`'s derivative: grad_<f> for a scalar function, J_<F> for a vector one."""
    return f"{'J' if calc.function(name).vector else 'grad'}_{name}"


def kind(t: Template, q: str) -> str:
    """'number' (a step), 'expression' (a calculus template's symbolic derivative) or 'shape'."""
    if q in t.problem.answers:
        return "number"
    if q in expression_names(t):
        return "expression"
    if shape_question(q):
        return "shape"
    raise KeyError(q)


def numeric(t: Template, names: Iterable[str]) -> list[str]:
    """The names that are steps' numbers, in the given order."""
    answers = t.problem.answers
    return [q for q in names if q in answers]


def variable_suffix(q: str) -> str:
    """What follows `pK_` in the notebook variable of quantity q (q itself, or a shape question's suffix)."""
    shape = shape_question(q)
    return shape.suffix if shape else q


class QuestionError(HwgenError):
    """A quantity a template cannot ask: what is wrong (`what`) and how to fix it (`fix`)."""

    def __init__(self, what: str, fix: str) -> None:
        super().__init__(f"{what}; {fix}")
        self.what, self.fix = what, fix


def canonical(t: Template, q: str) -> str:
    """q in its one spelling if the template can ask it; else QuestionError."""
    if q in t.problem.answers or q in expression_names(t):
        return q
    shape = shape_question(q)
    if shape is None:
        raise QuestionError(f"unknown quantity {q!r}", f"use some of: {choices(t)}")
    if not t.network:
        raise QuestionError(f"{q!r}: shape questions are asked of network problems", f"use some of: {choices(t)}")
    from .grade.shapes import ShapeError, product_shape, shapes
    try:
        product_shape(shape.product, shapes(t))
    except ShapeError as exc:
        raise QuestionError(f"{q!r}: {exc}", "write shape(Q) or shape(A @ B.T) of the problem's quantities") from None
    return shape.key


def choices(t: Template) -> str:
    """What the template can ask, as a sentence's end."""
    also = (f"; or a derivative as expressions: {', '.join(expression_names(t))}" if t.calculus else
            "; or a shape, e.g. shape(W1), shape(dZ2 @ W2.T), shape(X, n) for any number of samples" if t.network
            else "")
    return f"{', '.join(t.problem.answers)}{also}"


def ordered(t: Template, names: Iterable[str]) -> list[str]:
    """Asked names in working order: each step, then its symbolic form; shape questions last, as written."""
    answers = {q: i for i, q in enumerate(t.problem.answers)}
    names = list(names)

    def place(q: str) -> tuple[int, bool, int]:
        base = q[:-len(EXPR)] if q.endswith(EXPR) else q
        return answers.get(base, len(answers)), base != q, names.index(q)
    return sorted(names, key=place)
