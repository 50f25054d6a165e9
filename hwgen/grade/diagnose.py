"""Which catalogued misconception, if any, an answer matches on this student's variant."""

from __future__ import annotations

from functools import cached_property
from typing import Iterator

import numpy as np

from ..engine import Step, evaluate
from ..notation import conform
from ..rounding import Tolerance, close
from .ecf import OwnWork
from .misconceptions import Misconception, wrong_steps
from .sheet import Sheet
from .tolerance import tolerances
from .values import COPY_OF, ZEROS, trivial

Array = np.ndarray
CLEARLY_CLOSER = 2.0  # a later match at the same step is named instead if it is this many times closer to the answer


def _scaled(tol: Tolerance, value: Array, truth: Array) -> Tolerance:
    """q's tolerance for a wrong value of another size: the absolute part grows with the value (forgetting the
    learning rate makes an update a hundred times larger, and its rounding with it)."""
    ratio = float(np.max(np.abs(value))) / max(float(np.max(np.abs(truth))), 1e-300)
    return tol[0], tol[1] * max(1.0, ratio)


def honest(sheet: Sheet) -> dict[str, Tolerance]:
    """How far honest work may land from each right answer: the tolerance of a student who keeps one significant
    digit fewer than the worksheet asks (rounding or cutting off), or the graded digits if grading accepts fewer.
    A wrong value that close to the right one names no mistake: it could be honest rounding."""
    digits = min(sheet.digits, sheet.spec.template.significant - 1)
    return tolerances(sheet.spec, sheet.record, {**sheet.grading, "rounding_digits": digits})


class Diagnosis:
    """The wrong steps of the catalogue evaluated on one student's variant, carried through later steps."""

    def __init__(self, sheet: Sheet, own: OwnWork) -> None:
        self.sheet, self.own = sheet, own
        self.wrong = wrong_steps(sheet.spec.template)
        self._memo: dict[tuple[int, str], Array] = {}

    @cached_property
    def honest(self) -> dict[str, Tolerance]:
        """The honest-rounding band of each asked quantity (module function `honest`)."""
        return honest(self.sheet)

    def _carried(self, k: int, name: str) -> Array:
        """Step `name` on the exact values, with wrong step k in place of the step it mimics."""
        wrong = self.wrong[k][1]
        if name not in self.sheet.steps or (name != wrong.name and wrong.name not in self.sheet.ancestors(name)):
            return self.sheet.trace[name]
        if (k, name) not in self._memo:
            step = wrong if name == wrong.name else self.sheet.steps[name]
            self._memo[k, name] = evaluate(step, {i: self._carried(k, i) for i in step.inputs})
        return self._memo[k, name]

    def candidates(self, q: str) -> Iterator[tuple[Misconception, Step, Array, bool]]:
        """(misconception, wrong step, value of q, on own values?) for each wrong step at q or before it,
        nearest first: on the exact values, and, for a wrong step at q itself, on the student's own earlier
        answers. A wrong step whose value cannot go through the later steps (a wrong shape) yields nothing."""
        order = {name: i for i, name in enumerate(self.sheet.steps)}
        earlier = self.sheet.ancestors(q) | {q}
        nearest_first = sorted((k for k, (m, wrong) in enumerate(self.wrong)
                                if wrong.name == q or (m.carried and wrong.name in earlier)),
                               key=lambda k: -order[self.wrong[k][1].name])  # q itself, then the step before, ...
        for k in nearest_first:
            m, wrong = self.wrong[k]
            try:
                yield m, wrong, self._carried(k, q), False
            except ValueError:
                continue
        if self.own.rests_on(q) and self.own.refusal(q) is None:
            for m, wrong in self.wrong:
                if wrong.name == q:
                    try:
                        yield m, wrong, evaluate(wrong, self.own.values), True
                    except ValueError:
                        continue

    def match(self, q: str) -> tuple[Misconception, Step] | None:
        """The misconception whose value of q the answer matches (shape and entries), where that value is not also
        the right one: of those matching at the nearest step, the first in catalogue order unless a later one is
        clearly closer to the answer (in units of q's tolerance); None if none matches."""
        answer, truth, tol = self.sheet.answers[q], self.sheet.trace[q], self.sheet.tolerance[q]
        blank = self.sheet.placeholder(q) or ""
        if self.sheet.copied or blank == ZEROS or blank.startswith(COPY_OF):
            return None  # a classmate's numbers, zeros or a given copied show no mistake of one's own
        if q in self.sheet.fitted and close(self.sheet.fitted[q], truth, self.honest[q]).all():
            return None  # an answer that keeping one digit fewer could give is no evidence of any mistake
        show = self.sheet.spec.template.display
        best: tuple[float, Misconception, Step, bool] | None = None
        for m, wrong, value, own in self.candidates(q):
            if best and (wrong.name, own) != (best[2].name, best[3]):
                break  # a match at a nearer step explains the answer with fewer steps wrong
            fitted: Array | None
            if q in self.sheet.fitted and value.shape == truth.shape:  # both canonical
                fitted, target = self.sheet.fitted[q], value
            else:  # a value of another shape, compared as the problem would show it
                target = show.value(value, q)
                fitted = conform(answer, target.shape)
            if fitted is None or not np.all(np.isfinite(value)) or not close(fitted, target,
                                                                           _scaled(tol, value, truth)).all():
                continue
            reference = self.own.expected(q) if own else truth
            as_right = conform(value, reference.shape)
            if as_right is not None and close(as_right, reference, self.honest[q] if not own else tol).all():
                continue  # the mistake changes the answer no more than keeping one digit fewer would: not evidence
            why = trivial(value, self.sheet.given) if not self.sheet.trivial_truth(q) else None
            if why == ZEROS or (own and why):
                continue  # zeros, or a placeholder built from placeholders, say nothing about the mistake
            rtol, atol = _scaled(tol, value, truth)
            distance = float(np.max(np.abs(fitted - target) / (atol + rtol * np.abs(target))))
            if best is None or distance < best[0] / CLEARLY_CLOSER:
                best = (distance, m, wrong, own)
        return (best[1], best[2]) if best else None
