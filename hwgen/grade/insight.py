"""What the class got wrong: catalogued misconceptions counted per item, from the gradebook."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from ..numfmt import points_text
from .export import aligned
from .gradebook import Gradebook
from .manifest import ClassManifest
from .misconceptions import BY_KEY
from .verdict import NAMED


@dataclass(frozen=True)
class MisconceptionCount:
    """How many graded students made one catalogued mistake in one item."""

    problem: str
    quantity: str
    key: str
    students: int
    graded: int

    @property
    def name(self) -> str:
        """The misconception's name (its key if the catalogue no longer has it)."""
        return BY_KEY[self.key].name if self.key in BY_KEY else NAMED.get(self.key, (self.key,))[0]


def misconception_counts(book: Gradebook) -> list[MisconceptionCount]:
    """Every (problem, quantity, misconception) that occurred, most frequent first, with the number graded."""
    graded = sum(1 for sub in book.submissions().values() if sub.status == "graded")
    return [MisconceptionCount(p, q, key, n, graded) for p, q, key, n in book.misconception_counts()]


def table_text(counts: list[MisconceptionCount]) -> str:
    """An aligned text table for the terminal, or a sentence if nothing was found."""
    if not counts:
        return "No catalogued misconception was found in the graded submissions.\n"
    head = ["problem", "quantity", "misconception", "students", "of graded"]
    body = [[c.problem, c.quantity, c.name, str(c.students), f"{c.students / max(c.graded, 1):.0%}"] for c in counts]
    return aligned(head, body, right=range(3, len(head)))


def items_text(manifest: ClassManifest, book: Gradebook) -> str:
    """Per asked item: its points and how many graded students got it right (and carried forward), as a table."""
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for problem, quantity, status, n in book.status_counts():
        counts.setdefault((problem, quantity), {})[status] = n
    graded = sum(1 for sub in book.submissions().values() if sub.status == "graded")
    head = ["item", "points", "correct", "carried forward", "% correct"]
    body = []
    for spec in manifest.problems:
        for q, points in spec.asked.items():
            mine = counts.get((spec.key, q), {})
            right = mine.get("correct", 0)
            body.append([spec.variable(q), points_text(points), str(right), str(mine.get("correct_ecf", 0)),
                         f"{right / graded:.0%}" if graded else "-"])
    return aligned(head, body, right=range(1, len(head)))


def csv_text(counts: list[MisconceptionCount]) -> str:
    """The counts as CSV: problem, quantity, misconception key and name, students, graded students."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["problem", "quantity", "misconception", "name", "students", "graded"])
    writer.writerows([c.problem, c.quantity, c.key, c.name, c.students, c.graded] for c in counts)
    return buffer.getvalue()
