"""Display notation: how a problem SHOWS canonical quantities (the engine never changes form).

layout `rows`: samples are rows, W is (in, out) -- the canonical form.
layout `columns`: samples are columns, W is (out, in), biases are column vectors (seed 001).
bias `folded`: each unit's weights are listed with its bias first, w_j = (w_j0, w_j1, ...) (seeds 002, 004);
every weight-shaped quantity (W, dL/dW, W_new) is then written one row per unit, (out, in), like W~.

A problem's worksheet, key, notebook and grader all use its one display; `Display.value` converts a
canonical value for showing, `Display.canonical` converts a student's answer back at the grader's edge.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np

from .engine import Step

Array = np.ndarray

SYMBOLS: dict[str, str] = {
    "X": "X", "Y": "Y", "W1": "W^{(1)}", "b1": "b^{(1)}", "W2": "W^{(2)}", "b2": "b^{(2)}",
    "lr": r"\eta", "n": "n",
    "Z1": "Z^{(1)}", "A1": "A^{(1)}", "Z2": "Z^{(2)}", "Yhat": r"\hat{Y}", "L": "L",
    "dYhat": r"\frac{\partial L}{\partial \hat{Y}}", "dZ2": r"\delta^{(2)}",
    "dW2": r"\frac{\partial L}{\partial W^{(2)}}", "db2": r"\frac{\partial L}{\partial b^{(2)}}",
    "dA1": r"\frac{\partial L}{\partial A^{(1)}}", "dZ1": r"\delta^{(1)}",
    "dW1": r"\frac{\partial L}{\partial W^{(1)}}", "db1": r"\frac{\partial L}{\partial b^{(1)}}",
    "W1_new": r"W^{(1)}_{\mathrm{new}}", "b1_new": r"b^{(1)}_{\mathrm{new}}",
    "W2_new": r"W^{(2)}_{\mathrm{new}}", "b2_new": r"b^{(2)}_{\mathrm{new}}",
}

DESCRIPTIONS: dict[str, str] = {
    "Z1": "hidden pre-activations", "A1": "hidden activations", "Z2": "output pre-activations",
    "Yhat": "network outputs", "L": "loss", "dYhat": "gradient of the loss w.r.t. the outputs",
    "dZ2": "output error (gradient w.r.t. Z2)", "dW2": "gradient w.r.t. the output weights",
    "db2": "gradient w.r.t. the output bias", "dA1": "error back-propagated to the hidden activations",
    "dZ1": "hidden error (gradient w.r.t. Z1)", "dW1": "gradient w.r.t. the hidden weights",
    "db1": "gradient w.r.t. the hidden biases", "W1_new": "hidden weights after one SGD step",
    "b1_new": "hidden biases after one SGD step", "W2_new": "output weights after one SGD step",
    "b2_new": "output bias after one SGD step",
}

# The steps whose spelling depends on the layout, by kind (role, and for a transposed product whether it gives a
# weight's gradient or the error sent back): (LaTeX, NumPy) with {slots} for their inputs, samples as columns with
# W (out x in), and samples as rows with W one row per unit (biases folded). Elementwise steps read the same.
COLUMN_FORMS: dict[str, tuple[str, str]] = {
    "affine": ("${w} ${x} + ${b}", "${w} @ ${x} + ${b}"),
    "weight_grad": (r"${dz} ${a}^{{\top}}", "${dz} @ ${a}.T"),
    "error": (r"${w}^{{\top}} ${dz}", "${w}.T @ ${dz}"),
    "sum_samples": (r"\textstyle\sum_{{i}} ${dz}", "${dz}.sum(axis=1, keepdims=True)"),
}
UNIT_ROW_FORMS: dict[str, tuple[str, str]] = {
    "affine": (r"${x} ${w}^{{\top}} + ${b}", "${x} @ ${w}.T + ${b}"),
    "weight_grad": (r"${dz}^{{\top}} ${a}", "${dz}.T @ ${a}"),
    "error": ("${dz} ${w}", "${dz} @ ${w}"),
}
COLUMN_CODE = (("len($Y)", "$Y.shape[1]"), ("axis=1, keepdims=True", "axis=0, keepdims=True"))  # n; a sample's axis
WEIGHT_SHAPED = re.compile(r"d?W\d+(_new)?")  # canonically (in, out): W1, dW2, W1_new

GIVEN_ROWS = (("X", "Y"), ("W1", "b1"), ("W2", "b2"))  # the given arrays as a problem statement lays them out
FOLDED = {"W1": ("b1", r"\tilde{W}^{(1)}"), "W2": ("b2", r"\tilde{W}^{(2)}")}

# How to read a display notation: (plain text, prose with $...$ math for the worksheets).
NOTES: dict[str, tuple[str, str]] = {
    "columns": ("Samples are the columns of X and Y; a weight matrix is (outputs x inputs), so Z = W X + b with b "
                "a column vector.",
                r"Samples are the columns of $X$ and $Y$; a weight matrix is (outputs $\times$ inputs), so "
                r"$Z = W X + b$ with $b$ a column vector."),
    "rows": ("Samples are the rows of X and Y; a weight matrix is (inputs x outputs), so Z = X W + b.",
             r"Samples are the rows of $X$ and $Y$; a weight matrix is (inputs $\times$ outputs), so $Z = X W + b$."),
    "rows_units": ("Samples are the rows of X and Y; a weight matrix is (outputs x inputs), one row per unit, so "
                   "Z = X Wᵀ + b.",
                   r"Samples are the rows of $X$ and $Y$; a weight matrix is (outputs $\times$ inputs), one row per "
                   r"unit, so $Z = X W^{\top} + b$."),
    "folded": ("Row j of a tilde-W matrix lists unit j's weights as (w_j0, w_j1, ...): w_j0 is the unit's bias, "
               "w_jk multiplies input k. A weight matrix W, its gradient dL/dW and W_new are written the same way, one "
               "row per unit, without the bias column.",
               r"Row $j$ of a $\tilde{W}$ matrix lists unit $j$'s weights as $(w_{j0}, w_{j1}, \dots)$: $w_{j0}$ "
               r"is the unit's bias, $w_{jk}$ multiplies input $k$. A weight matrix $W$, its gradient "
               r"$\partial L / \partial W$ and $W_{\mathrm{new}}$ are written the same way, one row per unit, without "
               r"the bias column."),
}


def conform(arr: Array, shape: tuple[int, ...]) -> Array | None:
    """arr reshaped to `shape` if the two differ only by size-1 axes ((h,) vs (1, h), 3.2 vs [[3.2]]); else None."""
    if arr.size != math.prod(shape):
        return None
    if tuple(s for s in arr.shape if s != 1) != tuple(s for s in shape if s != 1):
        return None
    return arr.reshape(shape)


# What each given array holds, as the notebook's given cell comments it: samples as rows, with weights one row
# per unit (biases folded), and samples as columns.
GIVEN_NOTES: dict[str, dict[str, str]] = {
    "rows": {"X": "inputs, one row per sample", "Y": "targets, one row per sample",
             "W1": "hidden weights (inputs x hidden)", "b1": "hidden biases", "W2": "output weights (hidden x outputs)",
             "b2": "output biases"},
    "folded": {"W1": "hidden weights, one row per hidden unit (the tilde-W without its bias column)",
               "W2": "output weights, one row per output unit (the tilde-W without its bias column)"},
    "columns": {"X": "inputs, one column per sample", "Y": "targets, one column per sample",
                "W1": "hidden weights (hidden x inputs)", "b1": "hidden biases, a column",
                "W2": "output weights (outputs x hidden)", "b2": "output biases, a column"},
}


def _kind(step: Step) -> str:
    """Which of the layout-dependent forms a step is: its role, a transposed product split into the weight's
    gradient (dW = A^T dZ) and the error sent back (dA = dZ W^T)."""
    if step.role == "transpose_product":
        return "weight_grad" if step.name.startswith("dW") else "error"
    return step.role


class Shown(NamedTuple):
    """A given array as displayed: canonical name, LaTeX symbol, plain-text label, displayed value."""

    name: str
    tex: str
    label: str
    value: Array


@dataclass(frozen=True)
class Display:
    """How a template writes its quantities; converts canonical values at the edge."""

    layout: Literal["rows", "columns"] = "rows"
    bias: Literal["separate", "folded"] = "separate"

    def flipped(self, name: str) -> bool:
        """Whether a canonical matrix `name` is shown transposed: every one in `columns`, the weight-shaped ones
        (one row per unit) when biases are folded."""
        return self.layout == "columns" or (self.bias == "folded" and WEIGHT_SHAPED.fullmatch(name) is not None)

    def value(self, a: Array | float, name: str) -> Array:
        """A canonical value of quantity `name` as shown: matrices transposed where `flipped`, vectors as
        columns in `columns`."""
        a = np.asarray(a, dtype=float)
        if a.ndim == 1 and self.layout == "columns":
            return a.reshape(-1, 1)
        return a.T if a.ndim == 2 and self.flipped(name) else a

    def shape(self, shape: tuple[int, ...], name: str) -> tuple[int, ...]:
        """The shape `value` gives a canonical value of this shape."""
        if len(shape) == 1 and self.layout == "columns":
            return (shape[0], 1)
        return shape[::-1] if len(shape) == 2 and self.flipped(name) else tuple(shape)

    def canonical(self, name: str, answer: Array, shape: tuple[int, ...]) -> tuple[Array | None, bool]:
        """A student's answer to `name`, written as shown, in canonical form (`shape`): None if its shape fits
        neither way. A matrix that is not square may also come in the other orientation (then True): its shape
        tells the two apart. A square one counts only as shown."""
        shown = self.shape(shape, name)
        fitted = conform(answer, shown)
        if fitted is not None:
            return (fitted.T if fitted.ndim == 2 and self.flipped(name) else fitted).reshape(shape), False
        if len(shown) == 2 and min(shown) > 1 and shown[0] != shown[1]:
            other = conform(answer, shown[::-1])
            if other is not None:
                return (other if self.flipped(name) else other.T).reshape(shape), True
        return None, False

    def formula(self, step: Step) -> str:
        """The step's right-hand side in LaTeX with `$name` slots, in this display."""
        form = self._form(step)
        return step.tex if form is None else form[0]

    def code(self, step: Step) -> str:
        """The step's right-hand side in NumPy with `$name` slots, for arrays laid out in this display."""
        form = self._form(step)
        code = step.code if form is None else form[1]
        for canonical, columns in COLUMN_CODE if self.layout == "columns" and form is None else ():
            code = code.replace(canonical, columns)
        return code

    def _form(self, step: Step) -> tuple[str, str] | None:
        """(LaTeX, NumPy) of a step whose spelling this display changes, its slots filled; None if unchanged."""
        forms = COLUMN_FORMS if self.layout == "columns" else UNIT_ROW_FORMS if self.bias == "folded" else {}
        kind = _kind(step)
        if kind not in forms:
            return None
        slots = dict(zip({"affine": ("x", "w", "b"), "weight_grad": ("a", "dz", "lam", "w"), "error": ("dz", "w"),
                          "sum_samples": ("dz",)}[kind], step.inputs))
        tex, code = (f.format(**slots) for f in forms[kind])
        if kind == "weight_grad" and "lam" in slots:  # weight decay: + lam W, laid out like the gradient
            tex, code = tex + rf" + ${slots['lam']} \, ${slots['w']}", code + f" + ${slots['lam']} * ${slots['w']}"
        return tex, code

    def given(self, given: dict[str, Array]) -> list[Shown]:
        """The given arrays as shown; folded biases join their weights as column 0 of a unit-per-row matrix."""
        shown = []
        for name in given:
            if self.bias == "folded" and name in FOLDED:
                bias, symbol = FOLDED[name]
                w = np.asarray(given[name], dtype=float)
                folded = np.column_stack([np.asarray(given[bias], dtype=float), w.T])
                shown.append(Shown(name, symbol, f"[{bias} | {name}]", folded))
            elif not (self.bias == "folded" and name in ("b1", "b2")):
                shown.append(Shown(name, SYMBOLS.get(name, name), name, self.value(given[name], name)))
        return shown

    def given_note(self, name: str) -> str:
        """What the given array `name` holds, in words that fit this display."""
        if self.layout == "columns":
            return GIVEN_NOTES["columns"][name]
        return GIVEN_NOTES["folded"].get(name, GIVEN_NOTES["rows"][name]) if self.bias == "folded" \
            else GIVEN_NOTES["rows"][name]

    def note(self, tex: bool = False) -> str:
        """What a reader needs to read the displayed numbers: plain text, or prose with $...$ math."""
        layout = "rows_units" if self.layout == "rows" and self.bias == "folded" else self.layout
        parts = [NOTES[layout][tex]] + ([NOTES["folded"][tex]] if self.bias == "folded" else [])
        return " ".join(parts)
