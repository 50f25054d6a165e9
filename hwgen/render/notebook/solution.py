"""The instructor's solution code: each Step written as the NumPy line a student would type.

The spelling is the step's own `code` (hwgen/engine.py and the rows of hwgen/tables.py, beside each LaTeX
formula), so the maths exists once, in the problem's layout (notation.Display.code); the tests evaluate every
line against the engine's trace.
"""

from __future__ import annotations

from string import Template
from typing import Sequence

from ...engine import Step
from ...notation import Display
from ...problem import answer_variable


def solution_lines(problem: str, steps: Sequence[Step], quantity: str, known: set[str],
                   display: Display = Display()) -> list[str]:
    """Lines computing `quantity` from the given arrays and the names in `known` (updated in place), with every
    array laid out as `display` shows it.

    Every step the quantity needs and no earlier cell computed is written out, in working order:
    `p1_Z1 = p1_X @ p1_W1 + p1_b1`, then `p1_A1 = ...`, ... and last `p1_<quantity> = ...`.
    """
    by_name = {s.name: s for s in steps}
    needed = _closure(by_name, quantity, known)
    lines = []
    for step in steps:
        if step.name in needed:
            names = {i: answer_variable(problem, i) for i in step.inputs}
            lines.append(f"{answer_variable(problem, step.name)} = {Template(display.code(step)).substitute(names)}")
            known.add(step.name)
    return lines


def _closure(by_name: dict[str, Step], quantity: str, known: set[str]) -> set[str]:
    """The steps needed for `quantity` that are not known yet (given arrays and lr are always known)."""
    needed, todo = set(), [quantity]
    while todo:
        name = todo.pop()
        if name in known or name in needed or name not in by_name:
            continue
        needed.add(name)
        todo.extend(by_name[name].inputs)
    return needed
