"""A variant: one template with its given numbers, solved; and its canonical JSON form."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .bank import Template
from .engine import solve
from .errors import InputFileError
from .rounding import Tolerance
from .yamlfile import read_text

Array = np.ndarray


@dataclass(frozen=True)
class Variant:
    """Given numbers (canonical form), the learning rate, the trace of every named step and, for a sampled
    variant, each asked quantity's tolerance at the template's significant digits."""

    template: Template
    seed: int | None
    given: dict[str, Array]
    lr: float
    trace: dict[str, Array]
    tolerance: dict[str, Tolerance] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The canonical JSON object of design.md, numbers as plain nested lists."""
        t = self.template
        if t.calculus:
            model, symbolic = {"calculus": t.calculus.to_json(self.trace)}, t.calculus.symbolic(self.trace)
        elif t.graph:
            model, symbolic = {"graph": t.graph.to_json()}, {}
        else:
            assert t.network is not None  # a template declares a network, a graph or calculus
            model, symbolic = {"network": t.network.to_json() | {"lr": self.lr}}, {}
        return {
            "template": t.name,
            "seed": self.seed,
            **model,
            "given": {k: self.trace[k].tolist() for k in self.template.problem.given},
            "answers": {k: self.trace[k].tolist() for k in self.template.problem.answers} | symbolic,
        }

    def record(self, key: str) -> dict[str, Any]:
        """The variant as problem `key` of a student in manifest.json: the canonical JSON, and the tolerances
        the sampler worked out (so notebooks and the grader need not work them out again)."""
        stored = {"digits": self.template.significant, "quantities": {q: list(t) for q, t in self.tolerance.items()}}
        return {"key": key, **self.to_json(), **({"tolerance": stored} if self.tolerance else {})}


def solve_variant(template: Template, given: dict[str, Array], seed: int | None, lr: float | None = None) -> Variant:
    """Solve the template's steps on these given numbers."""
    lr = template.lr if lr is None else float(lr)
    return Variant(template, seed, dict(given), lr, solve(template.problem, given, lr))


def load_given(path: Path, template: Template) -> tuple[dict[str, Array], float | None]:
    """Read the template's given arrays (X, Y, W1, b1, ... in canonical orientation) and optionally lr from a JSON
    file."""
    try:
        raw = json.loads(read_text(Path(path)))
    except json.JSONDecodeError as exc:
        raise InputFileError(path, exc.lineno, f"not valid JSON: {exc.msg}", "check brackets, commas and quotes") from None
    except (ValueError, RecursionError) as exc:  # thousands of digits, nesting past Python's limit
        what = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:100]
        raise InputFileError(path, None, f"not usable JSON: {what}", "write plain arrays of numbers") from None
    if not isinstance(raw, dict):
        raise InputFileError(path, 1, "expected a JSON object", 'write {"X": [[...]], "Y": ..., "W1": ..., ...}')
    raw = raw.get("given", raw)  # also accept a whole `hwgen solve --json` output
    given = {}
    for name in template.problem.given:
        if name not in raw:
            raise InputFileError(path, None, f"{name} is missing", f"add {name} in canonical orientation")
        try:
            arr = np.asarray(raw[name], dtype=float)
            if not np.isfinite(arr).all():
                raise ValueError(name)
        except (TypeError, ValueError, OverflowError):
            raise InputFileError(path, None, f"{name} is not a (nested) list of finite numbers",
                                 f"write {name} as numbers, e.g. [[0.1, 0.2]]") from None
        given[name] = arr
    _check_fit(path, given, template)
    lr = raw.get("lr")
    if lr is not None and not (type(lr) in (int, float) and 0 < lr < 1e300):
        raise InputFileError(path, None, f"lr must be a positive number, not {lr!r}", "write e.g. \"lr\": 0.5")
    return given, lr


def _check_fit(path: Path, given: dict[str, Array], template: Template) -> None:
    """The given arrays must fit the template's layer sizes; the number of samples may differ."""
    n = given["X"].shape[0] if "X" in given and given["X"].ndim == 2 else -1
    for name, shape in template.problem.given.items():
        shape = (n, *shape[1:]) if name in ("X", "Y") else shape
        if given[name].shape != shape:
            raise InputFileError(path, None, f"{name} has shape {given[name].shape}, the template {template.name} "
                                 f"needs {shape}", "use canonical orientation: X n x d (one row per sample), Wk in x "
                                 "out, bk out; a graph's per-sample names one number per sample, the others one number")
