"""The verdict on one answer that is not numbers (an expression, a shape): kept apart from symbolic.py, whose sympy
(~0.35 s, ~50 MB) only a calculus problem needs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    """How one symbolic or shape answer fared: correct, wrong or invalid, a message, and the misconception it
    matches."""

    status: str
    message: str
    misconception: str | None = None
