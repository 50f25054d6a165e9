"""A problem of an assignment: a template with the assignment's overrides, and its points per quantity."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Mapping

from . import bank, questions
from .bank import Template
from .errors import HwgenError, OverrideError
from .numfmt import points_text

OVERRIDES = ("asked", "lr", "significant", "display")


@dataclass(frozen=True)
class ProblemSpec:
    """Problem `key` (p1, p2, ...) of an assignment: its template (overrides applied) and points per asked quantity."""

    key: str
    template: Template
    asked: dict[str, float]
    overrides: dict[str, Any] = dataclasses.field(default_factory=dict)
    shared: bool = False  # every student gets the same numbers (a textbook problem, an exam everyone sits)

    @property
    def points(self) -> float:
        """Total points of the problem."""
        return float(sum(self.asked.values()))

    def grading(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """This problem's grading options: the assignment's `options` over the template's `grading`."""
        return {**self.template.grading, **options}

    def variable(self, quantity: str) -> str:
        """The Python name a student assigns for a quantity: p1_dW1."""
        return answer_variable(self.key, quantity)

    def to_manifest(self) -> dict[str, Any]:
        """This problem as an entry of manifest.json, carrying the template's YAML text with it."""
        return {"key": self.key, "template": self.template.name, "points": self.points, "asked": self.asked,
                "significant": self.template.significant, "lr": self.template.lr,
                "overrides": self.overrides, "shared": self.shared, "template_source": self.template.source}

    @classmethod
    def from_manifest(cls, entry: Mapping[str, Any]) -> ProblemSpec:
        """Rebuild a problem from its manifest entry (no problem-bank file needed)."""
        overrides = dict(entry.get("overrides", {}))
        template = apply_overrides(bank.loads(entry["template_source"], f"manifest.json#{entry['key']}"), overrides)
        return cls(entry["key"], template, {k: float(v) for k, v in entry["asked"].items()}, overrides,
                   bool(entry.get("shared", False)))


def answer_variable(problem: str, quantity: str) -> str:
    """The variable (and nbgrader grade_id) of one answer: problem key + quantity, e.g. p1_dW1."""
    return f"{problem}_{questions.variable_suffix(quantity)}"


def apply_overrides(template: Template, overrides: Mapping[str, Any]) -> Template:
    """The template with an assignment's overrides: `asked` (list or name -> points), `lr`, `significant`, `display`
    (layout and/or bias, over the template's)."""
    unknown = set(overrides) - set(OVERRIDES)
    if unknown:
        raise HwgenError(f"unknown override(s) {sorted(unknown)}; allowed: {', '.join(OVERRIDES)}")
    changes: dict[str, Any] = {}
    if "lr" in overrides:
        if not template.network:
            raise OverrideError("lr", "a graph has no SGD step: remove `lr`")
        changes["network"] = dataclasses.replace(template.network, lr=float(overrides["lr"]))
    if "significant" in overrides:
        changes["significant"] = int(overrides["significant"])
    if "display" in overrides:
        changes["display"] = dataclasses.replace(template.display, **overrides["display"])
    changed = dataclasses.replace(template, **changes) if changes else template
    if "asked" not in overrides:
        return changed
    asked = overrides["asked"]
    asked = {q: template.asked.get(q, 1.0) for q in asked} if isinstance(asked, list) else dict(asked)
    try:  # a shape question is written in the display notation: checked after `display`
        asked = {questions.canonical(changed, q): float(points) for q, points in asked.items()}
    except HwgenError as exc:
        raise OverrideError("asked", f"in `asked`: {exc}") from None
    return dataclasses.replace(changed, asked={q: asked[q] for q in questions.ordered(changed, asked)})


POINT_STEPS = (0.5, 0.25)  # the grid of item points: half points, quarter points when there are too few halves


def point_step(quantities: int, total: float) -> float:
    """The grid a problem's item points lie on: 0.5, or 0.25 when the total has fewer half points than there
    are quantities (or is no whole number of half points)."""
    for step in POINT_STEPS:
        if (total / step).is_integer() and quantities <= total / step:
            return step
    raise HwgenError(f"{points_text(total)} points cannot be shared among {quantities} quantities in quarter "
                     "points: the total must be a multiple of 0.25 and at least 0.25 per quantity")


def scale_points(asked: Mapping[str, float], total: float | None) -> dict[str, float]:
    """Points per quantity on the point_step grid, in proportion to the weights `asked` (largest remainders
    round up) and adding up to `total` exactly (default: the weights' own sum); every quantity gets at least
    one step."""
    total = float(sum(asked.values())) if total is None else float(total)
    step = point_step(len(asked), total)
    units, weight = round(total / step), sum(Fraction(w) for w in asked.values())
    ideal = {q: Fraction(w) * units / weight for q, w in asked.items()}
    given = {q: max(1, int(x)) for q, x in ideal.items()}
    order = list(asked)
    left = units - sum(given.values())  # < 0 only when quantities raised to one step took it from the others
    by_remainder = sorted(order, key=lambda q: (-(ideal[q] - given[q]), -asked[q], order.index(q)))
    for q in by_remainder[:max(left, 0)]:
        given[q] += 1
    while left < 0:
        q = min((q for q in order if given[q] > 1), key=lambda q: (ideal[q] - given[q], order.index(q)))
        given[q] -= 1
        left += 1
    return {q: given[q] * step for q in asked}

