"""Helpers for the checks tests: a problem of the bundled bank, one student's record, simulated students."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from hwgen import bank
from hwgen.engine import evaluate
from hwgen.numfmt import round_sig
from hwgen.problem import ProblemSpec
from hwgen.sampling import sample

from .names import GIVEN_NAMES

TEMPLATES = ("xor_net", "bce_net", "regression_3hidden", "relu_sigmoid", "batch_vectorized")


def problem(name: str, key: str = "p1", asked: dict[str, float] | None = None) -> ProblemSpec:
    """A problem built from a bundled template, asking its own quantities unless `asked` is given."""
    t = bank.load(name)
    return ProblemSpec(key, t, dict(asked or t.asked))


def record(spec: ProblemSpec, seed: int) -> dict[str, Any]:
    """A student's manifest record for this problem: Variant.to_json() plus key."""
    return sample(spec.template, seed).to_json() | {"key": spec.key}


def exact(record: dict[str, Any], spec: ProblemSpec) -> dict[str, Any]:
    """The values of a student who answers every asked quantity exactly (as JSON-plain lists)."""
    return {q: record["answers"][q] for q in spec.asked}


def as_shown(spec: ProblemSpec, record: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Values computed in canonical form, laid out as the problem shows them (what its student types): a value of
    exactly its quantity's canonical shape is converted, anything else (a deliberately odd shape, a string) is
    handed in as it is."""
    out = {}
    for q, v in values.items():
        try:
            arr = np.asarray(v, dtype=float)
        except (TypeError, ValueError, OverflowError):
            arr = None
        canonical = np.shape(record["answers"].get(q)) if q in record["answers"] else None
        fits = arr is not None and arr.shape == canonical and not isinstance(v, (str, bool))
        out[q] = spec.template.display.value(arr, q).tolist() if fits else v
    return out


def rounding_student(spec: ProblemSpec, record: dict[str, Any], digits: int, chop: bool = False,
                     slips: dict[str, Callable[[np.ndarray], np.ndarray]] | None = None) -> dict[str, Any]:
    """Every step's value of a student who rounds (or truncates) each step's inputs and result to `digits`
    significant digits and carries their own rounded values forward: name -> array. `slips` changes a
    step's result (name -> function of the right result) before it is carried forward."""
    def keep(a):
        a = np.asarray(a, dtype=float)
        if not chop:
            return round_sig(a, digits)
        with np.errstate(divide="ignore"):
            mag = np.where(a == 0, 0, np.floor(np.log10(np.abs(np.where(a == 0, 1, a)))))
        scale = 10.0 ** (digits - 1 - mag)
        return np.trunc(np.round(a * scale, 6)) / scale  # round(.., 6) first: 1.15 is 1.1499.. in binary
    v = {k: keep(record["given"][k]) for k in GIVEN_NAMES}
    v["lr"], v["n"] = np.asarray(record["network"]["lr"]), np.asarray(float(len(record["given"]["X"])))
    for step in spec.template.steps:
        v[step.name] = keep(evaluate(step, {i: keep(v[i]) for i in step.inputs}))
        if step.name in (slips or {}):
            v[step.name] = np.asarray(slips[step.name](v[step.name]), dtype=float)
    return v


def manifest(templates: dict[str, str], students: int, seed0: int = 100) -> dict[str, Any]:
    """An in-memory manifest: problems {key: template name}, students s000, s001, ... with distinct seeds."""
    specs = [problem(name, key) for key, name in templates.items()]
    return {"format": "hwgen-manifest/1", "assignment": {"title": "test", "seed": seed0, "grading": {}},
            "problems": [s.to_manifest() for s in specs],
            "students": {f"s{i:03d}": {"name": f"Student {i}", "problems": {
                s.key: record(s, seed0 + 1000 * k + i) for k, s in enumerate(specs)}} for i in range(students)}}
