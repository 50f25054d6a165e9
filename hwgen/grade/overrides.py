"""Manual grades: an instructor's points for one item, a whole problem or the whole assignment, with who, when
and why. They live in the gradebook's `overrides` table, which grading never touches, so they survive regrading."""

from __future__ import annotations

import getpass
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import HwgenError
from ..numfmt import counted
from .manifest import ClassManifest

if TYPE_CHECKING:
    from .gradebook import Gradebook

MAX_REASON = 500


@dataclass(frozen=True)
class Override:
    """One manual grade: problem '' means the whole assignment, quantity '' the whole problem."""

    student: str
    problem: str
    quantity: str
    points: float
    reason: str
    author: str
    at: str

    @property
    def scope(self) -> str:
        """What it replaces, for people: 'p1 L', 'p1' or 'the assignment'."""
        return scope_text(self.problem, self.quantity)

    def to_json(self) -> dict[str, Any]:
        """The override in the JSON report."""
        return {"problem": self.problem or None, "quantity": self.quantity or None, "points": self.points,
                "reason": self.reason, "by": self.author, "at": self.at}

    def note(self) -> str:
        """One line for exports and feedback."""
        return f"{self.scope} set to {counted(self.points, 'point')} by {self.author} on {self.at}: {self.reason}"


def scope_text(problem: str, quantity: str) -> str:
    """'p1 L', 'p1' or 'the assignment'."""
    return " ".join(filter(None, (problem, quantity))) or "the assignment"


def author() -> str:
    """Who is overriding: the login name, or 'instructor' if there is none."""
    try:
        return getpass.getuser() or "instructor"
    except (KeyError, OSError):
        return "instructor"


def most_points(manifest: ClassManifest, problem: str | None, quantity: str | None) -> float:
    """The most points the scope can have; an unknown problem or quantity, or a quantity without a problem, says
    what to give instead."""
    if problem is None:
        if quantity is not None:
            raise HwgenError("--quantity needs --problem\n  fix: give the problem too, e.g. --problem p1 --quantity L")
        return manifest.max_points
    specs = {spec.key: spec for spec in manifest.problems}
    if problem not in specs:
        raise HwgenError(f"--problem {problem!r} is not a problem of this assignment\n  fix: use one of: {', '.join(specs)}")
    if quantity is None:
        return float(specs[problem].points)
    if quantity not in specs[problem].asked:
        raise HwgenError(f"--quantity {quantity!r} is not asked in {problem}\n  fix: use one of: "
                         + ", ".join(specs[problem].asked))
    return float(specs[problem].asked[quantity])


def check_points(points: float, most: float) -> float:
    """The points, if finite and from 0 to the scope's maximum."""
    if not math.isfinite(points) or not 0 <= points <= most + 1e-9:
        raise HwgenError(f"--points {points:g} is not from 0 to {most:g}, the most this can be worth\n"
                         f"  fix: give a number from 0 to {most:g}")
    return float(points)


def check_text(text: str, option: str, example: str) -> str:
    """An option's text (--reason, --by) with runs of blanks made one space: non-empty, printable, at most
    MAX_REASON characters."""
    clean = " ".join(text.split())
    if not clean or len(clean) > MAX_REASON or not clean.isprintable():
        raise HwgenError(f"{option} must be 1 to {MAX_REASON} printable characters\n  fix: e.g. {option} {example}")
    return clean


def put(book: Gradebook, override: Override) -> None:
    """Record an override, replacing one with the same scope."""
    with book._transaction():
        book.db.execute("INSERT OR REPLACE INTO overrides VALUES (?,?,?,?,?,?,?)",
                        (override.student, override.problem, override.quantity, override.points, override.reason,
                         override.author, override.at))


def clear(book: Gradebook, student: str, problem: str, quantity: str) -> bool:
    """Remove the override of this scope; whether there was one."""
    with book._transaction():
        cur = book.db.execute("DELETE FROM overrides WHERE student = ? AND problem = ? AND quantity = ?",
                              (student, problem, quantity))
    return cur.rowcount > 0


def recorded(book: Gradebook, student: str | None = None) -> dict[str, list[Override]]:
    """Student -> their overrides (assignment first, then by problem and quantity); only `student`'s if given."""
    out: dict[str, list[Override]] = {}
    where = ("WHERE student = ?", (student,)) if student is not None else ("", ())
    for row in book.db.execute(f"SELECT * FROM overrides {where[0]} ORDER BY student, problem, quantity", where[1]):
        out.setdefault(row[0], []).append(Override(*row))
    return out
