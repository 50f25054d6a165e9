"""Trusted checks of asked quantities that are not a step's numbers: symbolic derivatives (hwgen/grade/symbolic.py,
the student's text parsed by the whitelisting parser and evaluated by the op table, never run) and shapes
(hwgen/grade/shapes.py). One Item per quantity, as checks.py makes for numbers.

Error carried forward: D(F o G) written as expressions that equal the student's own DF (put in at the true G(x))
times their own DG earns `correct_ecf`; a number (grad_f, J_F, D_F_G) equal to the student's own expression of it
put in at the point earns `correct_ecf` too (the numbers were put in right, the derivative was wrong).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .. import questions
from ..problem import ProblemSpec
from .result import Item, Status
from .shapes import judge_shape, product_shape, shapes
from .verdict import Verdict

Array = np.ndarray


def _item(spec: ProblemSpec, q: str, status: Status, message: str, fraction: float = 0.0,
          misconception: str | None = None) -> Item:
    """An Item for quantity q worth `fraction` of its points."""
    points = float(spec.asked[q])
    return Item(spec.key, q, points * fraction, points, status, message, misconception)


def verdict(spec: ProblemSpec, trace: Mapping[str, Array], q: str, answer: Any) -> Verdict:
    """The symbolic or shape verdict on one answer to q."""
    t = spec.template
    shape = questions.shape_question(q)
    if shape:
        known = shapes(t, symbolic_n=shape.symbolic_n)
        return judge_shape(answer, product_shape(shape.product, known), shape.product, known, t.samples)
    from .symbolic import judge_chain, judge_derivative
    assert t.calculus
    base = q[:-len(questions.EXPR)]
    if base.startswith("D_"):
        return judge_chain(answer, t.calculus, trace)
    return judge_derivative(answer, t.calculus, base.split("_", 1)[1], trace)


def grade_question(spec: ProblemSpec, trace: Mapping[str, Array], q: str, values: Mapping[str, Any],
                   error: str | None, ecf_credit: float) -> Item:
    """The Item of one symbolic or shape quantity: the student's value (plain data from the sandbox, hostile) or
    the reason none could be read."""
    variable = spec.variable(q)
    if error is not None:
        return _item(spec, q, "invalid", f"No value could be read from {variable}: {error}.")
    if q not in values:
        return _item(spec, q, "missing", f"No answer: {variable} was never assigned.")
    v = verdict(spec, trace, q, values[q])
    if v.status == "correct":
        return _item(spec, q, "correct", f"Correct: {v.message}.", 1.0)
    if v.status == "wrong" and v.misconception is None and _own_chain(spec, trace, q, values):
        return _item(spec, q, "correct_ecf", "Correct for your own DF and DG, which are not right: the error is "
                     f"carried forward and this answer earns {ecf_credit:.0%} of its points.", ecf_credit)
    if v.status == "invalid":
        return _item(spec, q, "invalid", f"{variable} could not be read: {v.message}.")
    named = " This is a known mistake." if v.misconception else ""
    return _item(spec, q, "wrong", f"Not correct: {v.message}.{named}", misconception=v.misconception)


def _own_chain(spec: ProblemSpec, trace: Mapping[str, Array], q: str, values: Mapping[str, Any]) -> bool:
    """Whether a symbolic D_F_G equals the student's own J_F (at the true G(x)) times their own J_G."""
    calc = spec.template.calculus
    if not calc or not calc.compose or q != f"D_{calc.compose[0]}_{calc.compose[1]}{questions.EXPR}":
        return False
    from .symbolic import own_chain
    outer, inner = (values.get(f"{questions.derivative_name(calc, n)}{questions.EXPR}") for n in calc.compose)
    return own_chain(values.get(q), outer, inner, calc, trace)


def own_number(spec: ProblemSpec, trace: Mapping[str, Array], q: str, answer: Array,
               values: Mapping[str, Any]) -> bool:
    """Whether a number asked beside its symbolic form (J_F beside J_F_expr) is the student's own expression put in
    at the point (within float noise of it, or of its rounding to the problem's digits)."""
    expr = f"{q}{questions.EXPR}"
    if expr not in spec.asked or expr not in values or not spec.template.calculus:
        return False
    from .symbolic import value_at
    own = value_at(values[expr], spec.template.calculus, q, trace)
    return own is not None and own.shape == np.shape(answer) and bool(
        np.allclose(answer, own, rtol=0.5 * 10.0 ** (1 - spec.template.significant), atol=1e-9))


def named_number(spec: ProblemSpec, trace: Mapping[str, Array], q: str, answer: Array,
                 tolerance: tuple[float, float]) -> Item | None:
    """A wrong number of a calculus derivative (answer in canonical form) that is one of the named mistakes (the
    Jacobian transposed, the chain factor forgotten, the chain rule in the wrong order, ...) within q's tolerance."""
    calc = spec.template.calculus
    if not calc or not q.startswith(("grad_", "J_", "D_")):
        return None
    from .symbolic import MISTAKES, number_mistakes
    for key, value in number_mistakes(calc, q, trace).items():
        if value.shape == answer.shape and np.allclose(answer, value, rtol=tolerance[0], atol=tolerance[1]) \
                and not np.allclose(value, trace[q], rtol=tolerance[0], atol=tolerance[1]):
            return _item(spec, q, "wrong", f"Not correct: this matches a known mistake: {MISTAKES[key]}.",
                         misconception=key)
    return None
