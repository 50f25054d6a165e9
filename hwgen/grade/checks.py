"""Trusted answer checks: one student's values for one problem -> an Item per asked quantity.

Runs in the grader's own process on plain values (never on student objects). Every decision about an
item's points, status, misconception and message is made here, in this order: exact answer within the
rounding-aware tolerance (`correct`), the step re-evaluated on the student's own earlier answers
(`correct_ecf`), a catalogued misconception (`wrong`, named), credit per entry where allowed (`partial`),
else `wrong`. The expected value itself never appears in a message.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import cached_property
from typing import Any, Mapping

import numpy as np

from .. import questions
from ..notation import description, layers
from ..problem import ProblemSpec
from ..render.text import tex_to_text
from ..rounding import close
from .diagnose import Diagnosis
from .ecf import OwnWork
from .questions import grade_question, named_number, own_number
from .result import Item, Status
from .sheet import Sheet, read_sheet
from .values import describe_shape

log = logging.getLogger(__name__)


def _expected_form(sheet: Sheet, q: str) -> str:
    """What the answer should look like, as the problem shows it: 'expected a 4 x 2 array (one row per sample,
    ...), the ...'."""
    show, shape, problem = sheet.spec.template.display, sheet.trace[q].shape, sheet.spec.template.problem
    matrix = len(shape) == 2  # a vector is described as itself, whatever the layout
    form = describe_shape(q, show.shape(shape, q) if matrix else shape, matrix and show.flipped(q), layers(problem))
    return f"expected {form}, the {description(problem, q)}"


def _orientation_note(sheet: Sheet, q: str) -> str:
    """Feedback for an answer given transposed from the problem's layout (accepted: its shape is not square)."""
    shown = sheet.spec.template.display.shape(sheet.trace[q].shape, q)
    return (f" Note: you wrote {sheet.spec.variable(q)} as a {shown[1]} x {shown[0]} array; this problem's worksheet "
            f"and notebook lay it out {shown[0]} x {shown[1]}. It was read transposed, which its shape allows; "
            "keep to the problem's layout (for a square matrix only that layout can be read).")


def _formula(sheet: Sheet, q: str) -> str:
    """The step's formula as plain text: 'dW2 = A1ᵀ dZ2'."""
    return f"{q} = {tex_to_text(sheet.steps[q].tex.replace('$', ''))}"


def _item(sheet: Sheet, q: str, status: Status, message: str, fraction: float = 0.0,
          misconception: str | None = None) -> Item:
    """An Item for quantity q worth `fraction` of its points."""
    max_points = float(sheet.spec.asked[q])
    return Item(sheet.spec.key, q, max_points * fraction, max_points, status, message, misconception)


