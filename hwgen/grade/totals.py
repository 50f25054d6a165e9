"""A student's grade as reported: the checks' points, overrides put in, then the late penalty taken off.

An item override replaces that item's points, a problem override the problem's points, an assignment
override the sum; the late penalty is a fraction of what that leaves (grade.late). The gradebook keeps each
part in its own table, so regrading changes the checks' points and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

from . import late, overrides
from .late import Late
from .overrides import Override
from .result import Item

if TYPE_CHECKING:
    from .gradebook import Gradebook


@dataclass(frozen=True)
class Total:
    """One student's points: per problem after overrides, before and after the late penalty."""

    student: str
    checks: float  # the sum of the items' points, as graded
    problems: dict[str, float]  # problem key -> points, overrides put in
    raw: float  # before the late penalty (overrides put in)
    late: Late | None = None
    overrides: list[Override] = field(default_factory=list)

    @property
    def penalty_points(self) -> float:
        """Points the late penalty takes off."""
        return self.late.penalty * self.raw if self.late else 0.0

    @property
    def score(self) -> float:
        """The grade: raw minus the late penalty."""
        return self.raw - self.penalty_points


def item_override(item: Item, found: Iterable[Override]) -> Override | None:
    """The override of this very item, if any."""
    return next((o for o in found if (o.problem, o.quantity) == (item.problem, item.quantity)), None)


def total(student: str, items: list[Item], found: list[Override], lateness: Late | None) -> Total:
    """A student's Total from their graded items, overrides and lateness."""
    problems: dict[str, float] = {}
    for item in items:
        own = item_override(item, found)
        problems[item.problem] = problems.get(item.problem, 0.0) + (own.points if own else item.points)
    scopes = {(o.problem, o.quantity): o.points for o in found}
    problems.update({p: points for (p, q), points in scopes.items() if p and not q})
    raw = scopes.get(("", ""), sum(problems.values()))
    return Total(student, sum(i.points for i in items), problems, raw, lateness, found)


def student_total(book: Gradebook, student: str, items: list[Item]) -> Total:
    """One student's Total, their items already read."""
    return total(student, items, overrides.recorded(book, student).get(student, []),
                 late.recorded(book, student).get(student))


def class_totals(book: Gradebook) -> dict[str, Total]:
    """Every student in the gradebook -> their Total."""
    found, lateness, items = overrides.recorded(book), late.recorded(book), book.all_items()
    return {sid: total(sid, items.get(sid, []), found.get(sid, []), lateness.get(sid)) for sid in book.submissions()}
