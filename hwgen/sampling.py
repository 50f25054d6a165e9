"""Seeded, reproducible variants with numbers a person can work by hand; degenerate draws are redrawn."""

from __future__ import annotations

import hashlib
import random
from dataclasses import replace
from functools import lru_cache
from typing import Iterable

import numpy as np

from . import questions
from .bank import Fixed, GivenSpec, Grid, OneHot, OneOf, Template
from .engine import solve
from .errors import VariantError
from .numfmt import round_sig
from .rounding import Tolerance, tolerances_of
from .variant import Variant, solve_variant

Array = np.ndarray
MAX_DRAWS = 2000
CONDITION = 0.5  # an answer entry's tolerance must stay below this share of its size
SATURATING = ("sigmoid", "tanh", "softmax", "exp")  # ops whose input must stay within limits.z_max
ZERO = 1e-9  # below this an answer entry is an exact zero up to float noise (0.1 + 0.2 - 0.3)


def derive_seed(assignment_seed: int | str, student_id: str, problem: str) -> int:
    """A student's problem seed from (assignment seed, student id, problem key): SHA-256, stable everywhere."""
    digest = hashlib.sha256(f"{assignment_seed}\x1f{student_id}\x1f{problem}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _draw(spec: GivenSpec, shape: tuple[int, ...], rng: random.Random) -> Array:
    """One array from its spec."""
    if isinstance(spec, Fixed):
        return spec.value
    if isinstance(spec, OneHot):
        return np.eye(shape[-1])[[rng.randrange(shape[-1]) for _ in range(shape[0])]]
    if isinstance(spec, OneOf):
        return spec.options[rng.randrange(len(spec.options))]
    return np.array([spec.values[rng.randrange(len(spec.values))] for _ in range(int(np.prod(shape)))]).reshape(shape)


def sample(template: Template, seed: int) -> Variant:
    """The variant of (template, seed): identical on every run and machine; degenerate or ill-conditioned
    draws are redrawn. It carries its tolerances at the template's significant digits."""
    rng = random.Random(seed)
    reason: str | None = ""
    for _ in range(MAX_DRAWS):
        given = {k: _draw(template.given[k], template.shape(k), rng) for k in template.problem.given}
        variant = solve_variant(template, given, seed)
        reason = degeneracy(template, variant.trace)
        if reason is None:
            tolerance = tolerances_of(template.problem, variant.trace, template.significant,
                                      questions.numeric(template, template.asked))
            reason = ill_conditioned(variant.trace, tolerance)
            if reason is None:
                return replace(variant, tolerance=tolerance)
    raise VariantError(f"{template.path}: no acceptable variant in {MAX_DRAWS} draws (the last was rejected: {reason}); "
                       "widen the value grids or relax `limits` in the template", reason)


def degeneracy(t: Template, trace: dict[str, Array]) -> str | None:
    """Why this solved draw is not a good exercise, or None if it is."""
    if isinstance(t.given.get("X"), Grid) and len(np.unique(trace["X"], axis=0)) < len(trace["X"]):
        return "two samples of X are the same row (with different targets they would contradict each other)"
    for step in t.problem.by_role("activation"):
        layer, act = step.inputs[0], step.op
        z = trace[layer]
        if act in SATURATING and np.max(np.abs(z)) > t.limits.z_max:
            return f"{act} input {layer} reaches |z| = {np.max(np.abs(z)):.3g} > {t.limits.z_max} (saturated)"
        if act == "relu" and np.min(np.abs(z)) < t.limits.relu_margin:
            return f"ReLU input {layer} has an entry within {t.limits.relu_margin} of 0"
    if not np.isfinite(_flat(trace.values())).all():
        return "a quantity is not finite"
    gradients = _gradients(t, trace)
    if (np.abs(_flat(g[keep] for _, g, keep in gradients)) < t.limits.grad_min).any():
        name = _vanishing(t, trace, gradients)
        if name:
            return f"{name} has an entry that is 0 or rounds to 0 (|g| < {t.limits.grad_min})"
    for names, i, j in _comparable_pairs(t):
        for a, b in _same_at(names, i, j, trace, t.significant):
            if not _structural(t, trace, a, b):
                return f"{a} and {b} are equal at {t.significant} significant digits"
    return None


def _flat(arrays: Iterable[Array]) -> Array:
    """Every entry of the arrays in one vector (one NumPy check for all of them rather than one each)."""
    return np.concatenate([np.ravel(a) for a in arrays])


def ill_conditioned(trace: dict[str, Array], tolerance: dict[str, Tolerance]) -> str | None:
    """Why rounding makes this draw a poor exercise (a nonzero answer entry whose tolerance would admit 0 or
    its sign flipped: rounding as instructed could not tell them apart), or None."""
    if not tolerance:
        return None
    names = list(tolerance)
    sizes = [np.size(trace[q]) for q in names]
    v = np.abs(_flat(trace[q] for q in names))
    rtol, atol = (np.repeat([tolerance[q][k] for q in names], sizes) for k in (0, 1))
    bad = np.flatnonzero((v > ZERO) & (atol + rtol * v >= CONDITION * v))
    if not bad.size:
        return None
    q = names[int(np.searchsorted(np.cumsum(sizes), bad[0], side="right"))]
    return f"{q} has an entry within rounding noise of 0 (its tolerance reaches {CONDITION:.0%} of it)"


def _gradients(t: Template, trace: dict[str, Array]) -> list[tuple[str, Array, Array]]:
    """Gradient quantities (the backward steps), each with the entries to check: all but those a ReLU switches
    off (0 by design)."""
    out = []
    for step in t.problem.steps:
        if step.phase == "backward":
            g = trace[step.name]
            relu = step.role == "activation_grad" and step.op == "relu"
            out.append((step.name, g, trace[step.inputs[1]] > 0 if relu else np.ones(g.shape, dtype=bool)))
    return out


def _vanishing(t: Template, trace: dict[str, Array], gradients: list[tuple[str, Array, Array]]) -> str | None:
    """The first gradient with a checked entry below limits.grad_min, or None; a loss gradient's entry that is 0
    whatever the numbers (cross-entropy's dL/dyhat where the one-hot y is 0, a partial derivative that is 0
    everywhere) does not count."""
    moved, exact = _moved(t, trace), {s.name for s in t.problem.by_role("loss_grad", "derivative", "chain_product")}
    for name, g, keep in gradients:
        small = keep & (np.abs(g) < t.limits.grad_min)
        if name in exact:
            small &= ~((np.abs(g) < ZERO) & (np.abs(moved[name]) < ZERO))
        if small.any():
            return name
    return None


@lru_cache(maxsize=256)
def _comparable_pairs(t: Template) -> tuple[tuple[tuple[str, ...], Array, Array], ...]:
    """Pairs of same-shape asked quantities (and each parameter with its update) a student could confuse: per
    shape, the names of that shape and the pairs as index arrays (i, j) into them."""
    shapes = {k: v.shape for k, v in solve(t.problem, {k: np.ones(t.shape(k)) for k in t.problem.given}, 1.0).items()}
    names = dict.fromkeys(questions.numeric(t, t.asked) + [s.inputs[0] for s in t.problem.by_role("update")
                                                            if s.name in t.asked])
    out = []
    for shape in dict.fromkeys(shapes[k] for k in names):
        same = tuple(k for k in names if shapes[k] == shape)
        if len(same) > 1:
            i, j = np.triu_indices(len(same), 1)
            out.append((same, i, j))
    return tuple(out)


def _same_at(names: tuple[str, ...], i: Array, j: Array, trace: dict[str, Array], sig: int) -> list[tuple[str, str]]:
    """The pairs (names[i], names[j]) of same-shape quantities that are equal entry by entry once rounded to
    `sig` significant digits."""
    values = np.stack([trace[k] for k in names]).reshape(len(names), -1)
    a, b = values[i], values[j]
    near = ~(np.abs(a - b) > 10.0 ** (1 - sig) * np.maximum(np.abs(a), np.abs(b))).any(axis=1)
    pairs = [(names[i[k]], names[j[k]]) for k in np.flatnonzero(near)]
    return [(x, y) for x, y in pairs if np.array_equal(round_sig(trace[x], sig), round_sig(trace[y], sig))]


def _structural(t: Template, trace: dict[str, Array], a: str, b: str) -> bool:
    """Whether a == b holds for this data whatever the weights (e.g. db2 = dZ2 with one sample)."""
    moved = _moved(t, trace)
    return bool(np.allclose(moved[a], moved[b], rtol=1e-9, atol=1e-12))


def _moved(t: Template, trace: dict[str, Array]) -> dict[str, Array]:
    """The problem solved with every given but Y moved a little (by 0.01 to 0.02): what holds in both the draw
    and this holds whatever the numbers."""
    rng = np.random.default_rng(0)
    given = {k: trace[k] + (0 if k == "Y" else rng.uniform(0.01, 0.02, trace[k].shape)) for k in t.problem.given}
    return solve(t.problem, given, float(trace["lr"]))
