"""A problem of an assignment: a template with the assignment's overrides, and its points per quantity."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from . import bank
from .bank import Template
from .engine import ANSWER_NAMES
from .errors import HwgenError

OVERRIDES = ("asked", "lr", "significant")


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
                "significant": self.template.significant, "lr": self.template.network.lr,
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
    return f"{problem}_{quantity}"


def apply_overrides(template: Template, overrides: Mapping[str, Any]) -> Template:
    """The template with an assignment's overrides: `asked` (list or name -> points), `lr`, `significant`."""
    unknown = set(overrides) - set(OVERRIDES)
    if unknown:
        raise HwgenError(f"unknown override(s) {sorted(unknown)}; allowed: {', '.join(OVERRIDES)}")
    changes: dict[str, Any] = {}
    if "asked" in overrides:
        asked = overrides["asked"]
        asked = {q: template.asked.get(q, 1.0) for q in asked} if isinstance(asked, list) else dict(asked)
        bad = [q for q in asked if q not in ANSWER_NAMES]
        if bad:
            raise HwgenError(f"unknown quantity {bad[0]!r} in `asked`; use some of: {', '.join(ANSWER_NAMES)}")
        order = {q: i for i, q in enumerate(ANSWER_NAMES)}
        changes["asked"] = {q: float(asked[q]) for q in sorted(asked, key=order.__getitem__)}
    if "lr" in overrides:
        changes["network"] = dataclasses.replace(template.network, lr=float(overrides["lr"]))
    if "significant" in overrides:
        changes["significant"] = int(overrides["significant"])
    return dataclasses.replace(template, **changes) if changes else template


def scale_points(asked: Mapping[str, float], total: float | None) -> dict[str, float]:
    """Points per quantity scaled so they add up to `total` (unchanged if total is None)."""
    if total is None:
        return dict(asked)
    weight = sum(asked.values())
    return {q: total * p / weight for q, p in asked.items()}
