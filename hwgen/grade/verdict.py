"""The verdict on one answer that is not numbers (an expression, a shape): kept apart from symbolic.py, whose sympy
(~0.35 s, ~50 MB) only a calculus problem needs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    """How one symbolic or shape answer fared: correct, wrong or invalid, a message, and the misconception it
    matches."""

    status: str
    message: str
    misconception: str | None = None


NAMED = {  # the calculus and shape mistakes: misconception key -> (name, what the student did)
    "missing_chain_factor": ("chain factor missing", "the chain factor (the inner function's derivative) is missing"),
    "other_variable_as_function": ("other variable treated as a function",
                                   "the other variable was differentiated as if it were a function of this one"),
    "transposed_jacobian": ("Jacobian transposed",
                            "the Jacobian is transposed (one column per component instead of one row)"),
    "chain_rule_order": ("chain rule in the wrong order",
                         "the chain rule multiplied in the wrong order (DG DF instead of DF(G(x)) DG(x))"),
    "outer_derivative_at_x": ("outer derivative at x", "DF evaluated at x instead of at G(x)"),
    "transposed_shape": ("transposed shape", "the shape written the other way round (columns by rows)"),
    "other_layer_shape": ("the other layer's shape", "the shape of the same quantity of the other layer"),
}
