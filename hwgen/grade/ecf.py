"""Error carried forward: each step re-evaluated on the student's own earlier answers.

The student's own work (`OwnWork.values`) follows the steps in order: an answered quantity is taken as the
student wrote it, an asked quantity without a usable answer falls back to the exact value (nothing was
submitted to carry an error forward), and a quantity that was not asked is computed from the student's own
values (they had to compute it on the way). An answer earns `correct_ecf` when it matches its step on those
values, the earlier answers it rests on were submitted, and neither they nor the answer are trivial values.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from ..engine import evaluate
from ..rounding import Tolerance, as_tolerance, close, rounding_bounds
from .sheet import Sheet
from .values import trivial

Array = np.ndarray
MAX_RATIO = 1000.0  # an earlier answer this many times larger than the right one is no slip to carry forward


class OwnWork:
    """The steps evaluated on one student's own answers, for error carried forward."""

    def __init__(self, sheet: Sheet) -> None:
        self.sheet = sheet
        trace, fitted = sheet.trace, sheet.fitted
        values = {k: trace[k] for k in sheet.spec.template.problem.inputs}
        wrong: dict[str, set[str]] = {}  # step -> answered, wrong quantities its value rests on
        for name, step in sheet.steps.items():
            below = set().union(*(wrong.get(i, set()) for i in step.inputs))
            if name in fitted:
                values[name] = fitted[name]
                wrong[name] = {name} if not sheet.correct(name) else set()
            elif name in sheet.spec.asked:
                values[name], wrong[name] = trace[name], set()
            else:
                values[name], wrong[name] = evaluate(step, values), below
        self.values, self._wrong = values, wrong

    def rests_on(self, q: str) -> list[str]:
        """The answered, wrong earlier quantities that q's own value depends on (directly or through steps
        that were not asked), in working order."""
        inputs = set().union(*(self._wrong.get(i, set()) for i in self.sheet.steps[q].inputs))
        return [s for s in self.sheet.steps if s in inputs]

    def expected(self, q: str) -> Array:
        """q's step evaluated on the student's own values."""
        return evaluate(self.sheet.steps[q], self.values)

    @cached_property
    def _bounds(self) -> dict[str, Array]:
        """Rounding bounds of every step on the student's own values (asked quantities count as written)."""
        asked = self.sheet.spec.asked
        return rounding_bounds(self.sheet.spec.template.problem, self.values, self.sheet.digits, asked, needed=asked)

    def tolerance(self, q: str) -> Tolerance:
        """(rtol, atol) of q against its step on the student's own values: that step's own rounding."""
        return as_tolerance(self.expected(q), self._bounds[q])

    def refusal(self, q: str) -> str | None:
        """Why q cannot earn credit carried forward although it matches its own step, or None."""
        if self.sheet.copied:
            return "this problem's answers match another student's numbers"
        given = self.sheet.given
        chain, todo = [], self.rests_on(q)
        while todo:  # the earlier answers it rests on, and theirs, back to the first slip
            name = todo.pop()
            if name not in chain:
                chain.append(name)
                todo += self.rests_on(name)
        for name in chain:
            why = trivial(self.sheet.fitted[name], given) or self._implausible(name)
            if why:
                return f"your {name} is {why}, which is not an attempt that later work can build on"
        why = trivial(self.expected(q), given)
        if why and not self.sheet.trivial_truth(q):
            return f"on your earlier answers {q} becomes {why}"
        return None

    def _implausible(self, name: str) -> str | None:
        """Why an earlier answer is too far off to build on (over MAX_RATIO times the size of the right one)."""
        size = float(np.max(np.abs(self.sheet.trace[name])))
        return "far larger than this step can give" if np.max(np.abs(self.sheet.fitted[name])) > MAX_RATIO * size else None

    def matches(self, q: str) -> bool:
        """Whether the answer to q matches its step on the student's own values, entry by entry."""
        own = self.expected(q)
        return q in self.sheet.fitted and bool(close(self.sheet.fitted[q], own, self.tolerance(q)).all())
