"""The class's numbers: score distribution, per-item outcomes, discrimination, misconceptions, variant difficulty.

Item statistics are over the students whose notebook was graded (status `graded`): a student who handed in
nothing would count as `missing` on every item and hide what the class got wrong. An item counts as a
success when it is `correct` or `correct_ecf`.

- Discrimination: the corrected point-biserial correlation, Pearson's r between an item's success (0/1) and
  the student's checks score without that item, so the item does not correlate with itself.
- Variant difficulty: whether an item's success depends on the student's numbers, through their rounding
  sensitivity (the item's tolerance relative to the size of its answer: rtol + atol / max|answer|, from
  the manifest; large when the answer sums terms that nearly cancel). Two-sided Mann-Whitney U test of the
  sensitivities of the students who got the item right against those who did not (normal approximation,
  tie and continuity corrections), only with MIN_GROUP students or more in each group; an item is flagged
  when p x (the number of items tested) < ALPHA (Bonferroni).
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np

from ..grade.gradebook import Gradebook, Submission
from ..grade.late import Late
from ..grade.manifest import ClassManifest
from ..grade.misconceptions import BY_KEY
from ..grade.overrides import Override
from ..grade.result import STATUSES, Item
from ..grade.totals import Total, class_totals
from ..grade.verdict import NAMED

SUCCESS = ("correct", "correct_ecf")
MIN_GROUP = 5
ALPHA = 0.05
TOP_MISCONCEPTIONS = 3


@dataclass(frozen=True)
class Misconception:
    """A named mistake made in one item: how many graded students made it, and what it teaches."""

    key: str
    name: str
    message: str
    students: int


@dataclass(frozen=True)
class VariantCheck:
    """Rounding sensitivity of the students who got an item right and of the others, and the test's p-value."""

    right: int
    wrong: int
    median_right: float | None
    median_wrong: float | None
    p: float | None  # None: too few students in a group to test
    flagged: bool = False


@dataclass
class ItemStats:
    """One asked quantity over the graded students."""

    problem: str
    quantity: str
    max_points: float
    counts: dict[str, int]
    graded: int
    discrimination: float | None
    misconceptions: list[Misconception]
    variant: VariantCheck

    @property
    def label(self) -> str:
        """'p1 dW1'."""
        return f"{self.problem} {self.quantity}"

    def share(self, status: str) -> float:
        """The share of graded students with this status."""
        return self.counts.get(status, 0) / self.graded if self.graded else 0.0


@dataclass
class ClassStats:
    """Everything the report shows."""

    manifest: ClassManifest
    submissions: dict[str, Submission]
    totals: dict[str, Total]
    items: list[ItemStats]
    copies: list[tuple[str, str, str, list[str]]]  # (student, problem, classmate, quantities)

    @property
    def roster(self) -> list[str]:
        """Roster students in the gradebook (unknown folders left out)."""
        return [sid for sid in self.manifest.students if sid in self.submissions]

    @property
    def graded(self) -> list[str]:
        """Students whose notebook was graded."""
        return [sid for sid in self.roster if self.submissions[sid].status == "graded"]

    @property
    def scores(self) -> list[float]:
        """Every roster student's score after overrides and the late penalty."""
        return [self.totals[sid].score for sid in self.roster]

    @property
    def late(self) -> list[tuple[str, Late, float]]:
        """(student, lateness, penalty points) of the late submissions and those with an extension."""
        return [(sid, t.late, t.penalty_points) for sid, t in self.totals.items()
                if t.late is not None and (t.late.days or t.late.extended)]

    @property
    def overrides(self) -> list[Override]:
        """Every override, by student."""
        return [o for t in self.totals.values() for o in t.overrides]


def point_biserial(success: Sequence[bool], rest: Sequence[float]) -> float | None:
    """Pearson's r between 0/1 success and the rest score; None when either does not vary."""
    x, y = np.asarray(success, dtype=float), np.asarray(rest, dtype=float)
    if len(x) < 3 or x.std() == 0 or y.std() == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1])


