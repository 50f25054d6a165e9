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


_sigmoid, _tanh, _log = _libm(_sigmoid1), _libm(math.tanh), _libm(_log1)


@dataclass(frozen=True)
class Activation:
    """a = fn(z); da/dz = grad(v) where v is z or a, as `grad_of` says (None: da/dz = 1)."""

    fn: Callable[[Array], Array]
    grad: Callable[[Array], Array]
    grad_of: Literal["z", "a"] | None
    tex: str  # in terms of $z
    grad_tex: str  # in terms of $z or $a


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation(_sigmoid, lambda a: a * (1 - a), "a", r"\sigma($z)", r"$a \odot (1 - $a)"),
    "tanh": Activation(_tanh, lambda a: 1 - a * a, "a", r"\tanh($z)", r"(1 - $a \odot $a)"),
    "relu": Activation(lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(float), "z",
                       r"\max(0, $z)", r"[$z > 0]"),
    "linear": Activation(lambda z: z, lambda a: np.ones_like(a), None, r"$z", "1"),
}


@dataclass(frozen=True)
class Loss:
    """L = fn(yhat, y); dL/dyhat = grad(yhat, y); yhat, y: (..., n, o), L: (...)."""

    fn: Callable[[Array, Array], Array]
    grad: Callable[[Array, Array], Array]
    tex: str  # in terms of $Yhat, $Y, $n
    grad_tex: str


def _total(a: Array) -> Array:
    """Sum over the samples and outputs: (..., n, o) -> (...)."""
    return a.sum(axis=(-2, -1))


def _n(y: Array) -> int:
    """The number of samples: the rows of (..., n, o)."""
    return y.shape[-2]


def _bce(yhat: Array, y: Array) -> Array:
    """Binary cross-entropy averaged over the n rows: (..., n, o), (..., n, o) -> (...)."""
    return -_total(y * _log(yhat) + (1 - y) * _log(1 - yhat)) / _n(y)


LOSSES: dict[str, Loss] = {
    "sse": Loss(lambda yh, y: _total((yh - y) ** 2), lambda yh, y: 2 * (yh - y),
                r"\sum ($Yhat - $Y)^{2}", r"2 ($Yhat - $Y)"),
    "sse_half": Loss(lambda yh, y: _total((yh - y) ** 2) / 2, lambda yh, y: yh - y,
                     r"\frac{1}{2} \sum ($Yhat - $Y)^{2}", r"$Yhat - $Y"),
    "mse": Loss(lambda yh, y: _total((yh - y) ** 2) / _n(y), lambda yh, y: 2 * (yh - y) / _n(y),
                r"\frac{1}{$n} \sum ($Yhat - $Y)^{2}", r"\frac{2}{$n} ($Yhat - $Y)"),
    "mse_half": Loss(lambda yh, y: _total((yh - y) ** 2) / (2 * _n(y)), lambda yh, y: (yh - y) / _n(y),
                     r"\frac{1}{2 \cdot $n} \sum ($Yhat - $Y)^{2}", r"\frac{1}{$n} ($Yhat - $Y)"),
    "bce": Loss(_bce, lambda yh, y: (yh - y) / (yh * (1 - yh)) / _n(y),
                r"-\frac{1}{$n} \sum \left[ $Y \odot \log $Yhat + (1 - $Y) \odot \log (1 - $Yhat) \right]",
                r"\frac{1}{$n} ($Yhat - $Y) \oslash \left( $Yhat \odot (1 - $Yhat) \right)"),
}
