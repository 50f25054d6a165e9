"""How rounding to d significant digits propagates through the engine's steps, entry by entry.

The student is modelled as a machine that keeps d significant digits: every value they write down
(each step's result, and each given they copy) is off by at most u = 0.5 * 10^(1-d) of itself
(half a unit in the d-th digit). A step turns the rounding errors of its inputs into an error of its
result; that is measured on the step itself, entry by entry, by moving each input entry by its bound
(a first-order worst case that keeps cancellation visible: dW2 = A1^T dZ2 sums terms of opposite sign,
and its bound is large where its value is small). Summing those moves and the step's own rounding gives
a bound per entry; no formula is written here.

`SAFETY` doubles the bound so that a student who truncates instead of rounding, or rounds a given,
still gets full marks. The bound becomes one (rtol, atol) pair per quantity, the form np.isclose takes,
shared by the sampler (which refuses variants rounding makes ill-conditioned), the grader and the
notebooks' hidden tests.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable, Mapping

import numpy as np

from .engine import GIVEN_NAMES, Step
from .numfmt import round_sig

Array = np.ndarray
Tolerance = tuple[float, float]  # (rtol, atol): |answer - expected| <= atol + rtol * |expected|, entry by entry

SAFETY = 2.0
RTOL_FLOOR = 1e-9  # float noise of a student's own NumPy (BLAS order of summation)
ATOL_FLOOR = 1e-12
PAIRS = 64


def unit_roundoff(digits: int) -> float:
    """Largest relative error of rounding to `digits` significant digits: 0.5 * 10^(1 - digits)."""
    return 0.5 * 10.0 ** (1 - digits)


def _propagated(step: Step, values: Mapping[str, Array], bounds: Mapping[str, Array]) -> tuple[Array, Array]:
    """The step's result on `values`, and a bound on how far it moves when each input entry moves by its
    bound (summed over entries): (result's shape) twice. The steps are smooth where variants are drawn
    (no ReLU input near 0), so one move per entry measures the first-order effect. All the moves go
    through the step in one call, one move per row of a batch on a leading axis (engine steps take batches).
    Callers silence NumPy's floating-point warnings: a move out of the domain is no rounding."""
    args = [np.asarray(values[i], dtype=float) for i in step.inputs]
    base = np.asarray(step.fn(*args), dtype=float)
    plan = []  # (argument positions, flat bounds, flat positions that move) per distinct input that moves
    for name, slots in _inputs(step.inputs):
        e = np.asarray(bounds[name], dtype=float).ravel()  # shaped as its value (lr, n: zero)
        moving = e.nonzero()[0]  # (nan too: its move gives a non-finite change, counted as none)
        if moving.size:
            plan.append((slots, e, moving))
    if not plan:
        return base, np.zeros_like(base)
    rows = sum(len(moving) for _, _, moving in plan)
    batched, first = list(args), 0
    for slots, e, moving in plan:
        batch = np.repeat(args[slots[0]][None], rows, axis=0)
        batch.reshape(rows, -1)[first + np.arange(moving.size), moving] += e[moving]
        for k in slots:
            batched[k] = batch
        first += moving.size
    change = np.abs(np.asarray(step.fn(*batched), dtype=float) - base)
    return base, np.where(np.isfinite(change), change, 0.0).sum(axis=0)


@lru_cache(maxsize=256)
def _inputs(inputs: tuple[str, ...]) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """Each distinct input name of a step with the positions it takes in the step's arguments."""
    return tuple((name, tuple(k for k, i in enumerate(inputs) if i == name)) for name in dict.fromkeys(inputs))


def rounding_bounds(steps: list[Step], values: Mapping[str, Array], digits: int,
                    fresh: Iterable[str] = (), needed: Iterable[str] | None = None) -> dict[str, Array]:
    """Per entry, how far a d-digit student's result of each step can be from the step evaluated on `values`.

    `values` holds the given arrays, lr, n and a value per step. For the exact answer key every step's value is
    its result; for a student's own work (error carried forward) the names in `fresh` are values the student
    wrote down, which later steps take as they are: downstream they count with their own rounding only.
    With `needed`, steps after the last needed one are left out.
    """
    u, fresh = unit_roundoff(digits), set(fresh)
    bounds: dict[str, Array] = {k: np.abs(round_sig(values[k], digits) - values[k]) for k in GIVEN_NAMES}
    bounds["lr"] = bounds["n"] = np.zeros(())
    computed = {}
    needed = {s.name for s in steps} if needed is None else set(needed)
    last = max((i for i, s in enumerate(steps) if s.name in needed), default=-1)
    with np.errstate(all="ignore"):
        for step in steps[:last + 1]:
            result, moved = _propagated(step, values, bounds)
            computed[step.name] = moved + u * np.abs(result)
            bounds[step.name] = u * np.abs(values[step.name]) if step.name in fresh else computed[step.name]
    return computed


def as_tolerance(expected: Array, bound: Array) -> Tolerance:
    """The (rtol, atol) pair that covers SAFETY * bound at every entry and is tightest in the worst entry.

    For rtol = r the least atol is max_i(e_i - r b_i); the worst slack max_k (atol + r b_k) / e_k is convex
    and piecewise linear in r, so its minimum lies at r = 0, at some e_i / b_i, or where two entries' lines
    cross, r = (e_i - e_j) / (b_i - b_j): all of them are tried (pairs for up to PAIRS entries)."""
    b, e = np.abs(np.ravel(expected)), SAFETY * np.ravel(bound)
    keep = e > 0
    if not keep.any() or not np.isfinite(e).all() or not np.isfinite(b).all():  # nothing to allow, or no bound
        return RTOL_FLOOR, ATOL_FLOOR * max(1.0, float(b.max(initial=0.0)))
    if b.size == 1:
        return (max(float(e[0] / b[0]), RTOL_FLOOR), ATOL_FLOOR * max(1.0, float(b[0]))) if b[0] > 0 else \
            (RTOL_FLOOR, float(e[0]))
    positive = keep & (b > 0)
    candidates = [[0.0], e[positive] / b[positive]]
    if b.size <= PAIRS:  # each pair once (i < j): the pair (j, i) gives the same number to the last bit
        i, j = _pairs(b.size)
        with np.errstate(divide="ignore", invalid="ignore"):
            crossing = (e[i] - e[j]) / (b[i] - b[j])
        candidates.append(crossing[np.isfinite(crossing) & (crossing > 0)])
    candidates = np.sort(np.concatenate(candidates))  # repeats change no minimum: argmin picks the same value
    atols = (e[None, :] - candidates[:, None] * b[None, :]).max(axis=1).clip(min=0.0)
    slack = ((atols[:, None] + candidates[:, None] * b[None, keep]) / e[None, keep]).max(axis=1)
    best = int(np.argmin(slack))
    return (max(float(candidates[best]), RTOL_FLOOR),
            max(float(atols[best]), ATOL_FLOOR * max(1.0, float(b.max(initial=0.0)))))


@lru_cache(maxsize=PAIRS)
def _pairs(size: int) -> tuple[Array, Array]:
    """Index arrays (i, j) of every pair i < j of `size` entries."""
    return np.triu_indices(size, 1)


def close(answer: Array, expected: Array, tol: Tolerance) -> Array:
    """Entry by entry: |answer - expected| <= atol + rtol * |expected| (never ==)."""
    rtol, atol = tol
    return np.abs(answer - expected) <= atol + rtol * np.abs(expected)


def tolerances_of(steps: list[Step], trace: Mapping[str, Array], digits: int, asked: Iterable[str]) -> dict[str, Tolerance]:
    """{asked quantity: (rtol, atol)} against a solved trace for a student keeping `digits` significant digits."""
    asked = list(asked)
    bounds = rounding_bounds(steps, trace, digits, needed=asked)
    return {q: as_tolerance(trace[q], bounds[q]) for q in asked}

