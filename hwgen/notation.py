"""Display notation: how a template SHOWS canonical quantities (the engine never changes form).

layout `rows`: samples are rows, W is (in, out) -- the canonical form.
layout `columns`: samples are columns, W is (out, in), biases are column vectors (seed 001).
bias `folded`: each unit's weights are listed with its bias first, w_j = (w_j0, w_j1, ...) (seeds 002, 004).
"""

from __future__ import annotations

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

# Steps whose formula reads differently when samples are columns; elementwise steps read the same.
COLUMN_TEX: dict[str, str] = {
    "Z1": "$W1 $X + $b1",
    "Z2": "$W2 $A1 + $b2",
    "dW2": r"$dZ2 $A1^{\top}",
    "dA1": r"$W2^{\top} $dZ2",
    "dW1": r"$dZ1 $X^{\top}",
}

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
    "folded": ("Row j of a tilde-W matrix lists unit j's weights as (w_j0, w_j1, ...): w_j0 is the unit's bias, "
               "w_jk multiplies input k.",
               r"Row $j$ of a $\tilde{W}$ matrix lists unit $j$'s weights as $(w_{j0}, w_{j1}, \dots)$: $w_{j0}$ "
               r"is the unit's bias, $w_{jk}$ multiplies input $k$."),
}


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

    def value(self, a: Array | float) -> Array:
        """A canonical value in display orientation: in `columns`, matrices transposed, vectors as columns."""
        a = np.asarray(a, dtype=float)
        if self.layout == "rows" or a.ndim == 0:
            return a
        return a.reshape(-1, 1) if a.ndim == 1 else a.T

    def formula(self, step: Step) -> str:
        """The step's right-hand side with `$name` slots, in this layout."""
        return COLUMN_TEX.get(step.name, step.tex) if self.layout == "columns" else step.tex

    def given(self, given: dict[str, Array]) -> list[Shown]:
        """The given arrays as shown; folded biases join their weights as column 0 of a unit-per-row matrix."""
        shown = []
        for name in ("X", "Y", "W1", "b1", "W2", "b2"):
            if self.bias == "folded" and name in FOLDED:
                bias, symbol = FOLDED[name]
                w = np.asarray(given[name], dtype=float)
                folded = np.column_stack([np.asarray(given[bias], dtype=float), w.T])
                shown.append(Shown(name, symbol, f"[{bias} | {name}ᵀ]", folded))
            elif not (self.bias == "folded" and name in ("b1", "b2")):
                shown.append(Shown(name, SYMBOLS[name], name, self.value(given[name])))
        return shown

    def note(self, tex: bool = False) -> str:
        """What a reader needs to read the displayed numbers: plain text, or prose with $...$ math."""
        parts = [NOTES[self.layout][tex]] + ([NOTES["folded"][tex]] if self.bias == "folded" else [])
        return " ".join(parts)
