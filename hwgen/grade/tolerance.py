"""Per-quantity tolerances of one student's variant, from the stated rounding (hwgen/rounding.py)."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .. import questions
from ..engine import solve
from ..problem import ProblemSpec
from ..rounding import Tolerance, tolerances_of

Array = np.ndarray


def trace_of(spec: ProblemSpec, record: Mapping[str, Any]) -> dict[str, Array]:
    """Every value of one student's variant: the steps solved on the record's given numbers and lr."""
    lr = float(record.get("network", {}).get("lr", spec.template.lr))
    problem = spec.template.problem
    return solve(problem, {k: np.asarray(record["given"][k], dtype=float) for k in problem.given}, lr)


def grading_digits(spec: ProblemSpec, grading: Mapping[str, Any] | None = None) -> int:
    """Significant digits a student may keep and still get full marks: grading.rounding_digits, else the
    template's rounding.significant (what the worksheet tells students)."""
    return int((grading or {}).get("rounding_digits", spec.template.significant))


def tolerances(spec: ProblemSpec, record: Mapping[str, Any],
               grading: Mapping[str, Any] | None = None) -> dict[str, Tolerance]:
    """{asked quantity: (rtol, atol)} for one student's variant, for np.isclose(answer, expected, rtol, atol);
    `grading` is the merged grading options (only `rounding_digits` matters here). The tolerances the sampler
    stored in the record (Variant.record) are used when they are for these digits and quantities."""
    digits = grading_digits(spec, grading)
    stored = record.get("tolerance") or {}
    quantities = stored.get("quantities", {})
    asked = questions.numeric(spec.template, spec.asked)
    if stored.get("digits") == digits and all(q in quantities for q in asked):
        return {q: (float(quantities[q][0]), float(quantities[q][1])) for q in asked}
    return tolerances_of(spec.template.problem, trace_of(spec, record), digits, asked)
