"""Seeded, reproducible variants with numbers a person can work by hand; degenerate draws are redrawn."""

from __future__ import annotations

import hashlib
import itertools
import random
from dataclasses import replace
from functools import lru_cache

import numpy as np

from .bank import Fixed, GivenSpec, OneOf, Template
from .engine import GIVEN_NAMES, PARAMS, solve
from .errors import VariantError
from .numfmt import round_sig
from .rounding import Tolerance, tolerances_of
from .variant import Variant, solve_variant

Array = np.ndarray
MAX_DRAWS = 2000
CONDITION = 0.5  # an answer entry's tolerance must stay below this share of its size
ZERO = 1e-9  # below this an answer entry is an exact zero up to float noise (0.1 + 0.2 - 0.3)


def derive_seed(assignment_seed: int | str, student_id: str, problem: str) -> int:
    """A student's problem seed from (assignment seed, student id, problem key): SHA-256, stable everywhere."""
    digest = hashlib.sha256(f"{assignment_seed}\x1f{student_id}\x1f{problem}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _draw(spec: GivenSpec, shape: tuple[int, ...], rng: random.Random) -> Array:
    """One array from its spec."""
    if isinstance(spec, Fixed):
        return spec.value
    if isinstance(spec, OneOf):
        return spec.options[rng.randrange(len(spec.options))]
    return np.array([spec.values[rng.randrange(len(spec.values))] for _ in range(int(np.prod(shape)))]).reshape(shape)


def sample(template: Template, seed: int) -> Variant:
    """The variant of (template, seed): identical on every run and machine; degenerate or ill-conditioned
    draws are redrawn. It carries its tolerances at the template's significant digits."""
    rng = random.Random(seed)
    reason: str | None = ""
    for _ in range(MAX_DRAWS):
        given = {k: _draw(template.given[k], template.shape(k), rng) for k in GIVEN_NAMES}
        variant = solve_variant(template, given, seed)
        reason = degeneracy(template, variant.trace)
        if reason is None:
            tolerance = tolerances_of(template.steps, variant.trace, template.significant, template.asked)
            reason = ill_conditioned(variant.trace, tolerance)
            if reason is None:
                return replace(variant, tolerance=tolerance)
    raise VariantError(f"{template.path}: no acceptable variant in {MAX_DRAWS} draws (the last was rejected: {reason}); "
                       "widen the value grids or relax `limits` in the template")


def degeneracy(t: Template, trace: dict[str, Array]) -> str | None:
    """Why this solved draw is not a good exercise, or None if it is."""
    for layer, act in zip(("Z1", "Z2"), t.network.activations):
        z = trace[layer]
        if act in ("sigmoid", "tanh") and np.max(np.abs(z)) > t.limits.z_max:
            return f"{act} input {layer} reaches |z| = {np.max(np.abs(z)):.3g} > {t.limits.z_max} (saturated)"
        if act == "relu" and np.min(np.abs(z)) < t.limits.relu_margin:
            return f"ReLU input {layer} has an entry within {t.limits.relu_margin} of 0"
    if not all(np.isfinite(v).all() for v in trace.values()):
        return "a quantity is not finite"
    for name, g in _gradients(t, trace):
        if (np.abs(g) < t.limits.grad_min).any():
            return f"{name} has an entry that is 0 or rounds to 0 (|g| < {t.limits.grad_min})"
    for a, b in _comparable_pairs(t):
        if _same_at(trace[a], trace[b], t.significant) and not _structural(t, trace, a, b):
            return f"{a} and {b} are equal at {t.significant} significant digits"
    return None


def ill_conditioned(trace: dict[str, Array], tolerance: dict[str, Tolerance]) -> str | None:
    """Why rounding makes this draw a poor exercise (a nonzero answer entry whose tolerance would admit 0 or
    its sign flipped: rounding as instructed could not tell them apart), or None."""
    for q, (rtol, atol) in tolerance.items():
        v = np.abs(trace[q]).ravel()
        v = v[v > ZERO]
        if (atol + rtol * v >= CONDITION * v).any():
            return f"{q} has an entry within rounding noise of 0 (its tolerance reaches {CONDITION:.0%} of it)"
    return None


def _gradients(t: Template, trace: dict[str, Array]) -> list[tuple[str, Array]]:
    """Gradient quantities, leaving out the entries a ReLU switches off (they are 0 by design)."""
    out = []
    for name in ("dYhat", "dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1"):
        g = trace[name]
        layer = {"dZ1": ("Z1", 0), "dZ2": ("Z2", 1)}.get(name)
        if layer and t.network.activations[layer[1]] == "relu":
            g = g[trace[layer[0]] > 0]
        out.append((name, g))
    return out


@lru_cache(maxsize=256)
def _comparable_pairs(t: Template) -> list[tuple[str, str]]:
    """Pairs of same-shape asked quantities (and each parameter with its update) a student could confuse."""
    shapes = {k: v.shape for k, v in solve(t.steps, {k: np.ones(t.shape(k)) for k in GIVEN_NAMES}, 1.0).items()}
    names = dict.fromkeys(list(t.asked) + [p for p in PARAMS if f"{p}_new" in t.asked])
    return [(a, b) for a, b in itertools.combinations(names, 2) if shapes[a] == shapes[b]]


def _same_at(a: Array, b: Array, sig: int) -> bool:
    """Equal entry by entry once rounded to `sig` significant digits."""
    if (np.abs(a - b) > 10.0 ** (1 - sig) * np.maximum(np.abs(a), np.abs(b))).any():
        return False
    return bool(np.array_equal(round_sig(a, sig), round_sig(b, sig)))


def _structural(t: Template, trace: dict[str, Array], a: str, b: str) -> bool:
    """Whether a == b holds for this data whatever the weights (e.g. db2 = dZ2 with one sample)."""
    rng = np.random.default_rng(0)
    given = {k: trace[k] + (0 if k == "Y" else rng.uniform(0.01, 0.02, trace[k].shape)) for k in GIVEN_NAMES}
    moved = solve(t.steps, given, float(trace["lr"]))
    return bool(np.allclose(moved[a], moved[b], rtol=1e-9, atol=1e-12))