def _names(names: list[str]) -> str:
    """'A1', 'A1 and Z2', 'Z1, A1 and Z2'."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


class Checker:
    """Grades the asked quantities of one Sheet (one student, one problem)."""

    def __init__(self, sheet: Sheet, spec: ProblemSpec | None = None, values: Mapping[str, Any] | None = None) -> None:
        self.sheet = sheet
        self.ecf_credit = float(sheet.grading.get("ecf_credit", 1.0))
        self.spec = spec or sheet.spec  # with the asked quantities that are not numbers (symbolic forms, shapes)
        self.values = values or {}  # the student's values, those included

    @cached_property
    def own(self) -> OwnWork:
        """The steps on the student's own answers (worked out only for an answer that is not correct)."""
        return OwnWork(self.sheet)

    @cached_property
    def diagnosis(self) -> Diagnosis:
        """The catalogue's wrong steps on this variant (likewise)."""
        return Diagnosis(self.sheet, self.own)

    def ecf(self, q: str) -> tuple[bool, str]:
        """Whether q earns credit carried forward, and a note for the message when it matches but may not."""
        if not self.own.rests_on(q) or not self.own.matches(q):
            return False, ""
        refusal = self.own.refusal(q)
        if refusal:
            return False, (f" It does follow from your own earlier answers, but {refusal}, so no credit is "
                           "carried forward.")
        return True, ""

    def grade(self, q: str) -> Item:
        """The Item of one asked quantity, with a note if the answer came in the other orientation."""
        item = self._grade(q)
        if q in self.sheet.other_orientation:
            return replace(item, message=item.message + _orientation_note(self.sheet, q))
        return item

    def _grade(self, q: str) -> Item:
        """The Item of one asked quantity."""
        sheet, variable, digits = self.sheet, self.sheet.spec.variable(q), self.sheet.digits
        if q in sheet.unreadable:
            return _item(sheet, q, "invalid", f"{sheet.unreadable[q]}; {_expected_form(sheet, q)}.")
        if q not in sheet.answers:
            return _item(sheet, q, "missing", f"No answer: {variable} was never assigned; {_expected_form(sheet, q)}.")
        if sheet.correct(q):
            return _item(sheet, q, "correct", f"Correct (to the {digits} significant digits asked).", 1.0)
        earns_ecf, note = self.ecf(q) if q in sheet.fitted else (False, "")
        if q in sheet.fitted and own_number(self.spec, sheet.trace, q, sheet.fitted[q], self.values):
            return _item(sheet, q, "correct_ecf", f"Correct for your own {q}_expr, which is not right: the numbers "
                         f"are put in right, and this answer earns {self.ecf_credit:.0%} of its points.", self.ecf_credit)
        if earns_ecf:
            rests = _names(self.own.rests_on(q))
            return _item(sheet, q, "correct_ecf", f"Correct for your own earlier {rests}, which "
                         f"{'is' if len(self.own.rests_on(q)) == 1 else 'are'} not right: the error is carried "
                         f"forward and this answer earns {self.ecf_credit:.0%} of its points.", self.ecf_credit)
        diagnose = sheet.grading.get("misconceptions", True)
        named = named_number(self.spec, sheet.trace, q, sheet.fitted[q], sheet.tolerance[q]) \
            if diagnose and q in sheet.fitted else None  # a calculus derivative's mistakes (None for the others)
        if named:
            return named
        found = self.diagnosis.match(q) if diagnose and not sheet.spec.template.calculus else None
        if found:
            m, wrong = found
            where = "" if wrong.name == q else f" (in {wrong.name}, carried into {q})"
            return _item(sheet, q, "wrong", f"Not correct: this matches a known mistake, {m.name}{where}. "
                         f"Remember: {m.message}", misconception=m.key)
        if q not in sheet.fitted:
            got = " x ".join(map(str, sheet.answers[q].shape)) or "a single number"
            return _item(sheet, q, "invalid", f"{variable} has shape {got}; {_expected_form(sheet, q)}.")
        right, carried = self.entries(q, carried_ok=not note)
        share = 0.0 if sheet.placeholder(q) else float(np.mean(np.where(right, 1.0, carried * self.ecf_credit)))
        if sheet.grading.get("partial", False) and right.size > 1 and share > 0:
            also = f", {int(carried.sum())} more follow from your own earlier answers" if carried.any() else ""
            return _item(sheet, q, "partial", f"Partly correct: {int(right.sum())} of {right.size} entries are right "
                         f"(to the {digits} significant digits asked){also}. Recheck {_formula(sheet, q)} for the "
                         "others.", share)
        why = sheet.placeholder(q)
        what = f": your {q} is {why}" if why else f" to the {digits} significant digits asked"
        return _item(sheet, q, "wrong", f"Not correct{what}. Recheck {_formula(sheet, q)} entry by entry.{note}")

    def entries(self, q: str, carried_ok: bool) -> tuple[np.ndarray, np.ndarray]:
        """Entry by entry: within tolerance of the exact answer, and (where not) matching the step on the
        student's own earlier answers (only if credit may be carried forward). Two boolean arrays."""
        sheet, answer = self.sheet, self.sheet.fitted[q]
        right = close(answer, sheet.trace[q], sheet.tolerance[q])
        if carried_ok and self.own.rests_on(q):
            return right, ~right & close(answer, self.own.expected(q), self.own.tolerance(q))
        return right, np.zeros_like(right)


def grade_problem(spec: ProblemSpec, record: Mapping[str, Any], values: Mapping[str, Any],
                  errors: Mapping[str, str], grading: Mapping[str, Any], copied: bool = False) -> list[Item]:
    """Items (result.Item) for every asked quantity of one problem of one student, in the template's order.
    `copied`: the problem is flagged as copied work (CopyIndex.flags), so no error is carried forward: a
    classmate's answers are consistent with each other, not a slip in the student's own work."""
    numeric = questions.numeric(spec.template, spec.asked)
    steps = spec if len(numeric) == len(spec.asked) else replace(spec, asked={q: spec.asked[q] for q in numeric})
    sheet = read_sheet(steps, record, values, errors, spec.grading(grading), copied)
    checker = Checker(sheet, spec, values)
    items = []
    for q in spec.asked:
        try:
            items.append(checker.grade(q) if q in numeric else
                         grade_question(spec, sheet.trace, q, values, errors.get(q), checker.ecf_credit))
        except Exception:  # a bug here must not stop the batch; the item says so and the log has the trace
            log.exception("checking %s %s failed", spec.key, q)
            items.append(_item(sheet, q, "invalid", f"{spec.variable(q)} could not be checked because of an "
                               "error in the grader; please tell your instructor."))
    return items
