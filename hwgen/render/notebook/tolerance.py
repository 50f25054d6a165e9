"""Provisional rounding-aware tolerance per asked quantity, until hwgen/grade/tolerance.py lands.

A student who keeps `significant` digits makes, in every step, an error of at most K * u times the
step's magnitude (u = 0.5 * 10^(1 - significant); the magnitude is the step evaluated on the absolute
values of its inputs, which bounds the terms of a sum before they cancel), and carries the errors of
the earlier steps into it. The bound is propagated to first order, worst case, by evaluating each
step on inputs moved entry by entry to the edge of their own bound (design.md, "Fair, safe grading").
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from ...engine import GIVEN_NAMES, Step, evaluate

Array = np.ndarray
K = 1.0  # rounding errors of one step, in units of u times the sum of its terms (a step rounded once, or its products)
SAFETY = 1.5  # margin over the first-order bound, for second-order effects
ATOL_FLOOR = 1e-9  # float noise of a student who computes everything with NumPy


def error_bounds(steps: list[Step], trace: Mapping[str, Array], significant: int) -> dict[str, Array]:
    """Step name -> bound on |a rounding student's value - exact value|, entry by entry (the step's shape)."""
    u = 0.5 * 10.0 ** (1 - significant)
    bound: dict[str, Array] = {k: np.zeros(np.shape(trace[k])) for k in (*GIVEN_NAMES, "lr", "n")}
    for step in steps:
        exact = np.asarray(trace[step.name], dtype=float)
        magnitude = np.abs(evaluate(step, {i: np.abs(trace[i]) for i in step.inputs}))
        carried = np.zeros_like(exact)
        for name in step.inputs:
            for index in np.ndindex(bound[name].shape):
                if bound[name][index] == 0:
                    continue
                up, down = (_moved(step, trace, name, index, sign * bound[name][index]) for sign in (1, -1))
                carried += np.maximum(np.abs(up - exact), np.abs(down - exact))
        bound[step.name] = carried + K * u * np.maximum(magnitude, np.abs(exact))
    return bound


def _moved(step: Step, trace: Mapping[str, Array], name: str, index: tuple, delta: float) -> Array:
    """The step evaluated with one entry of one input moved by delta."""
    values = {i: np.array(trace[i], dtype=float) for i in step.inputs}
    values[name][index] += delta
    return evaluate(step, values)


def tolerances(steps: list[Step], trace: Mapping[str, Array], significant: int,
               quantities: list[str]) -> dict[str, tuple[float, float]]:
    """Quantity -> (rtol, atol): |answer - exact| <= atol + rtol |exact| holds for every rounding student."""
    u = 0.5 * 10.0 ** (1 - significant)
    bounds = error_bounds(steps, trace, significant)
    out = {}
    for q in quantities:
        rtol = K * u
        excess = SAFETY * bounds[q] - rtol * np.abs(np.asarray(trace[q], dtype=float))
        out[q] = (_ceil2(rtol), _ceil2(max(float(np.max(excess, initial=0.0)), ATOL_FLOOR)))
    return out


def _ceil2(x: float) -> float:
    """x rounded up to two significant digits, so that tolerances print short and stay bounds."""
    exponent = int(np.floor(np.log10(x))) - 1
    return float(f"{int(np.ceil(x / 10.0 ** exponent))}e{exponent}")
