"""The report's charts as inline SVG, drawn with matplotlib's SVG backend (no browser-side code, prints as vectors).

Each chart is a `Figure` of its own (no pyplot state); text stays text (`svg.fonttype: none`), ids are salted
per chart so that several SVGs in one page never share a clip-path id, and there is no date in the output, so
the same gradebook gives the same page. Colours are told apart by hatching too, so a grey print still reads.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Sequence

from .stats import ItemStats

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# status -> (label, colour, hatch); the order is the bars' order
OUTCOMES: dict[str, tuple[str, str, str]] = {
    "correct": ("correct", "#1a7f37", ""),
    "correct_ecf": ("correct (carried forward)", "#7fd39b", "//"),
    "partial": ("partly correct", "#d4a72c", ".."),
    "wrong": ("wrong", "#cf222e", "xx"),
    "missing": ("missing", "#afb8c1", "--"),
    "invalid": ("cannot be graded", "#6e7781", "\\\\"),
}
GOOD_DISCRIMINATION = 0.2  # a common rule of thumb: items below it separate strong from weak students poorly
WIDTH = 7.5  # inches: fits a printed page


def _svg(figure: Figure, salt: str) -> str:
    """The figure as an <svg> element for inlining: no XML prolog, scaled by CSS (viewBox kept)."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}):
        figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    return re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1 role="img" aria-label="' + salt + '"', text, 1)


def _figure(height: float) -> tuple[Figure, Axes]:
    """A figure with one axes, WIDTH wide (matplotlib is imported only when a chart is drawn)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, height))
    return figure, figure.add_subplot()


def score_histogram(scores: Sequence[float], most: float) -> str:
    """How many students scored in each tenth of the maximum."""
    from matplotlib.ticker import MaxNLocator

    figure, ax = _figure(2.8)
    edges = [most * k / 10 for k in range(11)]
    ax.hist(list(scores), bins=edges, color="#0969da", edgecolor="white", hatch="//")
    ax.set_xlabel(f"score (of {most:g}, after overrides and late penalties)")
    ax.set_ylabel("students")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(figure, "score distribution")


def item_outcomes(items: Sequence[ItemStats]) -> str:
    """One stacked bar per item: the share of graded students with each outcome."""
    figure, ax = _figure(0.9 + 0.28 * len(items))
    labels = [item.label for item in items][::-1]
    left = [0.0] * len(items)
    shown = [status for status in OUTCOMES if any(item.counts.get(status) for item in items)]
    for status in shown:
        label, colour, hatch = OUTCOMES[status]
        shares = [100 * item.share(status) for item in items][::-1]
        ax.barh(labels, shares, left=left, label=label, color=colour, hatch=hatch, edgecolor="white", linewidth=0.5)
        left = [a + b for a, b in zip(left, shares)]
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of graded students")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=max(1, len(shown)), frameon=False,
              fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(figure, "item outcomes")


def discrimination(items: Sequence[ItemStats]) -> str:
    """Each item's corrected point-biserial correlation (purple; red below the rule-of-thumb line)."""
    figure, ax = _figure(0.9 + 0.28 * len(items))
    shown = items[::-1]
    values = [item.discrimination if item.discrimination is not None else 0.0 for item in shown]
    colours = ["#8250df" if v >= GOOD_DISCRIMINATION else "#cf222e" for v in values]
    ax.barh([item.label for item in shown], values, color=colours)
    ax.axvline(GOOD_DISCRIMINATION, color="#222", linestyle="--", linewidth=1)
    ax.axvline(0, color="#222", linewidth=0.8)
    ax.set_xlim(min(-0.2, *values), 1)
    ax.set_xlabel("corrected point-biserial correlation (dashed: 0.2)")
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(figure, "item discrimination")
