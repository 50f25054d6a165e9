"""A graph template's circuit diagram, as CS231n's notes draw one: gates left to right, each wire carrying its
value above and (in the key) the gradient of the output with respect to it below.

Columns are the gates' depths (a given stands one column before its first reader, so its wire stays short);
within a column gates sit near the mean height of the wires they join (a few sweeps of the barycentre rule,
then pushed apart to ROW_GAP). A gate that applies one op to names draws the op (+, x, sigma, 1/x, ...);
a longer rule is written out in a box. Per-sample graphs draw sample 1 (the worked steps give every sample).
"""

from __future__ import annotations

from functools import lru_cache
from string import Template as Slots
from typing import Any, Callable

import numpy as np

from ..bank import Template
from ..expr import Expr, Name, Num, Op, names_in, parse
from ..numfmt import tex_array
from ..variant import Variant

COLUMN_STEP = 2.9  # cm between columns of gates
GATE_RADIUS = 0.35  # cm; a given's name ends where a gate's circle would
STUB = 1.3  # cm: the wire out of a gate, before it turns to its readers; its value above, its gradient below
ROW_GAP = 1.5  # cm between gates of a column, at least (a name above, a value and a gradient beside each)
SWEEPS = 4  # barycentre sweeps, each forward and back
GLYPHS = {"add": "+", "sub": "-", "mul": r"\times", "div": r"\div", "neg": "-x", "exp": r"\exp", "log": r"\log",
          "sqrt": r"\sqrt{x}", "sigmoid": r"\sigma", "tanh": r"\tanh", "relu": r"\mathrm{ReLU}", "max": r"\max",
          "sum": r"\Sigma"}
WITH_NUMBER = {"add": "+{c}", "sub": "-{c}", "mul": r"\times {c}", "div": "/{c}", "pow": "x^{{{c}}}"}  # x op c
NUMBER_FIRST = {"add": "+{c}", "sub": "{c}-x", "mul": r"\times {c}", "div": "{c}/x"}  # c op x


def _glyph(e: Expr) -> str | None:
    """What a gate shows: its op when it applies one op to names (and at most one number); None for a longer
    rule (written out in a box)."""
    if isinstance(e, Name):
        return "="
    if not isinstance(e, Op) or not all(isinstance(a, (Name, Num)) for a in e.args):
        return None
    numbers = [a.value for a in e.args if isinstance(a, Num)]
    if not numbers:
        return GLYPHS.get(e.op)
    if len(numbers) > 1:
        return None
    table = NUMBER_FIRST if isinstance(e.args[0], Num) else WITH_NUMBER
    return table[e.op].format(c=f"{numbers[0]:g}") if e.op in table else None


@lru_cache(maxsize=64)
def _nodes(t: Template) -> dict[str, Expr]:
    """A graph template's nodes' expressions, in order."""
    assert t.graph
    return {name: parse(text, [*t.problem.given, *[n for n, _ in t.graph.nodes]]) for name, text in t.graph.nodes}


@lru_cache(maxsize=64)
def layout(t: Template) -> tuple[dict[str, tuple[float, float]], dict[tuple[str, str], tuple[tuple[float, float], ...]]]:
    """Where each given and node sits (cm), by name; and per wire (from, to) that skips columns, the heights where
    it crosses each column between, kept clear of gates and numbers like a gate of its own."""
    given = list(t.problem.given)
    reads = {name: list(dict.fromkeys(names_in(e))) for name, e in _nodes(t).items()}
    depth: dict[str, int] = {}
    for name, inputs in reads.items():
        depth[name] = 1 + max((depth.get(k, 0) for k in inputs), default=0)
    readers = {k: [n for n, inputs in reads.items() if k in inputs] for k in [*given, *reads]}
    for k in given:
        depth[k] = min((depth[n] for n in readers[k]), default=1) - 1
    ins: dict[str, list[str]] = {k: [] for k in depth}
    outs: dict[str, list[str]] = {k: [] for k in depth}
    passes: dict[tuple[str, str], list[str]] = {}
    for n, inputs in reads.items():
        for k in inputs:
            chain = [k, *(f"{k}>{n}@{c}" for c in range(depth[k] + 1, depth[n])), n]
            passes[k, n] = chain[1:-1]
            for c, v in enumerate(chain[1:-1], depth[k] + 1):
                depth[v], ins[v], outs[v] = c, [], []
            for u, v in zip(chain, chain[1:]):
                outs[u].append(v)
                ins[v].append(u)
    columns: list[list[str]] = [[] for _ in range(max(depth.values()) + 1)]
    for v in depth:
        columns[depth[v]].append(v)
    y = {v: float(i) * ROW_GAP for column in columns for i, v in enumerate(column)}
    for _ in range(SWEEPS):
        for order, neighbours in ((columns, ins), (columns[::-1], outs)):
            for column in order:
                _place(column, y, neighbours)
    top = max(y.values())
    at = {v: (depth[v] * COLUMN_STEP, top - y[v]) for v in y}
    return ({k: at[k] for k in [*given, *reads]},
            {wire: tuple(at[v] for v in chain) for wire, chain in passes.items() if chain})


def _place(column: list[str], y: dict[str, float], neighbours: dict[str, list[str]]) -> None:
    """Move a column's gates towards the mean height of their neighbours, in that order, at least ROW_GAP apart."""
    wanted = {k: float(np.mean([y[n] for n in neighbours[k]])) if neighbours[k] else y[k] for k in column}
    column.sort(key=lambda k: wanted[k])
    placed: list[float] = []
    for k in column:
        placed.append(wanted[k] if not placed else max(wanted[k], placed[-1] + ROW_GAP))
    shift = float(np.mean([wanted[k] - p for k, p in zip(column, placed)]))
    for k, p in zip(column, placed):
        y[k] = p + shift


def circuit(variant: Variant, symbol: Callable[[str], str], values: bool) -> dict[str, Any]:
    """The circuit of one variant: gates (name, position, glyph or rule), wires, and the numbers on each gate's
    output wire: the given values only, or (values=True) every value above and its gradient below."""
    t = variant.template
    assert t.graph
    at, bends = layout(t)
    nodes = _nodes(t)
    forward = {s.name: s for s in t.problem.steps if s.phase == "forward"}

    def first(name: str) -> str:
        """A quantity's value (sample 1's, if per sample) as LaTeX, a computed one with all its digits."""
        value = np.asarray(variant.trace[name], dtype=float).flat[0]
        return tex_array(np.asarray(value), t.significant, zeros=name not in t.problem.given)
    gates: list[dict[str, Any]] = []
    for k, (x, y) in at.items():
        is_given = k in t.problem.given
        glyph = "" if is_given else _glyph(nodes[k])
        rule = "" if is_given or glyph else Slots(forward[k].tex).substitute({n: symbol(n) for n in forward[k].inputs})
        gates.append({"id": f"g{len(gates)}", "name": k, "x": f"{x:.2f}", "y": f"{y:.2f}", "symbol": symbol(k),
                      "east": f"{x + GATE_RADIUS:.2f}", "given": is_given, "glyph": glyph or "", "rule": rule,
                      "value": first(k) if values or is_given else "", "grad": first(f"d{k}") if values else ""})
    ids = {g["name"]: g["id"] for g in gates}
    wires = [(ids[k], [(f"{x - GATE_RADIUS:.2f}", f"{y:.2f}", f"{x + GATE_RADIUS + STUB:.2f}")
                       for x, y in bends.get((k, n), ())], ids[n])
             for n, e in nodes.items() for k in dict.fromkeys(names_in(e))]
    return {"gates": gates, "wires": wires}
