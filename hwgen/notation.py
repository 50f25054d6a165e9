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
from typing import Literal, Mapping, NamedTuple

import numpy as np

from .engine import Problem, Step, solve

Array = np.ndarray

CONSTANT_SYMBOLS = {"lr": r"\eta", "n": "n", "lam": r"\lambda"}  # trace entries every problem may read
CONSTANT_NOTES = {"lr": "learning rate", "lam": "weight decay"}  # as a notebook's given cell comments them
GREEK = frozenset("alpha beta gamma delta epsilon zeta eta theta kappa lambda mu nu xi rho sigma tau phi chi psi "
                  "omega".split())
_SUBSCRIPTED = re.compile(r"([A-Za-z]+?)(\d+)")  # w12 -> w_{12}
ROW_WIDTH = 5  # at most this many given quantities on one line of a graph problem's statement


def layers(problem: Problem) -> int:
    """The weight layers L of a network problem (its affine steps); 0 for any other problem."""
    return len(problem.by_role("affine"))


def _base_tex(base: str) -> str:
    """A name without subscript in TeX: x, \\hat{y} for yhat, \\eta for eta, \\mathrm{sigy} for a longer one."""
    if base.endswith("hat") and len(base) > 3:
        return rf"\hat{{{_base_tex(base[:-3])}}}"
    if base in GREEK:
        return "\\" + base
    return base if len(base) == 1 else rf"\mathrm{{{base}}}"


def name_tex(name: str) -> str:
    """A graph quantity's symbol from its name: x, w_{12} (trailing digits), a_{j} (after _), \\hat{y} (yhat)."""
    base, sub = name.split("_", 1) if "_" in name else (name, "")
    match = _SUBSCRIPTED.fullmatch(base) if not sub else None
    if match:
        base, sub = match.groups()
    if not sub:
        return _base_tex(base)
    sub = sub.replace("_", r"\_") if len(sub) == 1 or not sub.isalpha() else rf"\mathrm{{{sub}}}"
    return f"{_base_tex(base)}_{{{sub}}}"


def _where(k: int, count: int) -> str:
    """Layer k of `count` weight layers in words: output, hidden (the only hidden layer), hidden layer k's."""
    return "output" if k == count else "hidden" if count == 2 else f"hidden layer {k}'s"


def _the(k: int, count: int) -> str:
    """Layer k's owner with an article where English wants one: the output, the hidden, hidden layer 1's."""
    where = _where(k, count)
    return where if where.endswith("'s") else f"the {where}"


@dataclass(frozen=True)
class Names:
    """How a problem names its quantities: TeX symbol and description per name, the given arrays' lines in a
    statement, folded weights (weight -> (its bias, the tilde symbol)) and what each given array holds per layout
    (`rows`, `folded`, `columns`)."""

    symbols: dict[str, str]
    descriptions: dict[str, str]
    given_rows: tuple[tuple[str, ...], ...]
    folded: dict[str, tuple[str, str]]
    given_notes: dict[str, dict[str, str]]


def _network_names(count: int) -> Names:
    """Names of a network of `count` weight layers: W^{(k)}, \\delta^{(k)}, 'hidden layer k's weights', ..."""
    sym = {"X": "X", "Y": "Y", **CONSTANT_SYMBOLS, "Yhat": r"\hat{Y}", "L": "L",
           "dYhat": r"\frac{\partial L}{\partial \hat{Y}}"}
    desc = {"Yhat": "network outputs", "L": "loss", "dYhat": "gradient of the loss w.r.t. the outputs"}
    notes: dict[str, dict[str, str]] = {
        "rows": {"X": "inputs, one row per sample", "Y": "targets, one row per sample"}, "folded": {},
        "columns": {"X": "inputs, one column per sample", "Y": "targets, one column per sample"}}
    folded = {}
    for k in range(1, count + 1):
        where, the = _where(k, count), _the(k, count)
        unit = "output unit" if k == count else "hidden unit" if count == 2 else f"unit of hidden layer {k}"
        biases = "bias" if k == count else "biases"
        into = "inputs" if k == 1 else "hidden" if count == 2 else f"hidden layer {k - 1}"
        out = "outputs" if k == count else "hidden" if count == 2 else f"hidden layer {k}"
        sym |= {f"W{k}": f"W^{{({k})}}", f"b{k}": f"b^{{({k})}}", f"Z{k}": f"Z^{{({k})}}", f"dZ{k}": rf"\delta^{{({k})}}",
                f"dW{k}": rf"\frac{{\partial L}}{{\partial W^{{({k})}}}}",
                f"db{k}": rf"\frac{{\partial L}}{{\partial b^{{({k})}}}}",
                f"W{k}_new": rf"W^{{({k})}}_{{\mathrm{{new}}}}", f"b{k}_new": rf"b^{{({k})}}_{{\mathrm{{new}}}}"}
        desc |= {f"Z{k}": f"{where} pre-activations", f"dZ{k}": f"{where} error (gradient w.r.t. Z{k})",
                 f"dW{k}": f"gradient w.r.t. {the} weights", f"db{k}": f"gradient w.r.t. {the} {biases}",
                 f"W{k}_new": f"{where} weights after one SGD step", f"b{k}_new": f"{where} {biases} after one SGD step"}
        if k < count:
            sym |= {f"A{k}": f"A^{{({k})}}", f"dA{k}": rf"\frac{{\partial L}}{{\partial A^{{({k})}}}}"}
            desc |= {f"A{k}": f"{where} activations", f"dA{k}": f"error back-propagated to {the} activations"}
        folded[f"W{k}"] = (f"b{k}", rf"\tilde{{W}}^{{({k})}}")
        notes["rows"] |= {f"W{k}": f"{where} weights ({into} x {out})", f"b{k}": f"{where} biases"}
        notes["folded"][f"W{k}"] = f"{where} weights, one row per {unit} (the tilde-W without its bias column)"
        notes["columns"] |= {f"W{k}": f"{where} weights ({out} x {into})", f"b{k}": f"{where} biases, a column"}
    rows = (("X", "Y"), *((f"W{k}", f"b{k}") for k in range(1, count + 1)))
    return Names(sym, desc, rows, folded, notes)
