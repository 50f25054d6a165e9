"""The `graph` builder: named nodes as expressions of given quantities and earlier nodes, and their gradients.

Every op is one table row (micrograd style): its forward rule, its local derivative with respect to each
argument (as expressions of the arguments), its LaTeX and its NumPy code. A node's gradient d<name> is built by
reverse accumulation: the sum, over every node that reads it, of that node's gradient times the node's local
derivative (the chain rule through the node's expression); a scalar read by a per-sample node sums over the
samples. The forward steps and the gradient steps are both expressions, so their values, LaTeX and NumPy code
all come from the same tree.

Quantities are scalars () or one number per sample (n,). Step functions also take a batch on leading axes (the
rounding analysis moves many entries at once): a scalar meets a per-sample value on a new last axis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from .engine import Problem, Step
from .expr import FUNCTIONS, Expr, ExpressionError, Name, Num, Op, names_in, parse
from .tables import ACTIVATIONS, exp, log

Array = np.ndarray
Args = tuple[Expr, ...]


@dataclass(frozen=True)
class Row:
    """An op: forward(*values), local derivatives (of the op's value w.r.t. each argument, as expressions of the
    arguments), LaTeX and NumPy code from the arguments' spellings, and its precedence (5: a function call)."""

    forward: Callable[..., Array]
    local: Callable[[Args], Args]
    tex: Callable[..., str]
    code: Callable[..., str]
    precedence: int = 5


def _op(name: str, *args: Expr) -> Expr:
    """An op of these arguments, with the obvious simplifications (0 + a, 1 * a, numbers folded)."""
    if all(isinstance(a, Num) for a in args) and name in ("add", "sub", "mul", "div", "neg"):
        return Num(float(OPS[name].forward(*(np.float64(a.value) for a in args))))  # type: ignore[union-attr]
    if name == "add":
        a, b = args
        return b if a == Num(0.0) else a if b == Num(0.0) else Op(name, args)
    if name == "sub":
        a, b = args
        return a if b == Num(0.0) else _op("neg", b) if a == Num(0.0) else Op(name, args)
    if name == "mul":
        a, b = args
        if Num(0.0) in args:
            return Num(0.0)
        if Num(-1.0) in args:
            return _op("neg", b if a == Num(-1.0) else a)
        return b if a == Num(1.0) else a if b == Num(1.0) else Op(name, args)
    if name == "neg" and isinstance(args[0], Op) and args[0].op == "neg":
        return args[0].args[0]
    if name == "pow" and args[1] in (Num(0.0), Num(1.0)):
        return Num(1.0) if args[1] == Num(0.0) else args[0]
    return Op(name, args)


