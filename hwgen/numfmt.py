"""Numbers written one way everywhere: rounded to the template's significant digits, positional."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Sequence

import numpy as np

Array = np.ndarray
NOISE = 1e-12  # a computed value smaller than this is float noise around an exact 0 (tanh(0.5 - 0.5)): written 0


def round_sig(a: Array | float, sig: int) -> Array:
    """Round every entry to `sig` significant digits: (any shape) -> same shape."""
    a = np.asarray(a, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # zeros, inf and nan are kept as they are
        scale = 10.0 ** (sig - 1 - np.floor(np.log10(np.abs(a))))
        return np.where(np.isfinite(a) & (a != 0), np.rint(a * scale) / scale, a)


def fmt(x: float, sig: int, zeros: bool = False) -> str:
    """One number rounded to `sig` significant digits, positional, no trailing zeros (-0.04747, 0.69), or with
    `zeros` all `sig` digits (0.6900)."""
    return _positional(float(round_sig(x, sig)), sig, zeros)


@lru_cache(maxsize=1 << 14)
def _positional(x: float, sig: int, zeros: bool = False) -> str:
    """An already rounded number written out as fmt writes it (float noise around 0 as 0); with `zeros`, all `sig`
    digits are written, trailing zeros included (0.6900: the precision a key states)."""
    if not np.isfinite(x):
        return str(x)
    if abs(x) < NOISE:
        x = 0.0
    if zeros and x != 0:
        return f"{x:.{max(0, sig - 1 - math.floor(math.log10(abs(x))))}f}"
    text = np.format_float_positional(x, precision=sig, unique=False, fractional=False, trim="-")
    return "0" if text in ("-0", "0") else text


def points_text(x: float) -> str:
    """Points as people write them, at most 3 decimals and no trailing zeros: 10, 0.5, 0.25, 7.333."""
    text = np.format_float_positional(round(float(x), 3), trim="-")
    return "0" if text == "-0" else text


def counted(x: float, unit: str) -> str:
    """A number of things (points, students) with its unit, plural unless exactly one: 1 pt, 0.5 pts, 2 students."""
    return f"{points_text(x)} {unit}{'' if x == 1 else 's'}"


def text_array(a: Array | float, sig: int) -> str:
    """An array as plain text in NumPy's nesting: [[0.3, 0.5], [0.7, 1]]; a scalar as a number."""
    return _nested(round_sig(a, sig), sig)


def _nested(a: Array, sig: int) -> str:
    """A rounded array as text_array writes it."""
    if a.ndim == 0:
        return _positional(float(a), sig)
    return "[" + ", ".join(_nested(row, sig) for row in a) + "]"


def tex_scalar(x: float, sig: int) -> str:
    """A number for math mode (the minus becomes a true minus there)."""
    return fmt(x, sig)


def tex_array(a: Array | float, sig: int, zeros: bool = False) -> str:
    """A scalar as a number; a vector as a one-row bmatrix; a matrix as a bmatrix (`zeros`: as _positional)."""
    return _tex_rounded(round_sig(a, sig), sig, zeros)


def round_sig_each(values: Sequence[Array | float], sig: int) -> list[Array]:
    """[round_sig(v, sig) for v in values], rounding all of them in one NumPy call (each keeps its shape)."""
    arrays = [np.asarray(v, dtype=float) for v in values]
    if not arrays:
        return []
    flat = round_sig(np.concatenate([v.ravel() for v in arrays]), sig)
    ends = np.cumsum([v.size for v in arrays]).tolist()
    return [flat[end - v.size:end].reshape(v.shape) for v, end in zip(arrays, ends)]


def tex_arrays(values: Sequence[Array | float], sig: int, zeros: bool = False) -> list[str]:
    """[tex_array(v, sig, zeros) for v in values], rounding all of them in one call. A number rounded on its own may
    differ in the last bit from the same number rounded within an array (NumPy computes 10.0 ** k for a scalar
    with the C library's pow, for an array with its own), but its text at `sig` digits is the same: the
    rounded value lies within an ulp or two of a `sig`-digit decimal, never near a midpoint between two."""
    return [_tex_rounded(rounded, sig, zeros) for rounded in round_sig_each(values, sig)]


def _tex_rounded(a: Array, sig: int, zeros: bool = False) -> str:
    """An already rounded array as tex_array writes it."""
    if a.ndim == 0:
        return _positional(float(a), sig, zeros)
    rows = a.reshape(1, -1) if a.ndim == 1 else a
    body = r" \\ ".join(" & ".join(_positional(v, sig, zeros) for v in row.tolist()) for row in rows)
    return r"\begin{bmatrix} " + body + r" \end{bmatrix}"
