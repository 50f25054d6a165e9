"""Per-quantity tolerances derived from the stated rounding and how it propagates through the steps.

The student is modelled as a machine that keeps d significant digits: every value they write down
(each step's result, and each given they copy) is off by at most u = 0.5 * 10^(1-d) of itself
(half a unit in the d-th digit). A step turns the rounding errors of its inputs into an error of its
result; that is measured on the step itself (engine.evaluate), entry by entry, by moving each input
entry by its bound in both directions (a first-order worst case that keeps cancellation visible:
dW2 = A1^T dZ2 sums terms of opposite sign, and its bound is large where its value is small).
Summing those moves and the step's own rounding gives a bound per entry; no formula is written here.

`SAFETY` doubles the bound so that a student who truncates instead of rounding, or rounds a given,
still gets full marks. The bound becomes one (rtol, atol) pair per quantity, the form np.isclose takes,
shared by the grader and the notebooks' hidden tests.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import numpy as np

from ..engine import GIVEN_NAMES, Step, evaluate, solve
from ..numfmt import round_sig
from ..problem import ProblemSpec

Array = np.ndarray
Tolerance = tuple[float, float]  # (rtol, atol): |answer - expected| <= atol + rtol * |expected|, entry by entry

SAFETY = 2.0
RTOL_FLOOR = 1e-9  # float noise of a student's own NumPy (BLAS order of summation)
ATOL_FLOOR = 1e-12
PAIRS = 64


def unit_roundoff(digits: int) -> float:
    """Largest relative error of rounding to `digits` significant digits: 0.5 * 10^(1 - digits)."""
    return 0.5 * 10.0 ** (1 - digits)


def trace_of(spec: ProblemSpec, record: Mapping[str, Any]) -> dict[str, Array]:
    """Every value of one student's variant: the steps solved on the record's given numbers and lr."""
    lr = float(record.get("network", {}).get("lr", spec.template.network.lr))
    return solve(spec.template.steps, {k: np.asarray(record["given"][k], dtype=float) for k in GIVEN_NAMES}, lr)


def _propagated(step: Step, values: Mapping[str, Array], bounds: Mapping[str, Array]) -> tuple[Array, Array]:
    """The step's result on `values`, and a bound on how far it moves when each input entry moves by its
    bound (summed over entries): (result's shape) twice. The steps are smooth where variants are drawn
    (no ReLU input near 0), so one move per entry measures the first-order effect."""
    base = evaluate(step, values)
    total = np.zeros_like(base)
    for name in dict.fromkeys(step.inputs):
        x, e = np.asarray(values[name], dtype=float), bounds[name]
        moved = dict(values)
        for idx in zip(*np.nonzero(np.atleast_1d(e))):
            idx = idx if x.ndim else ()
            shifted = x.copy()
            shifted[idx] += e[idx]
            moved[name] = shifted
            change = np.abs(evaluate(step, moved) - base)
            total += np.where(np.isfinite(change), change, 0.0)  # a move out of the domain is no rounding
    return base, total


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
    if not keep.any() or not np.all(np.isfinite(e)) or not np.all(np.isfinite(b)):  # nothing to allow, or no bound
        return RTOL_FLOOR, ATOL_FLOOR * max(1.0, float(b.max(initial=0.0)))
    if b.size == 1:
        return (max(float(e[0] / b[0]), RTOL_FLOOR), ATOL_FLOOR * max(1.0, float(b[0]))) if b[0] > 0 else \
            (RTOL_FLOOR, float(e[0]))
    candidates = [[0.0], e[keep & (b > 0)] / b[keep & (b > 0)]]
    if b.size <= PAIRS:
        with np.errstate(divide="ignore", invalid="ignore"):
            crossing = ((e[:, None] - e[None, :]) / (b[:, None] - b[None, :])).ravel()
        candidates.append(crossing[np.isfinite(crossing) & (crossing > 0)])
    candidates = np.unique(np.concatenate(candidates))
    atols = np.max(e[None, :] - candidates[:, None] * b[None, :], axis=1).clip(min=0.0)
    slack = np.max((atols[:, None] + candidates[:, None] * b[None, keep]) / e[None, keep], axis=1)
    best = int(np.argmin(slack))
    return (max(float(candidates[best]), RTOL_FLOOR),
            max(float(atols[best]), ATOL_FLOOR * max(1.0, float(b.max(initial=0.0)))))


def close(answer: Array, expected: Array, tol: Tolerance) -> Array:
    """Entry by entry: |answer - expected| <= atol + rtol * |expected| (never ==)."""
    rtol, atol = tol
    return np.abs(answer - expected) <= atol + rtol * np.abs(expected)


def grading_digits(spec: ProblemSpec, grading: Mapping[str, Any] | None = None) -> int:
    """Significant digits a student may keep and still get full marks: grading.rounding_digits, else the
    template's rounding.significant (what the worksheet tells students)."""
    return int((grading or {}).get("rounding_digits", spec.template.significant))


def tolerances(spec: ProblemSpec, record: Mapping[str, Any],
               grading: Mapping[str, Any] | None = None) -> dict[str, Tolerance]:
    """{asked quantity: (rtol, atol)} for one student's variant, for np.isclose(answer, expected, rtol, atol);
    `grading` is the merged grading options (only `rounding_digits` matters here)."""
    trace = trace_of(spec, record)
    bounds = rounding_bounds(spec.template.steps, trace, grading_digits(spec, grading), needed=spec.asked)
    return {q: as_tolerance(trace[q], bounds[q]) for q in spec.asked}
