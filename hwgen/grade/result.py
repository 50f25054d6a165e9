"""The result of grading one asked quantity, as the gradebook, the JSON report and feedback see it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

Status = Literal["correct", "correct_ecf", "partial", "wrong", "missing", "invalid"]
STATUSES: tuple[Status, ...] = get_args(Status)


@dataclass(frozen=True)
class Item:
    """One asked quantity of one problem for one student: points earned, status and a message that teaches."""

    problem: str
    quantity: str
    points: float
    max_points: float
    status: Status
    message: str
    misconception: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The item as in `hwgen grade --json`."""
        return asdict(self)
