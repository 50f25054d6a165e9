"""A student's value as the sandbox hands it back (JSON-plain) -> a checked float array, or why it is not one.

Nothing here trusts the value: it may be any JSON-able thing (str, dict, None, bool, NaN, ragged or
absurdly nested lists). Lists are walked level by level, never recursively, so no input can exhaust
the stack; the array is built only once its shape and size are known to be sane.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np

from ..engine import Network, network_problem, solve
from ..notation import conform
from ..rounding import ATOL_FLOOR, RTOL_FLOOR

Array = np.ndarray

MAX_DEPTH = 4  # answers are at most 2-D; two more levels allow size-1 axes such as [[[L]]]
MAX_ENTRIES = 100_000

SAMPLES = 7  # the number of samples dimension_names solves with (unlike every layer's size)
_WORDS = {"n": ("sample", "samples"), "d": ("input", "inputs"), "h": ("hidden unit", "hidden units"),
          "o": ("output", "outputs")}


class BadValue(ValueError):
    """A value that is not a finite number or a rectangular nested list of them; str(exc) says why."""


def _is_number(x: Any) -> bool:
    """An int or float (bool is an int in Python, but True is not an answer)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _describe(x: Any) -> str:
    """What a non-numeric value is, in words a student recognises."""
    if x is None:
        return "None (was the answer cell left as it was, or did a function forget to `return`?)"
    if isinstance(x, bool):
        return f"the boolean {x}, not a number"
    if isinstance(x, str):
        shown = x if len(x) <= 30 else x[:27] + "..."
        try:
            float(x)
        except ValueError:
            return f"the text {shown!r}, not a number"
        return f"the text {shown!r}: write the number itself, without quotes"
    if isinstance(x, dict):
        return "a dict, not a number or an array"
    return f"a {type(x).__name__}, not a number or an array"


def to_array(value: Any) -> Array:
    """A number or rectangular nested list of finite numbers -> float array of that shape; else BadValue. An
    array of finite floats (this function's own result, when a value is read once and checked twice) passes."""
    if isinstance(value, np.ndarray) and value.dtype == np.float64 and value.ndim <= MAX_DEPTH and \
            value.size and np.isfinite(value).all():
        return value
    if not _is_number(value) and not isinstance(value, (list, tuple)):
        raise BadValue(f"it is {_describe(value)}")
    level: list[Any] = [value]
    shape: list[int] = []
    while not all(_is_number(x) for x in level):
        if len(shape) == MAX_DEPTH:
            raise BadValue(f"it is a list nested more than {MAX_DEPTH} levels deep; answers are numbers, "
                           "vectors or matrices")
        odd = [x for x in level if not isinstance(x, (list, tuple)) and not _is_number(x)]
        if odd:
            raise BadValue(f"an entry is {_describe(odd[0])}")
        lengths = {len(x) if isinstance(x, (list, tuple)) else -1 for x in level}
        if len(lengths) > 1:
            raise BadValue("its rows have different lengths (a ragged list); every row must have as many entries")
        (length,) = lengths
        if length == 0:
            raise BadValue("it is an empty list")
        if len(level) * length > MAX_ENTRIES:
            raise BadValue(f"it has more than {MAX_ENTRIES} entries, far more than this answer needs")
        shape.append(length)
        level = [y for x in level for y in x]
    try:
        flat = [float(x) for x in level]
    except OverflowError:
        raise BadValue("it holds an integer too large to be a float") from None
    if any(math.isnan(x) for x in flat):
        raise BadValue("it holds NaN (not a number): check for 0/0, log of a negative number or an unset entry")
    if any(math.isinf(x) for x in flat):
        raise BadValue("it holds an infinite value: check for division by zero or an overflow")
    return np.asarray(flat, dtype=float).reshape(shape)


