"""Trusted answer checks: one student's values for one problem -> an Item per asked quantity.

Runs in the grader's own process on plain values (never on student objects). Every decision about an
item's points, status and message is made here; the expected value itself never appears in a message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..engine import Step
from ..notation import DESCRIPTIONS
from ..problem import ProblemSpec
from ..render.text import tex_to_text
from .result import Item, Status
from .tolerance import Tolerance, as_tolerance, close, grading_digits, rounding_bounds, trace_of
from .values import BadValue, conform, describe_shape, to_array

Array = np.ndarray
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sheet:
    """One student's problem: the variant's exact values, each asked quantity's tolerance, and the
    student's answers read into arrays (or the reason one could not be read)."""

    spec: ProblemSpec
    trace: dict[str, Array]
    tolerance: dict[str, Tolerance]
    answers: dict[str, Array]
    unreadable: dict[str, str]
    grading: Mapping[str, Any]

    @property
    def digits(self) -> int:
        """Significant digits a student may keep and still get full marks."""
        return grading_digits(self.spec, self.grading)

    def step(self, quantity: str) -> Step:
        """The engine's step that computes `quantity`."""
        return next(s for s in self.spec.template.steps if s.name == quantity)


def read_sheet(spec: ProblemSpec, record: Mapping[str, Any], values: Mapping[str, Any],
               errors: Mapping[str, str], grading: Mapping[str, Any]) -> Sheet:
    """Solve the variant, derive tolerances, and read every asked quantity the student answered."""
    trace = trace_of(spec, record)
    for q, value in record.get("answers", {}).items():  # the manifest's answer is the reference
        if q in spec.asked:
            trace[q] = np.asarray(value, dtype=float)
    bounds = rounding_bounds(spec.template.steps, trace, grading_digits(spec, grading))
    tolerance = {q: as_tolerance(trace[q], bounds[q]) for q in spec.asked}
    answers, unreadable = {}, {}
    for q in spec.asked:
        if q in errors:
            unreadable[q] = f"no value could be read from {spec.variable(q)}: {errors[q]}"
        elif q in values:
            try:
                answers[q] = to_array(values[q])
            except BadValue as exc:
                unreadable[q] = f"{spec.variable(q)} cannot be graded: {exc}"
    return Sheet(spec, trace, tolerance, answers, unreadable, grading)


def _expected_form(sheet: Sheet, q: str) -> str:
    """What the answer should look like: 'expected a 4 x 2 array (one row per sample, ...)'."""
    return f"expected {describe_shape(q, sheet.trace[q].shape)}, the {DESCRIPTIONS.get(q, q)}"


def _formula(sheet: Sheet, q: str) -> str:
    """The step's formula as plain text: 'dW2 = A1ᵀ dZ2'."""
    step = sheet.step(q)
    return f"{q} = {tex_to_text(step.tex.replace('$', ''))}"


def _item(sheet: Sheet, q: str, status: Status, message: str, fraction: float = 0.0,
          misconception: str | None = None) -> Item:
    """An Item for quantity q worth `fraction` of its points."""
    max_points = float(sheet.spec.asked[q])
    return Item(sheet.spec.key, q, round(max_points * fraction, 6), max_points, status, message, misconception)


def grade_quantity(sheet: Sheet, q: str) -> Item:
    """The Item of one asked quantity."""
    variable = sheet.spec.variable(q)
    if q in sheet.unreadable:
        return _item(sheet, q, "invalid", f"{sheet.unreadable[q]}; {_expected_form(sheet, q)}.")
    if q not in sheet.answers:
        return _item(sheet, q, "missing", f"No answer: {variable} was never assigned; {_expected_form(sheet, q)}.")
    answer, expected = sheet.answers[q], sheet.trace[q]
    fitted = conform(answer, expected.shape)
    if fitted is None:
        got = " x ".join(map(str, answer.shape)) or "a single number"
        return _item(sheet, q, "invalid", f"{variable} has shape {got}; {_expected_form(sheet, q)}.")
    if close(fitted, expected, sheet.tolerance[q]).all():
        return _item(sheet, q, "correct", f"Correct (to the {sheet.digits} significant digits asked).", 1.0)
    return _item(sheet, q, "wrong", f"Not correct to the {sheet.digits} significant digits asked. "
                 f"Recheck {_formula(sheet, q)} entry by entry.")


def grade_problem(spec: ProblemSpec, record: Mapping[str, Any], values: Mapping[str, Any],
                  errors: Mapping[str, str], grading: Mapping[str, Any]) -> list[Item]:
    """Items (result.Item) for every asked quantity of one problem of one student, in the template's order."""
    sheet = read_sheet(spec, record, values, errors, grading)
    items = []
    for q in spec.asked:
        try:
            items.append(grade_quantity(sheet, q))
        except Exception:  # a bug here must not stop the batch; the item says so and the log has the trace
            log.exception("checking %s %s failed", spec.key, q)
            items.append(_item(sheet, q, "invalid", f"{spec.variable(q)} could not be checked because of an "
                               "error in the grader; please tell your instructor."))
    return items