def _graph_names(problem: Problem) -> Names:
    """Names of a graph (or any other problem): each name's own TeX, d<x> as the output's partial derivative."""
    grads = {s.name: s.name[1:] for s in problem.by_role("node_grad")}
    out = next(iter(grads.values()), "")  # the first gradient is d<output> = 1
    shape = _shapes(problem)
    sym, desc = dict(CONSTANT_SYMBOLS), {}
    for name in (*problem.given, *problem.answers):
        if name in grads:
            x = grads[name]
            sym[name] = rf"\frac{{\partial {name_tex(out)}}}{{\partial {name_tex(x)}}}"
            each = ", per sample" if shape[name] else ", summed over the samples" if any(shape.values()) else ""
            desc[name] = f"gradient of {out} w.r.t. {x}{each}"
        else:
            sym[name] = name_tex(name)
            what = "given" if name in problem.given else "value of node"
            desc[name] = f"{what} {name}" + (", per sample" if shape[name] else "")
    notes = {name: "one number per sample" if shape[name] else "a number" for name in problem.given}
    return Names(sym, desc, _lines(problem.given), {}, {"rows": notes, "folded": {}, "columns": notes})


def _shapes(problem: Problem) -> dict[str, tuple[int, ...]]:
    """Every quantity's canonical shape, by solving the problem on ones (the values do not matter)."""
    ones = {k: np.ones(shape) for k, shape in problem.given.items()}
    return {k: np.shape(v) for k, v in solve(problem, ones, 0.1).items()}


def _lines(given: Mapping[str, tuple[int, ...]]) -> tuple[tuple[str, ...], ...]:
    """A graph's given quantities in lines of a statement: names differing only in their last digit (w10, w11,
    w12) and of one shape share a line, and neighbouring lines join while they hold at most ROW_WIDTH."""
    groups: list[list[str]] = []
    for name in given:
        last = groups[-1] if groups else None
        if last and re.sub(r"\d$", "", last[0]) == re.sub(r"\d$", "", name) and given[last[0]] == given[name]:
            last.append(name)
        else:
            groups.append([name])
    lines: list[list[str]] = []
    for group in groups:
        if lines and len(lines[-1]) + len(group) <= ROW_WIDTH and given[lines[-1][0]] == given[group[0]]:
            lines[-1] += group
        else:
            lines.append(list(group))
    return tuple(tuple(line) for line in lines)


_MADE: dict[tuple, Names] = {}  # names per kind of problem (given names and shapes, answers), made once


def names(problem: Problem) -> Names:
    """How `problem` names its quantities (a network by its layers, any other problem by its own names)."""
    key = (tuple(problem.given.items()), problem.answers)
    if key not in _MADE:
        count = layers(problem)
        _MADE[key] = _network_names(count) if count else _graph_names(problem)
    return _MADE[key]


ONE_HIDDEN = _network_names(2)  # the first bank's names (what an assignment's own instructions may mention)


def symbol(problem: Problem, name: str) -> str:
    """The TeX symbol of quantity `name` of `problem` (its name's own TeX if the problem has no such quantity)."""
    return names(problem).symbols.get(name) or name_tex(name)


def description(problem: Problem, name: str) -> str:
    """What quantity `name` of `problem` is, in words (the name itself if the problem has no such quantity)."""
    return names(problem).descriptions.get(name, name)


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

    def given(self, given: Mapping[str, Array], problem: Problem) -> list[Shown]:
        """The given arrays of `problem` as shown; folded biases join their weights as column 0 of a unit-per-row
        matrix."""
        known = names(problem)
        folded = known.folded if self.bias == "folded" else {}
        biases = {bias for bias, _ in folded.values()}
        shown = []
        for name in given:
            if name in folded:
                bias, symbol = folded[name]
                w = np.asarray(given[name], dtype=float)
                joined = np.column_stack([np.asarray(given[bias], dtype=float), w.T])
                shown.append(Shown(name, symbol, f"[{bias} | {name}]", joined))
            elif name not in biases:
                shown.append(Shown(name, known.symbols.get(name, name), name, self.value(given[name], name)))
        return shown

    def given_note(self, name: str, problem: Problem) -> str:
        """What the given array `name` of `problem` holds, in words that fit this display."""
        notes = names(problem).given_notes
        if self.layout == "columns":
            return notes["columns"][name]
        return notes["folded"].get(name, notes["rows"][name]) if self.bias == "folded" else notes["rows"][name]

    def note(self, tex: bool = False) -> str:
        """What a reader needs to read the displayed numbers: plain text, or prose with $...$ math."""
        layout = "rows_units" if self.layout == "rows" and self.bias == "folded" else self.layout
        parts = [NOTES[layout][tex]] + ([NOTES["folded"][tex]] if self.bias == "folded" else [])
        return " ".join(parts)