def _words(letter: str) -> tuple[str, str]:
    """A dimension's letter in words (one, many): n samples, d inputs, h hidden units, hk units of hidden layer k."""
    if letter in _WORDS:
        return _WORDS[letter]
    return f"unit of hidden layer {letter[1:]}", f"units of hidden layer {letter[1:]}"


@lru_cache(maxsize=8)
def dimension_names(layers: int = 2) -> dict[str, tuple[str, ...]]:
    """The canonical shape of every quantity of a network of `layers` weight layers in letters: Z1 -> ('n', 'h'),
    dW1 -> ('d', 'h'), L -> () (hidden layers h1, h2, ... when there are several); {} for any other problem."""
    if not layers:
        return {}
    hidden = ["h"] if layers == 2 else [f"h{k}" for k in range(1, layers)]
    letters = ["d", *hidden, "o"]
    sizes = {letter: 11 + k for k, letter in enumerate(letters)}  # all different, and unlike n
    problem = network_problem(Network(tuple(sizes.values()), ("linear",) * layers, "sse", 0.1), SAMPLES)
    given = {k: np.ones(shape) for k, shape in problem.given.items()}
    letter = {v: k for k, v in sizes.items()} | {SAMPLES: "n"}
    return {name: tuple(letter[s] for s in value.shape) for name, value in solve(problem, given, 0.1).items()}


def describe_shape(quantity: str, shape: tuple[int, ...], flipped: bool = False, layers: int = 2) -> str:
    """An expected shape in words: 'a 4 x 2 array (one row per sample, one column per hidden unit)'; `flipped`:
    the quantity is shown transposed (notation.Display.flipped), so are its dimensions; `layers`: the network's
    weight layers (0: a graph, whose vectors hold one number per sample)."""
    dims = dimension_names(layers).get(quantity, ("n",) * (len(shape) == 1 and not layers))
    dims = dims[::-1] if flipped else dims
    if len(shape) == 0:
        return "a single number"
    if len(shape) == 1:
        what = f" (one per {_words(dims[0])[0]})" if len(dims) == 1 else ""
        return f"a vector of {shape[0]}{what}"
    size = " x ".join(map(str, shape))
    if len(dims) == 2:
        return f"a {size} array (one row per {_words(dims[0])[0]}, one column per {_words(dims[1])[0]})"
    return f"a {size} array"


def _same(xs: list[float], ys: list[float], tol: tuple[float, float]) -> bool:
    """Equal entry by entry within (rtol, atol): |x - y| <= atol + rtol |y|. Plain floats: the arrays compared
    here have a handful of entries, where NumPy's per-call cost is most of the work (the same IEEE operations)."""
    rtol, atol = tol
    return all(abs(x - y) <= atol + rtol * abs(y) for x, y in zip(xs, ys))


FLOAT_NOISE = (RTOL_FLOOR, ATOL_FLOOR)  # (rtol, atol) of float noise
ZEROS = "all zeros"
COPY_OF = "a copy of the given "


def trivial(a: Array, given: dict[str, Array], tol: tuple[float, float] = FLOAT_NOISE) -> str | None:
    """Why a value is not a real attempt (all zeros, one repeated number, only 0s and +-1s, a copy of a given
    array), or None; `tol` is how close counts as equal (float noise, or a quantity's tolerance)."""
    xs = np.ravel(a).tolist()
    if _same(xs, [0.0] * len(xs), tol):
        return ZEROS
    if len(xs) > 1 and _same(xs, [xs[0]] * len(xs), tol):
        return "the same number in every entry"
    magnitudes = [abs(x) for x in xs]
    if len(xs) > 1 and _same(magnitudes, [1.0 if m > 0.5 else 0.0 for m in magnitudes], tol):
        return "only 0s and 1s (saturated or placeholder values)"
    for name in given if len(xs) > 1 else ():  # one number may equal a given one by chance
        for form in (given[name], given[name].T) if given[name].size == len(xs) else ():
            if conform(a, form.shape) is not None and _same(xs, np.ravel(form).tolist(), tol):
                return COPY_OF + name
    return None
