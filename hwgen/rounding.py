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
from typing import Iterable, Mapping, Sequence

import numpy as np

from .engine import Problem, Step
from .numfmt import round_sig_each

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
    (no ReLU input near 0), so one move per entry measures the first-order effect. The step runs once, on a
    batch on a leading axis (engine steps take batches): row 0 unmoved, then one row per moved entry.
    Callers silence NumPy's floating-point warnings: a move out of the domain is no rounding."""
    args = [np.asarray(values[i], dtype=float) for i in step.inputs]
    plan, rows = [], 1  # (argument positions, moves, flat positions that move, first row) per input that moves
    for name, slots in _inputs(step.inputs):
        e = np.asarray(bounds[name], dtype=float).ravel()  # shaped as its value (lr, n: zero)
        moving = e.nonzero()[0]  # (nan too: its move gives a non-finite change, counted as none)
        if moving.size:
            plan.append((slots, e[moving], moving, rows))
            rows += moving.size
    if rows == 1:
        base = np.asarray(step.fn(*args), dtype=float)
        return base, np.zeros_like(base)
    batched = list(args)
    for slots, moves, moving, first in plan:
        batch = np.repeat(args[slots[0]][None], rows, axis=0)
        batch.reshape(rows, -1)[np.arange(first, first + moving.size), moving] += moves
        for k in slots:
            batched[k] = batch
    out = np.asarray(step.fn(*batched), dtype=float)
    change = np.abs(out[1:] - out[0])
    change[~np.isfinite(change)] = 0.0
    return out[0], change.sum(axis=0)


@lru_cache(maxsize=256)
def _inputs(inputs: tuple[str, ...]) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """Each distinct input name of a step with the positions it takes in the step's arguments."""
    return tuple((name, tuple(k for k, i in enumerate(inputs) if i == name)) for name in dict.fromkeys(inputs))


def rounding_bounds(problem: Problem, values: Mapping[str, Array], digits: int,
                    fresh: Iterable[str] = (), needed: Iterable[str] | None = None) -> dict[str, Array]:
    """Per entry, how far a d-digit student's result of each step can be from the step evaluated on `values`.

    `values` holds the problem's inputs (given arrays, lr, n, constants) and a value per step. For the exact answer
    key every step's value is
    its result; for a student's own work (error carried forward) the names in `fresh` are values the student
    wrote down, which later steps take as they are: downstream they count with their own rounding only.
    With `needed`, steps after the last needed one are left out.
    """
    u, fresh, steps = unit_roundoff(digits), set(fresh), problem.steps
    given = [np.asarray(values[k], dtype=float) for k in problem.given]
    rounded = round_sig_each(given, digits)  # arrays all, so the same bits as rounding them one by one
    bounds: dict[str, Array] = {k: np.abs(r - g) for k, g, r in zip(problem.given, given, rounded)}
    bounds |= {k: np.zeros(()) for k in problem.inputs if k not in problem.given}
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
    return as_tolerances([(expected, bound)])[0]


def as_tolerances(pairs: Sequence[tuple[Array, Array]]) -> list[Tolerance]:
    """[as_tolerance(expected, bound) for each pair], quantities with the same number of entries worked out
    together (one NumPy call for all of them rather than one each)."""
    out: list[Tolerance] = [(0.0, 0.0)] * len(pairs)
    sizes: dict[int, list[int]] = {}
    for k, (expected, _) in enumerate(pairs):
        sizes.setdefault(np.size(expected), []).append(k)
    for size, ks in sizes.items():
        b = np.abs(np.array([np.ravel(pairs[k][0]) for k in ks], dtype=float).reshape(len(ks), size))
        e = SAFETY * np.array([np.ravel(pairs[k][1]) for k in ks], dtype=float).reshape(len(ks), size)
        for k, tol in zip(ks, _tightest(b, e)):
            out[k] = tol
    return out


def _tightest(b: Array, e: Array) -> list[Tolerance]:
    """as_tolerance of each row: b = |expected|, e = SAFETY * bound, (quantities, entries) both."""
    keep = e > 0
    floors = [ATOL_FLOOR * max(1.0, float(m)) for m in b.max(axis=1, initial=0.0)]
    search = keep.any(axis=1) & np.isfinite(e).all(axis=1) & np.isfinite(b).all(axis=1)
    out: list[Tolerance] = [(RTOL_FLOOR, floor) for floor in floors]  # nothing to allow, or no bound
    if b.shape[1] == 1:
        for row in np.flatnonzero(search).tolist():
            out[row] = (max(float(e[row, 0] / b[row, 0]), RTOL_FLOOR), floors[row]) if b[row, 0] > 0 else \
                (RTOL_FLOOR, float(e[row, 0]))
        return out
    rows = np.flatnonzero(search)
    if not rows.size:
        return out
    b, e, keep = b[rows], e[rows], keep[rows]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        candidates = [np.zeros((len(rows), 1)), np.where(keep & (b > 0), e / b, np.inf)]  # inf: no candidate
        if b.shape[1] <= PAIRS:  # each pair once (i < j): the pair (j, i) gives the same number to the last bit
            i, j = _pairs(b.shape[1])
            crossing = (e[:, i] - e[:, j]) / (b[:, i] - b[:, j])
            candidates.append(np.where(np.isfinite(crossing) & (crossing > 0), crossing, np.inf))
        r = np.sort(np.concatenate(candidates, axis=1), axis=1)  # (rows, candidates); repeats change no minimum
        rb = r[:, :, None] * b[:, None, :]
        atols = (e[:, None, :] - rb).max(axis=2).clip(min=0.0)
        slack = np.where(keep[:, None, :], (atols[:, :, None] + rb) / e[:, None, :], -np.inf).max(axis=2)
    slack[np.isinf(r)] = np.inf
    for k, (row, best) in enumerate(zip(rows.tolist(), slack.argmin(axis=1).tolist())):
        out[row] = (max(float(r[k, best]), RTOL_FLOOR), max(float(atols[k, best]), floors[row]))
    return out


@lru_cache(maxsize=PAIRS)
def _pairs(size: int) -> tuple[Array, Array]:
    """Index arrays (i, j) of every pair i < j of `size` entries."""
    return np.triu_indices(size, 1)


def close(answer: Array, expected: Array, tol: Tolerance) -> Array:
    """Entry by entry: |answer - expected| <= atol + rtol * |expected| (never ==)."""
    rtol, atol = tol
    return np.abs(answer - expected) <= atol + rtol * np.abs(expected)


def tolerances_of(problem: Problem, trace: Mapping[str, Array], digits: int, asked: Iterable[str]) -> dict[str, Tolerance]:
    """{asked quantity: (rtol, atol)} against a solved trace for a student keeping `digits` significant digits."""
    asked = list(asked)
    bounds = rounding_bounds(problem, trace, digits, needed=asked)
    return dict(zip(asked, as_tolerances([(trace[q], bounds[q]) for q in asked])))