OPS: dict[str, Row] = {
    "add": Row(np.add, lambda a: (Num(1.0), Num(1.0)), lambda a, b: f"{a} + {b}", lambda a, b: f"{a} + {b}", 1),
    "sub": Row(np.subtract, lambda a: (Num(1.0), Num(-1.0)), lambda a, b: f"{a} - {b}", lambda a, b: f"{a} - {b}", 1),
    "mul": Row(np.multiply, lambda a: (a[1], a[0]), lambda a, b: rf"{a} \cdot {b}", lambda a, b: f"{a} * {b}", 2),
    "div": Row(np.divide, lambda a: (_op("div", Num(1.0), a[1]), _op("neg", _op("div", a[0], _op("pow", a[1], Num(2.0))))),
               lambda a, b: rf"\frac{{{a}}}{{{b}}}", lambda a, b: f"{a} / {b}", 2),
    "neg": Row(np.negative, lambda a: (Num(-1.0),), lambda a: f"-{a}", lambda a: f"-{a}", 3),
    "pow": Row(np.power, lambda a: (_op("mul", a[1], _op("pow", a[0], Num(a[1].value - 1.0))), Num(0.0)),  # type: ignore[union-attr]
               lambda a, p: f"{a}^{{{p}}}", lambda a, p: f"{a} ** {p}", 4),
    "exp": Row(exp, lambda a: (Op("exp", a),), lambda a: rf"\exp({a})", lambda a: f"np.exp({a})"),
    "log": Row(log, lambda a: (_op("div", Num(1.0), a[0]),), lambda a: rf"\log({a})", lambda a: f"np.log({a})"),
    "sqrt": Row(np.sqrt, lambda a: (_op("div", Num(0.5), Op("sqrt", a)),), lambda a: rf"\sqrt{{{a}}}",
                lambda a: f"np.sqrt({a})"),
    "sigmoid": Row(ACTIVATIONS["sigmoid"].fn,
                   lambda a: (_op("mul", Op("sigmoid", a), _op("sub", Num(1.0), Op("sigmoid", a))),),
                   lambda a: rf"\sigma({a})", lambda a: f"1 / (1 + np.exp(-({a})))"),
    "tanh": Row(ACTIVATIONS["tanh"].fn, lambda a: (_op("sub", Num(1.0), _op("pow", Op("tanh", a), Num(2.0))),),
                lambda a: rf"\tanh({a})", lambda a: f"np.tanh({a})"),
    "relu": Row(ACTIVATIONS["relu"].fn, lambda a: (Op("step", a),), lambda a: rf"\max(0, {a})",
                lambda a: f"np.maximum({a}, 0)"),
    "max": Row(np.maximum, lambda a: (Op("gt", a), Op("gt", (a[1], a[0]))), lambda a, b: rf"\max({a}, {b})",
               lambda a, b: f"np.maximum({a}, {b})"),
    "sum": Row(lambda a: a.sum(axis=-1), lambda a: (Num(1.0),), lambda a: rf"\textstyle\sum_{{i}} {a}",
               lambda a: f"np.sum({a})"),
    # only in derivatives: relu's and max's
    "step": Row(lambda a: (a > 0).astype(float), lambda a: (Num(0.0),), lambda a: f"[{a} > 0]", lambda a: f"({a} > 0)"),
    "gt": Row(lambda a, b: (a > b).astype(float), lambda a: (Num(0.0), Num(0.0)), lambda a, b: f"[{a} > {b}]",
              lambda a, b: f"({a} > {b})"),
}
assert set(FUNCTIONS) <= set(OPS)
ACTIVATION_OPS = ("sigmoid", "tanh", "relu", "exp")  # a node applying one of these to a name: its input is checked


@dataclass(frozen=True)
class Graph:
    """A graph template's declaration: nodes (name, expression text) in order, the output node, and which given
    names hold one number per sample."""

    nodes: tuple[tuple[str, str], ...]
    output: str
    per_sample: tuple[str, ...] = ()

    def to_json(self) -> dict:
        """The `graph` object of `hwgen solve --json`: node expressions in order and the output."""
        return {"nodes": {name: text for name, text in self.nodes}, "output": self.output}


class _Shapes:
    """Which quantities hold one number per sample (all others are scalars)."""

    def __init__(self, per_sample: set[str]) -> None:
        self.per_sample = per_sample

    def of(self, e: Expr) -> bool:
        """Whether an expression is per sample: it reads a per-sample name outside a sum."""
        if isinstance(e, Name):
            return e.id in self.per_sample
        if isinstance(e, Op):
            return e.op != "sum" and any(self.of(a) for a in e.args)
        return False


def derivative(e: Expr, x: str, shapes: _Shapes, rows: Mapping[str, Row] = OPS) -> Expr:
    """d e / d x by the chain rule through e's ops, each op's local derivatives read from `rows` (the op table, or
    a student's wrong version of it); per sample where both are per sample, and a sum over the samples of a
    per-sample expression gives a scalar x the sum of its terms."""
    if isinstance(e, Num):
        return Num(0.0)
    if isinstance(e, Name):
        return Num(1.0 if e.id == x else 0.0)
    inner = [derivative(a, x, shapes, rows) for a in e.args]
    if e.op == "sum":
        return inner[0] if x in shapes.per_sample or inner[0] == Num(0.0) else _op("sum", inner[0])
    total: Expr = Num(0.0)
    for local, d in zip(rows[e.op].local(e.args), inner):
        total = _op("add", total, _op("mul", local, d))
    return total


