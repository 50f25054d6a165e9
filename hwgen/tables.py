"""Activations, their derivatives and losses: tables of name -> functions and formulas.

Formulas are LaTeX with `$name` slots (string.Template) so that the same text can show
symbols (the formula) or numbers (the formula with the numbers put in).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np

Array = np.ndarray


def _libm(f: Callable[[float], float]) -> Callable[[Array], Array]:
    """Apply a scalar C-library function entry by entry.

    NumPy's own exp/log/tanh pick SIMD kernels by CPU, which can differ in the last bit; these do not,
    so the same seed gives byte-identical answers on every machine.
    """
    ufunc = np.frompyfunc(f, 1, 1)
    return lambda x: np.asarray(ufunc(np.asarray(x, dtype=float)), dtype=float)


def _sigmoid1(z: float) -> float:
    """Logistic function of one number, without overflow for any z."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _log1(v: float) -> float:
    """Natural log of one number: -inf at 0 and nan below, as NumPy would give."""
    return math.log(v) if v > 0 else (-math.inf if v == 0 else math.nan)


_sigmoid, _tanh, _log, _exp = _libm(_sigmoid1), _libm(math.tanh), _libm(_log1), _libm(math.exp)
exp, log = _exp, _log  # entry by entry through the C library: the same bits on every machine


def _softmax(z: Array) -> Array:
    """Softmax of each row (the last axis): (..., n, o) -> (..., n, o), shifted by the row's max (no overflow)."""
    e = _exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _softmax_backward(d: Array, a: Array) -> Array:
    """dL/dz of a row-wise softmax from dL/da and a: a * (d - sum_j d_j a_j), row by row."""
    return a * (d - (d * a).sum(axis=-1, keepdims=True))


@dataclass(frozen=True)
class Activation:
    """a = fn(z); da/dz = grad(v) where v is z or a, as `grad_of` says (None: da/dz = 1). tex/code spell a in
    terms of $z; back_tex/back_code spell dL/dz in terms of the upstream $d = dL/da and $z or $a (LaTeX, NumPy)."""

    name: str
    fn: Callable[[Array], Array]
    grad: Callable[[Array], Array]
    grad_of: Literal["z", "a"] | None
    tex: str
    back_tex: str
    code: str
    back_code: str
    coupled: Callable[[Array, Array], Array] | None = None  # a backward that couples a row (softmax's)
    output_only: bool = False

    def backward(self, d: Array, v: Array) -> Array:
        """dL/dz from the upstream d = dL/da and v (z or a, as grad_of says): d * grad(v) unless the row couples."""
        return self.coupled(d, v) if self.coupled else d * self.grad(v)


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation("sigmoid", _sigmoid, lambda a: a * (1 - a), "a", r"\sigma($z)", r"$d \odot $a \odot (1 - $a)",
                          "1 / (1 + np.exp(-$z))", "$d * $a * (1 - $a)"),
    "tanh": Activation("tanh", _tanh, lambda a: 1 - a * a, "a", r"\tanh($z)", r"$d \odot (1 - $a \odot $a)", "np.tanh($z)",
                       "$d * (1 - $a ** 2)"),
    "relu": Activation("relu", lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(float), "z",
                       r"\max(0, $z)", r"$d \odot [$z > 0]", "np.maximum($z, 0)", "$d * ($z > 0)"),
    "linear": Activation("linear", lambda z: z, lambda a: np.ones_like(a), None, r"$z", "$d", "$z", "$d"),
    # grad is the Jacobian's diagonal (what a student who forgets the coupling uses); backward is the real one.
    "softmax": Activation("softmax", _softmax, lambda a: a * (1 - a), "a", r"\operatorname{softmax}($z)",
                          r"\left($d - \textstyle\sum_{j} $d \odot $a\right) \odot $a",
                          "np.exp($z) / np.exp($z).sum(axis=1, keepdims=True)",
                          "($d - ($d * $a).sum(axis=1, keepdims=True)) * $a", _softmax_backward, output_only=True),
}


