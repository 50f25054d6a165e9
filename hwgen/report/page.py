"""The report as tables (the same for the HTML page and the terminal) and the self-contained HTML page.

`tables(stats)` builds every table once; `html(stats)` renders them with the charts inlined as SVG (no
script, no stylesheet or font from elsewhere: the page opens offline and prints); `text(stats)` prints them.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Callable

from markupsafe import Markup

from ..grade.export import aligned
from ..grade.feedback import environment
from ..numfmt import points_text
from . import charts
from .stats import ALPHA, MIN_GROUP, ClassStats

OUTCOME_COLUMNS = ("correct", "correct_ecf", "partial", "wrong", "missing", "invalid")


@dataclass(frozen=True)
class Table:
    """One table of the report: a title, a sentence on how to read it, a header, rows of text, an optional chart."""

    key: str
    title: str
    note: str
    head: list[str]
    rows: list[list[str]]
    right: frozenset[int] = frozenset()  # columns of numbers
    chart: Callable[[], str] | None = None  # draws an <svg> element (HTML only)
    empty: str = "none"


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _num(x: float | None, digits: int = 2) -> str:
    return "" if x is None else f"{x:.{digits}f}"


def _scores(stats: ClassStats) -> Table:
    scores, subs = stats.scores, stats.submissions
    count = {status: sum(1 for sid in stats.roster if subs[sid].status == status)
             for status in ("graded", "missing", "invalid")}
    rows = [["students in the gradebook", str(len(stats.roster))], *([f"  {k}", str(v)] for k, v in count.items()),
            ["maximum", points_text(stats.manifest.max_points)]]
    if scores:
        rows += [["mean", points_text(statistics.fmean(scores))], ["median", points_text(statistics.median(scores))],
                 ["standard deviation", points_text(statistics.pstdev(scores))],
                 ["lowest", points_text(min(scores))], ["highest", points_text(max(scores))]]
    return Table("scores", "Scores", "Every roster student's score after overrides and late penalties (a student who "
                 "handed in nothing counts 0).", ["", "value"], rows, frozenset({1}),
                 (lambda: charts.score_histogram(scores, stats.manifest.max_points)) if scores else None)


def _problems(stats: ClassStats) -> Table:
    graded = stats.graded
    rows = []
    for spec in stats.manifest.problems:
        points = [stats.totals[sid].problems.get(spec.key, 0.0) for sid in graded]
        full = sum(1 for p in points if p >= spec.points - 1e-9)
        rows.append([spec.key, spec.template.title, points_text(spec.points),
                     points_text(statistics.fmean(points)) if points else "", _pct(full / len(points)) if points else ""])
    return Table("problems", "Problems", "Over the students whose notebook was graded; overrides included.",
                 ["problem", "title", "points", "mean", "full marks"], rows, frozenset({2, 3, 4}))


def _items(stats: ClassStats) -> Table:
    rows = [[item.label, points_text(item.max_points), str(item.graded), *(_pct(item.share(s)) for s in OUTCOME_COLUMNS),
             _num(item.discrimination)] for item in stats.items]
    return Table("items", "Items", "Share of the graded notebooks with each outcome (correct with error carried "
                 "forward: right for the student's own earlier answers). Discrimination: the corrected point-biserial "
                 "correlation between getting the item right (correct or carried forward) and the score on the other "
                 "items; below 0.2 the item separates strong from weak students poorly, empty when nobody or "
                 "everybody got it.",
                 ["item", "points", "graded", "correct", "carried fwd", "partial", "wrong", "missing", "invalid",
                  "discrimination"], rows, frozenset(range(1, 10)),
                 (lambda: charts.item_outcomes(stats.items)) if stats.graded else None)


def _discrimination(stats: ClassStats) -> Table:
    return Table("discrimination", "Item discrimination", "The same correlation as a chart; red bars are below 0.2.",
                 [], [], chart=(lambda: charts.discrimination(stats.items)) if stats.graded else None)


def _misconceptions(stats: ClassStats) -> Table:
    rows = [[item.label, m.name, str(m.students), _pct(m.students / item.graded), m.message]
            for item in stats.items for m in item.misconceptions]
    return Table("misconceptions", "Named misconceptions", "The most frequent known mistakes per item (at most "
                 "three), with the message students get.", ["item", "misconception", "students", "of graded",
                                                             "teaching message"], rows, frozenset({2, 3}),
                 empty="no known mistake was found")


def _variants(stats: ClassStats) -> Table:
    tested = sum(1 for item in stats.items if item.variant.p is not None)
    rows = [[item.label, str(item.variant.right), str(item.variant.wrong), _num(item.variant.median_right, 4),
             _num(item.variant.median_wrong, 4), _num(item.variant.p, 4) if item.variant.p is not None else "too few",
             "FLAGGED" if item.variant.flagged else ""] for item in stats.items]
    rule = (f"An item is flagged when p x {tested} (the items tested, Bonferroni) < {ALPHA}: its variants are not "
            "equally hard." if tested else "No item had that many yet, so none was tested.")
    return Table("variants", "Variant difficulty", "Does success depend on the student's numbers? Each student's "
                 "rounding sensitivity of the item (its tolerance relative to the size of the answer: rtol + atol / "
                 "max|answer|; large when the answer sums terms that nearly cancel) is compared between those who got "
                 "it right and the others with a two-sided Mann-Whitney U test (normal approximation; at least "
                 f"{MIN_GROUP} students in each group). {rule}",
                 ["item", "right", "not right", "median sens. right", "median sens. not right", "p", "flag"], rows,
                 frozenset({1, 2, 3, 4, 5}))


def _late(stats: ClassStats) -> Table:
    rows = [[sid, late.submitted, late.source, late.due + (" (extended)" if late.extended else ""), str(late.days),
             _pct(late.penalty), points_text(points)] for sid, late, points in stats.late]
    return Table("late", "Late submissions and extensions", "Time from nbgrader's timestamp.txt, else the notebook "
                 "file's modification time (source: file time). A started day counts as a day.",
                 ["student", "handed in", "source", "due", "days late", "penalty", "points off"], rows,
                 frozenset({4, 5, 6}), empty="no late submission and no extension")


def _overrides(stats: ClassStats) -> Table:
    rows = [[o.student, o.scope, points_text(o.points), o.author, o.at, o.reason] for o in stats.overrides]
    return Table("overrides", "Overrides", "Manual grades (hwgen override): they replace the checks' points of "
                 "their scope.", ["student", "scope", "points", "by", "when", "reason"], rows, frozenset({2}))


def _copies(stats: ClassStats) -> Table:
    rows = [[student, problem, other, " ".join(quantities)] for student, problem, other, quantities in stats.copies]
    return Table("copies", "Copy flags", "A problem whose answers match a classmate's numbers and not the student's own.",
                 ["student", "problem", "numbers of", "matching quantities"], rows, empty="no copied work was found")


SECTIONS = (_scores, _problems, _items, _discrimination, _misconceptions, _variants, _late, _overrides, _copies)


def tables(stats: ClassStats) -> list[Table]:
    """Every table of the report, in order."""
    return [make(stats) for make in SECTIONS]


def html(stats: ClassStats) -> str:
    """The self-contained HTML page."""
    return environment().get_template("report.html.j2").render(
        title=stats.manifest.title, course=str(stats.manifest.assignment.get("course") or ""),
        tables=[(t, Markup(t.chart()) if t.chart else "") for t in tables(stats)])


def text(stats: ClassStats) -> str:
    """The same tables for the terminal."""
    out = [f"{stats.manifest.title}: class report\n"]
    for t in tables(stats):
        if not t.head:
            continue
        out.append(f"\n{t.title}\n{t.note}\n")
        out.append(aligned(t.head, t.rows, right=t.right) if t.rows else f"({t.empty})\n")
    return "".join(out)