def _outer(op: str, k: int, tex: bool) -> int:
    """The precedence argument k of op is rendered inside: parentheses where it binds less tightly."""
    prec = OPS[op].precedence
    if prec == 5 or (tex and op == "div"):  # a call's arguments and a fraction's parts need none
        return 0
    if op == "pow":
        return 5 if k == 0 else 0
    return prec + (k > 0 and prec in (1, 2))  # a - (b - c), a / (b * c)


def _render(e: Expr, tex: bool, outer: int = 0) -> str:
    """An expression in LaTeX or NumPy with `$name` slots, parenthesised where precedence needs."""
    if isinstance(e, Num):
        text = f"{e.value:g}"
        return f"({text})" if e.value < 0 and outer > 0 else text
    if isinstance(e, Name):
        return f"${e.id}"
    row = OPS[e.op]
    args = [_render(a, tex, _outer(e.op, k, tex)) for k, a in enumerate(e.args)]
    text = (row.tex if tex else row.code)(*args)
    return f"({text})" if row.precedence < outer else text


def _evaluator(e: Expr, inputs: Sequence[str], shapes: _Shapes) -> Callable[..., Array]:
    """A function of the inputs' values (in order) computing e; a scalar meeting a per-sample value gets a new last
    axis, so a batch of either on leading axes works."""
    where = {n: k for k, n in enumerate(inputs)}
    if isinstance(e, Num):
        return lambda *values: np.asarray(e.value)

    def run(node: Expr, values: tuple[Array, ...]) -> tuple[Array, bool]:
        if isinstance(node, Num):
            return np.asarray(node.value), False
        if isinstance(node, Name):
            return np.asarray(values[where[node.id]], dtype=float), node.id in shapes.per_sample
        parts = [run(a, values) for a in node.args]
        per = any(p for _, p in parts)
        if node.op == "sum":
            return parts[0][0].sum(axis=-1) if parts[0][1] else parts[0][0], False
        args = [v[..., None] if per and not p and v.ndim else v for v, p in parts]
        return np.asarray(OPS[node.op].forward(*args), dtype=float), per

    def fn(*values: Array) -> Array:
        return run(e, values)[0]
    return fn


def _step(name: str, e: Expr, phase: str, shapes: _Shapes, role: str = "node", op: str = "",
          samples: int | None = None) -> Step:
    """A step computing e, its LaTeX and NumPy code from the same tree; with `samples`, a result that is the same
    for every sample is repeated once per sample (the gradient of a per-sample quantity has its shape)."""
    inputs = tuple(names_in(e))
    tex, code = _render(e, True), _render(e, False)
    run = _evaluator(e, inputs, shapes)
    fn = run
    if samples and not shapes.of(e):
        def fn(*values: Array) -> Array:
            r = run(*values)
            return np.broadcast_to(r[..., None], (*r.shape, samples)).copy()
        code = f"np.full({samples}, {code})"
    return Step(name, inputs, fn, tex, phase, role, code, op)  # type: ignore[arg-type]


def _named(e: Expr, nodes: Mapping[Expr, str]) -> Expr:
    """e with every part that is some node's whole expression replaced by that node's name (sigma(a) -> f)."""
    if e in nodes:
        return Name(nodes[e])
    return Op(e.op, tuple(_named(a, nodes) for a in e.args)) if isinstance(e, Op) else e


