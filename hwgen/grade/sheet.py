"""One student's answers to one problem, read and set beside their variant's exact values."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Mapping

import numpy as np

from ..engine import Step
from ..problem import ProblemSpec
from ..rounding import RTOL_FLOOR, Tolerance, close
from .tolerance import grading_digits, tolerances, trace_of
from .values import BadValue, to_array, trivial

Array = np.ndarray


@dataclass(eq=False)
class Sheet:
    """The variant's exact values (`trace`), each asked quantity's tolerance, and the student's answers:
    read into arrays (`answers`), or the reason one could not be read (`unreadable`)."""

    spec: ProblemSpec
    trace: dict[str, Array]
    answers: dict[str, Array]
    unreadable: dict[str, str]
    grading: Mapping[str, Any]
    record: Mapping[str, Any]  # the student's problem in manifest.json
    copied: bool = False  # the problem is flagged as copied work (grade.copies): no error is carried forward
    other_orientation: set[str] = field(default_factory=set)  # answers fitted transposed from what the problem shows
    _correct: dict[str, bool] = field(default_factory=dict)

    @property
    def digits(self) -> int:
        """Significant digits a student may keep and still get full marks."""
        return grading_digits(self.spec, self.grading)

    @cached_property
    def steps(self) -> dict[str, Step]:
        """The template's steps by name, in working order."""
        return {s.name: s for s in self.spec.template.steps}

    @cached_property
    def tolerance(self) -> dict[str, Tolerance]:
        """(rtol, atol) of every asked quantity against the exact answer."""
        return tolerances(self.spec, self.record, self.grading)

    @cached_property
    def fitted(self) -> dict[str, Array]:
        """Answers that have their quantity's shape as the problem shows it (up to size-1 axes; a matrix that is
        not square also transposed), in canonical form: the grader's one conversion from the display."""
        show, out = self.spec.template.display, {}
        for q, a in self.answers.items():
            f, other = show.canonical(q, a, self.trace[q].shape)
            if f is not None:
                out[q] = f
                if other:
                    self.other_orientation.add(q)
        return out

    @cached_property
    def given(self) -> dict[str, Array]:
        """The variant's given arrays."""
        return {k: self.trace[k] for k in self.spec.template.problem.given}

    def trivial_truth(self, q: str) -> bool:
        """Whether q's exact answer itself looks like a placeholder at its tolerance (then placeholders are not
        suspicious for q)."""
        return trivial(self.trace[q], self.given, self.tolerance[q]) is not None

    def placeholder(self, q: str) -> str | None:
        """Why the answer to q is a placeholder (zeros, one repeated number, a copy of a given array) where
        the exact answer is not, or None."""
        why = trivial(self.fitted[q], self.given) if q in self.fitted else None
        return why if why and not self.trivial_truth(q) else None

    def correct(self, q: str) -> bool:
        """Whether the answer to q is within tolerance of the exact answer at every entry and is not a
        placeholder (W1_new copied from W1 is not an update, however small the update)."""
        if q not in self._correct:
            self._correct[q] = q in self.fitted and self._within(q) and self.placeholder(q) is None
        return self._correct[q]

    def _within(self, q: str) -> bool:
        """Every entry of the answer to q within q's tolerance of the exact answer. An answer within float noise
        of it (as a student's NumPy computes it) passes without that tolerance being worked out: no tolerance
        allows less than RTOL_FLOOR of the value (tolerance.as_tolerance)."""
        answer, exact = self.fitted[q], self.trace[q]
        return bool(close(answer, exact, (RTOL_FLOOR, 0.0)).all() or close(answer, exact, self.tolerance[q]).all())

    def ancestors(self, q: str) -> set[str]:
        """Every step q depends on, directly or through other steps (not the given arrays)."""
        seen, todo = set(), [q]
        while todo:
            for i in self.steps[todo.pop()].inputs:
                if i in self.steps and i not in seen:
                    seen.add(i)
                    todo.append(i)
        return seen


def read_sheet(spec: ProblemSpec, record: Mapping[str, Any], values: Mapping[str, Any],
               errors: Mapping[str, str], grading: Mapping[str, Any], copied: bool = False) -> Sheet:
    """Solve the variant and read every asked quantity the student answered (never raises on student values)."""
    trace = trace_of(spec, record)
    for q, value in record.get("answers", {}).items():  # the manifest's answer is the reference
        if q in spec.asked:
            trace[q] = np.asarray(value, dtype=float)
    answers, unreadable = {}, {}
    for q in spec.asked:
        if q in errors:
            unreadable[q] = f"No value could be read from {spec.variable(q)}: {errors[q]}"
        elif q in values:
            try:
                answers[q] = to_array(values[q])
            except BadValue as exc:
                unreadable[q] = f"{spec.variable(q)} cannot be graded: {exc}"
    return Sheet(spec, trace, answers, unreadable, grading, record, copied)
