"""Shape questions: the shape of a network quantity, or of a product a student builds (dZ2 @ W2.T), in the problem's
display notation, answered as a tuple ((4, 2)) or as text ("4 by 2", "4 x 2", "n by 2" for any number of samples);
graded exactly, with the transposed shape and the other layer's shape named."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..bank import Template
from ..engine import network_problem, solve
from ..errors import HwgenError
from .verdict import Verdict

Dim = int | str  # a size, or "n" (the number of samples, whatever it is)
Shape = tuple[Dim, ...]
MAX_TEXT = 60  # characters of a written shape or product

_DIM = r"\s*(\d{1,4}|n)\s*"
_WRITTEN = re.compile(rf"^\s*\(?{_DIM}(?:(?:by|x|×|\*|,){_DIM})?,?\s*\)?\s*$", re.IGNORECASE)
_TERM = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]{0,15})\s*(\.T)?\s*$")
_LAYER = re.compile(r"(\d+)")


class ShapeError(HwgenError):
    """A shape or product that cannot be read, or whose factors do not fit."""


def read_shape(answer: Any) -> Shape:
    """A student's shape: a list, tuple or array of sizes (whole numbers, also as floats from a notebook, or "n"),
    or text like "4 by 2", "(4, 2)", "n x 2"."""
    if isinstance(answer, np.ndarray) and answer.dtype.kind == "f" and answer.ndim == 1:
        answer = answer.tolist()
    if isinstance(answer, (list, tuple)) and 1 <= len(answer) <= 2 and all(
            (type(d) in (int, float) and d == int(d) and 0 < d < 10_000) or d == "n" for d in answer):
        return tuple(d if d == "n" else int(d) for d in answer)
    if isinstance(answer, str) and len(answer) <= MAX_TEXT:
        m = _WRITTEN.match(answer)
        if m:
            return tuple(int(d) if d.isdigit() else "n" for d in m.groups() if d is not None)
    raise ShapeError(f"{str(answer)[:MAX_TEXT]!r} is not a shape; write e.g. (4, 2) or \"4 by 2\" "
                     "(\"n by 2\" for one row per sample)")


def shapes(template: Template, symbolic_n: bool = False) -> dict[str, Shape]:
    """Every given and computed quantity's shape as displayed; with symbolic_n, sizes that follow the number of
    samples are "n" (found by solving with one more sample: the sizes that move)."""
    net = template.network
    if net is None:
        raise ShapeError(f"{template.name} is not a network; shape questions are asked of network quantities")
    out = {}
    one, more = (_solved_shapes(net, n) for n in (template.samples, template.samples + 1))
    for name, shape in one.items():
        shown = template.display.shape(shape, name)
        moved = template.display.shape(more[name], name)
        out[name] = tuple("n" if symbolic_n and a != b else a for a, b in zip(shown, moved))
    return out


def _solved_shapes(net: Any, samples: int) -> dict[str, tuple[int, ...]]:
    """The canonical shape of every quantity of the network with this many samples."""
    problem = network_problem(net, samples)
    trace = solve(problem, {k: np.ones(s) for k, s in problem.given.items()}, net.lr)
    return {k: v.shape for k, v in trace.items() if k not in ("lr", "n", "lam")}


def product_shape(text: str, known: dict[str, Shape]) -> Shape:
    """The shape of a product of quantities written as A @ B.T @ C (names, .T, @ only)."""
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise ShapeError("write a product of quantities, e.g. dZ2 @ W2.T")
    result: Shape | None = None
    for part in text.split("@"):
        m = _TERM.match(part)
        if not m or m[1] not in known:
            raise ShapeError(f"{part.strip()!r} is not a quantity (or its .T); the names are {', '.join(known)}")
        shape = known[m[1]]
        shape = shape[::-1] if m[2] else shape
        if result is not None:
            if len(result) != 2 or len(shape) != 2 or result[1] != shape[0]:
                raise ShapeError(f"the product does not fit: {result} @ {shape}")
            shape = (result[0], shape[1])
        result = shape
    assert result is not None
    return result


def judge_shape(answer: Any, expected: Shape, name: str, known: dict[str, Shape], samples: int | None = None) -> Verdict:
    """A student's shape of quantity `name` against the expected one; the transposed shape and the shape of the same
    quantity of the other layer (dW1 for dW2) are named; with `samples`, a size n written as this problem's number
    of samples (or the other way round) is said to be so."""
    try:
        got = read_shape(answer)
    except ShapeError as exc:
        return Verdict("invalid", str(exc))
    if got == expected:
        return Verdict("correct", f"{name} is {_written(expected)}")
    if samples is not None and len(got) == len(expected) and got != expected and all(
            g == e or {g, e} == {"n", samples} for g, e in zip(got, expected)):
        why = ("the question asks for any number of samples n" if "n" in expected else
               f"this problem has n = {samples} samples")
        return Verdict("wrong", f"{_written(got)}: {why}, so {name} is {_written(expected)}")
    if len(expected) == 2 and got == expected[::-1]:
        return Verdict("wrong", f"{_written(got)} is the transposed shape; {name} is {_written(expected)}",
                       "transposed_shape")
    others = [o for o in known if o != name and _LAYER.sub("#", o) == _LAYER.sub("#", name) and known[o] == got]
    if others:
        return Verdict("wrong", f"{_written(got)} is the shape of {others[0]}, the other layer's", "other_layer_shape")
    return Verdict("wrong", f"{name} is not {_written(got)}")


def _written(shape: Shape) -> str:
    """A shape as words: "4 by 2", "n by 2", "3"."""
    return " by ".join(str(d) for d in shape)