class Backward:
    """A graph's parsed nodes and its gradient steps by reverse accumulation: d<x> is the sum, over the nodes c
    that read x (its consumers), of d<c> times c's local derivative with respect to x."""

    def __init__(self, graph: Graph, given: Mapping[str, tuple[int, ...]]) -> None:
        """Parse the nodes in order over the given names (name -> shape, () or (n,)). Raises ExpressionError."""
        self.graph, self.shapes = graph, _Shapes({k for k, s in given.items() if s})
        self.given = tuple(given)
        self.exprs: dict[str, Expr] = {}
        for name, text in graph.nodes:
            e = parse(text, [*given, *self.exprs])
            _check_sums(e, self.shapes, name)
            self.exprs[name] = e
            if self.shapes.of(e):
                self.shapes.per_sample.add(name)
        self.shapes.per_sample |= {f"d{n}" for n in self.shapes.per_sample}  # a gradient has its quantity's shape
        self.samples = max((s[0] for s in given.values() if s), default=None)
        self.by_expr: dict[Expr, str] = {e: n for n, e in self.exprs.items() if isinstance(e, Op)}

    def forward(self) -> list[Step]:
        """The node steps in order (role activation for a function applied to a name, with the function as op)."""
        steps = []
        for name, e in self.exprs.items():
            top = e.op if isinstance(e, Op) and e.op in ACTIVATION_OPS and isinstance(e.args[0], Name) else ""
            steps.append(_step(name, e, "forward", self.shapes, "activation" if top else "node", top))
        return steps

    @property
    def order(self) -> list[str]:
        """The quantities whose gradients follow d<output>, in working order: nodes backwards, then the given."""
        return [n for n, _ in reversed(self.graph.nodes) if n != self.graph.output] + list(self.given)

    def consumers(self, x: str) -> list[str]:
        """The nodes that read x, in order."""
        return [c for c, e in self.exprs.items() if x in names_in(e)]

    def term(self, x: str, c: str, rows: Mapping[str, Row] = OPS) -> Expr:
        """d<c> times c's local derivative with respect to x (its parts named by the nodes that compute them),
        summed over the samples where x is one number and the term one per sample."""
        term = _op("mul", Name(f"d{c}"), _named(derivative(self.exprs[c], x, self.shapes, rows), self.by_expr))
        return _op("sum", term) if x not in self.shapes.per_sample and self.shapes.of(term) else term

    def step(self, x: str, terms: Sequence[Expr] | None = None) -> Step:
        """The step d<x> adding up `terms` (default: every consumer's term): d<output> = 1 for the output."""
        if x == self.graph.output:
            return _step(f"d{x}", Num(1.0), "backward", self.shapes, "node_grad", samples=self._samples(x))
        total: Expr = Num(0.0)
        for term in [self.term(x, c) for c in self.consumers(x)] if terms is None else terms:
            total = _op("add", total, term)
        return _step(f"d{x}", total, "backward", self.shapes, "node_grad", samples=self._samples(x))

    def _samples(self, x: str) -> int | None:
        """The number of samples if x is per sample (its gradient then has one number per sample), else None."""
        return self.samples if x in self.shapes.per_sample else None


def graph_problem(graph: Graph, given: Mapping[str, tuple[int, ...]]) -> Problem:
    """The problem of a graph: node steps in order, then d<output> = 1 and every other node's and given's gradient
    by reverse accumulation. `given` maps each given name to its shape, () or (n,). Raises ExpressionError."""
    back = Backward(graph, given)
    steps = [*back.forward(), back.step(graph.output), *(back.step(x) for x in back.order)]
    return Problem(dict(given), tuple(steps), samples_of=None)


def _check_sums(e: Expr, shapes: _Shapes, node: str) -> None:
    """sum(...) adds up one number per sample: its argument must be per sample."""
    if isinstance(e, Op):
        if e.op == "sum" and not shapes.of(e.args[0]):
            raise ExpressionError(f"node {node}: sum(...) adds up a per-sample quantity; its argument holds one number")
        for a in e.args:
            _check_sums(a, shapes, node)


def unused(graph: Graph, given: Sequence[str]) -> list[str]:
    """Given names and nodes that the output does not depend on (their gradient would be 0 by construction)."""
    reads = {name: set(names_in(parse(text, [*given, *[n for n, _ in graph.nodes]]))) for name, text in graph.nodes}
    needed, todo = set(), [graph.output]
    while todo:
        n = todo.pop()
        if n not in needed:
            needed.add(n)
            todo.extend(reads.get(n, ()))
    return [n for n in [*given, *reads] if n not in needed]


def local_derivatives(graph: Graph, given: Mapping[str, tuple[int, ...]]) -> dict[str, tuple[tuple[str, str], ...]]:
    """Each node's local derivatives, micrograd's view: per name the node's expression reads, (name, LaTeX of
    d node / d name with `$name` slots), parts that are another node's whole expression written as its name."""
    back = Backward(graph, given)
    exprs, shapes, by_expr = back.exprs, back.shapes, back.by_expr
    return {name: tuple((x, _render(_named(derivative(e, x, shapes), by_expr), True)) for x in dict.fromkeys(names_in(e)))
            for name, e in exprs.items()}