@dataclass(frozen=True)
class Loss:
    """L = fn(yhat, y); dL/dyhat = grad(yhat, y); yhat, y: (..., n, o), L: (...). tex/grad_tex in terms of $Yhat,
    $Y, $n; code/grad_code the same in NumPy. `needs`: the output activation the loss requires, if any."""

    fn: Callable[[Array, Array], Array]
    grad: Callable[[Array, Array], Array]
    tex: str
    grad_tex: str
    code: str
    grad_code: str
    needs: str | None = None


def _total(a: Array) -> Array:
    """Sum over the samples and outputs: (..., n, o) -> (...)."""
    return a.sum(axis=(-2, -1))


def _n(y: Array) -> int:
    """The number of samples: the rows of (..., n, o)."""
    return y.shape[-2]


def _bce(yhat: Array, y: Array) -> Array:
    """Binary cross-entropy averaged over the n rows: (..., n, o), (..., n, o) -> (...)."""
    return -_total(y * _log(yhat) + (1 - y) * _log(1 - yhat)) / _n(y)


def _cce(yhat: Array, y: Array) -> Array:
    """Categorical cross-entropy averaged over the n rows (one-hot y): (..., n, o), (..., n, o) -> (...)."""
    return -_total(y * _log(yhat)) / _n(y)


LOSSES: dict[str, Loss] = {
    "sse": Loss(lambda yh, y: _total((yh - y) ** 2), lambda yh, y: 2 * (yh - y),
                r"\sum ($Yhat - $Y)^{2}", r"2 ($Yhat - $Y)", "np.sum(($Yhat - $Y) ** 2)", "2 * ($Yhat - $Y)"),
    "sse_half": Loss(lambda yh, y: _total((yh - y) ** 2) / 2, lambda yh, y: yh - y,
                     r"\frac{1}{2} \sum ($Yhat - $Y)^{2}", r"$Yhat - $Y", "np.sum(($Yhat - $Y) ** 2) / 2", "$Yhat - $Y"),
    "mse": Loss(lambda yh, y: _total((yh - y) ** 2) / _n(y), lambda yh, y: 2 * (yh - y) / _n(y),
                r"\frac{1}{$n} \sum ($Yhat - $Y)^{2}", r"\frac{2}{$n} ($Yhat - $Y)",
                "np.sum(($Yhat - $Y) ** 2) / len($Y)", "2 * ($Yhat - $Y) / len($Y)"),
    "mse_half": Loss(lambda yh, y: _total((yh - y) ** 2) / (2 * _n(y)), lambda yh, y: (yh - y) / _n(y),
                     r"\frac{1}{2 \cdot $n} \sum ($Yhat - $Y)^{2}", r"\frac{1}{$n} ($Yhat - $Y)",
                     "np.sum(($Yhat - $Y) ** 2) / (2 * len($Y))", "($Yhat - $Y) / len($Y)"),
    "bce": Loss(_bce, lambda yh, y: (yh - y) / (yh * (1 - yh)) / _n(y),
                r"-\frac{1}{$n} \sum \left[ $Y \odot \log $Yhat + (1 - $Y) \odot \log (1 - $Yhat) \right]",
                r"\frac{1}{$n} ($Yhat - $Y) \oslash \left( $Yhat \odot (1 - $Yhat) \right)",
                "-np.sum($Y * np.log($Yhat) + (1 - $Y) * np.log(1 - $Yhat)) / len($Y)",
                "($Yhat - $Y) / ($Yhat * (1 - $Yhat)) / len($Y)", needs="sigmoid"),
    "cce": Loss(_cce, lambda yh, y: -y / yh / _n(y), r"-\frac{1}{$n} \sum $Y \odot \log $Yhat",
                r"-\frac{1}{$n} $Y \oslash $Yhat", "-np.sum($Y * np.log($Yhat)) / len($Y)", "-$Y / $Yhat / len($Y)",
                needs="softmax"),
}