def mann_whitney(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Two-sided p-value of the Mann-Whitney U test (normal approximation with tie and continuity corrections);
    None with fewer than MIN_GROUP values in a group or no spread at all."""
    n1, n2 = len(x), len(y)
    if min(n1, n2) < MIN_GROUP:
        return None
    values = np.concatenate([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    sorted_values = values[order]
    i = 0
    ties = 0.0
    while i < len(values):
        j = i
        while j + 1 < len(values) and sorted_values[j + 1] == sorted_values[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        t = j - i + 1
        ties += t ** 3 - t
        i = j + 1
    n = n1 + n2
    u = ranks[:n1].sum() - n1 * (n1 + 1) / 2
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if variance <= 0:
        return None
    z = (abs(u - n1 * n2 / 2) - 0.5) / math.sqrt(variance)
    return min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2)))


def sensitivity(problem: dict[str, Any], quantity: str) -> float | None:
    """An item's rounding sensitivity for one student's variant: rtol + atol / max|answer| (None if unknown)."""
    tolerance = (problem.get("tolerance") or {}).get("quantities", {}).get(quantity)
    answer = problem.get("answers", {}).get(quantity)
    if tolerance is None or answer is None:
        return None
    size = float(np.max(np.abs(np.asarray(answer, dtype=float))))
    return float(tolerance[0] + tolerance[1] / size) if size > 0 else None


def variant_check(values: Sequence[float], success: Sequence[bool]) -> VariantCheck:
    """Sensitivities of the right and the wrong answers compared (flagging is done over all items)."""
    right = [v for v, ok in zip(values, success) if ok]
    wrong = [v for v, ok in zip(values, success) if not ok]
    return VariantCheck(len(right), len(wrong), statistics.median(right) if right else None,
                        statistics.median(wrong) if wrong else None, mann_whitney(right, wrong))


def _sensitivities(manifest: ClassManifest, record: dict[str, Any]) -> dict[tuple[str, str], float]:
    """(problem, quantity) -> the student's rounding sensitivity, for every asked quantity that has one."""
    out = {}
    for spec in manifest.problems:
        for quantity in spec.asked:
            value = sensitivity(record.get("problems", {}).get(spec.key, {}), quantity)
            if value is not None:
                out[(spec.key, quantity)] = value
    return out


def flagged(checks: Sequence[VariantCheck]) -> list[VariantCheck]:
    """The checks with `flagged` set where p x (the number tested) < ALPHA (Bonferroni)."""
    tested = sum(1 for c in checks if c.p is not None)
    return [replace(c, flagged=c.p is not None and c.p * tested < ALPHA) for c in checks]


def _misconceptions(items: Sequence[Item]) -> list[Misconception]:
    """The most frequent named misconceptions among these items, with their teaching messages."""
    found: dict[str, int] = {}
    for it in items:
        if it.misconception:
            found[it.misconception] = found.get(it.misconception, 0) + 1
    ranked = sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_MISCONCEPTIONS]
    return [Misconception(k, *((BY_KEY[k].name, BY_KEY[k].message) if k in BY_KEY else NAMED.get(k, (k, ""))), n)
            for k, n in ranked]


def class_stats(manifest: ClassManifest, book: Gradebook) -> ClassStats:
    """The statistics of the class graded in `book`."""
    subs, totals = book.submissions(), class_totals(book)
    stats = ClassStats(manifest, subs, totals, [], [])
    rows = {sid: {(it.problem, it.quantity): it for it, _, _ in book.items(sid)} for sid in stats.graded}
    sensitivities = {sid: _sensitivities(manifest, manifest.students[sid]) for sid in rows}  # one parse a student
    for spec in manifest.problems:
        for quantity, points in spec.asked.items():
            present = {sid: found[(spec.key, quantity)] for sid, found in rows.items() if (spec.key, quantity) in found}
            success = {sid: it.status in SUCCESS for sid, it in present.items()}
            known = [(v, success[sid]) for sid in present
                     if (v := sensitivities[sid].get((spec.key, quantity))) is not None]
            stats.items.append(ItemStats(
                spec.key, quantity, float(points),
                {status: sum(1 for it in present.values() if it.status == status) for status in STATUSES}, len(present),
                point_biserial(list(success.values()), [totals[sid].checks - it.points for sid, it in present.items()]),
                _misconceptions(list(present.values())),
                variant_check([v for v, _ in known], [ok for _, ok in known])))
    for item, check in zip(stats.items, flagged([item.variant for item in stats.items])):
        item.variant = check
    stats.copies = [(s, p, o, json.loads(q)) for s, p, o, q in book.db.execute(
        "SELECT student, problem, other, quantities FROM copies ORDER BY student, problem, other")]
    return stats
