"""A variant's worked steps, as every renderer reads them: formula, formula with numbers, result (display form)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from string import Template as Slots
from typing import Callable, Iterator

import numpy as np

from ..bank import Template
from ..engine import Step
from ..variant import Variant

Array = np.ndarray

SLOT = re.compile(r"\$([_a-zA-Z][_a-zA-Z0-9]*)")  # string.Template's $name
ENCLOSING = ((r"\left(", r"\right)"), ("(", ")"))  # a slot's own parentheses: a negative number needs no more
PHASES = {"forward": "Forward pass", "loss": "Loss", "backward": "Backward pass", "update": "One SGD step"}


@dataclass(frozen=True)
class Worked:
    """One step of the worked solution: symbols put into the formula, numbers put in, and the display result."""

    step: Step
    points: float | None  # None when the step is not asked
    formula: str
    numbers: str
    result: Array


def worked_steps(variant: Variant, symbol: Callable[[str], str], number: Callable[[Array], str],
                 style: Callable[[str], str] = str, given: Callable[[Array], str] | None = None) -> Iterator[Worked]:
    """Each step in working order; `symbol(name)` and `number(display value)` fill the formula's slots (and
    `given(display value)`, if given, those of the given numbers, lr and n).

    `style` may restyle a formula before its slots are filled (e.g. LaTeX parentheses that grow).
    A negative scalar put into a formula gets parentheses: 2 (-0.5) rather than 2 -0.5, but sigma(-0.5) keeps one pair.
    """
    t, trace, show = variant.template, variant.trace, variant.template.display
    written: dict[str, str] = {}  # each value is written once, however many formulas it goes into
    enclosed: dict[str, str] = {}  # the same without parentheses, for a slot that has its own: sigma((-2.5)) no more
    for step, pattern, slots, formula in _plan(t, symbol, style):
        for k in slots:
            if k not in written:
                value = show.value(trace[k], k)
                enclosed[k] = (given if given and k in t.problem.inputs else number)(value)
                written[k] = f"({enclosed[k]})" if value.ndim == 0 and value < 0 else enclosed[k]
        numbers = pattern.substitute({k: written[k] for k in slots})
        for k in (k for k in slots if written[k] != enclosed[k]):
            for left, right in ENCLOSING:
                numbers = numbers.replace(f"{left}{written[k]}{right}", f"{left}{enclosed[k]}{right}")
        yield Worked(step, t.asked.get(step.name), formula, numbers, show.value(trace[step.name], step.name))


@lru_cache(maxsize=256)  # the same for every student of a template: per (template, symbol, style), made once
def _plan(t: Template, symbol: Callable[[str], str], style: Callable[[str], str]) -> tuple[tuple[Step, Slots,
                                                                                               tuple[str, ...], str], ...]:
    """Per step of the template: its styled formula as a pattern, the slots it fills, and the formula with the
    symbols put in."""
    plan = []
    for step in t.steps:
        pattern = Slots(style(t.display.formula(step)))
        named = set(SLOT.findall(pattern.template))
        slots = tuple(k for k in dict.fromkeys((*step.inputs, "n", "lr")) if k in named)
        plan.append((step, pattern, slots, pattern.substitute({k: symbol(k) for k in slots})))
    return tuple(plan)
