"""The `calculus` builder: functions of named variables, with drawn parameters, differentiated by sympy at a point.

A template names the variables (whose values, the point, are givens like the parameters), functions as
expressions (a scalar f, a vector F as a list, and the outer function of a composition f o G, written in its own
argument names), and optionally one composition [outer, inner]. The expressions are parsed by hwgen.expr (the one
whitelisting parser) and turned into sympy; sympy differentiates (no derivative rule is written here) and writes
each step's LaTeX, so the worked key shows the symbolic derivative, then the numbers put in, then the value.

Answers: `<f>` (value at the point), `grad_<f>` (gradient, a scalar function's), `J_<F>` (Jacobian, one row per
component, a vector function's); for a composition [F, G], F's arguments are steps (G's components at the point),
F's value and derivative are taken there, and `D_<F>_<G>` = J_F J_G is the chain-rule product. Step functions
take a batch on leading axes, like every engine step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import sympy as sp

from .engine import Problem, Step
from .expr import Expr, Name, Num, Op, parse

Array = np.ndarray
REFUSED = ("relu", "max", "sum")  # expr's functions that have no place in a smooth calculus exercise

_SYMPY: dict[str, Callable[..., Any]] = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b,
    "neg": lambda a: -a, "pow": lambda a, p: a ** p, "exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt,
    "sigmoid": lambda a: 1 / (1 + sp.exp(-a)), "tanh": sp.tanh,
}


@dataclass(frozen=True)
class Function:
    """A named function: its argument names and its expression text (one, or a list for a vector function)."""

    name: str
    arguments: tuple[str, ...]
    text: str | tuple[str, ...]

    @property
    def vector(self) -> bool:
        """Whether the function has several components."""
        return isinstance(self.text, tuple)

    @property
    def texts(self) -> tuple[str, ...]:
        """The component expressions (one for a scalar function)."""
        return self.text if isinstance(self.text, tuple) else (self.text,)


@dataclass(frozen=True)
class Calculus:
    """A calculus template's declaration: the variables (in order), the functions, the composition [outer, inner]
    if any, and the parameter names (givens that are not variables)."""

    variables: tuple[str, ...]
    functions: tuple[Function, ...]
    compose: tuple[str, str] | None
    parameters: tuple[str, ...]

    def function(self, name: str) -> Function:
        """The function of this name."""
        return next(f for f in self.functions if f.name == name)

    def sympy(self, fn: Function, values: Mapping[str, float] | None = None) -> list[sp.Expr]:
        """The function's components in sympy; with `values`, the parameters put in as exact decimals."""
        names = [*self.parameters, *fn.arguments]
        exprs = [to_sympy(parse(text, names)) for text in fn.texts]
        if values is None:
            return exprs
        subs = {sp.Symbol(p): sp.Rational(repr(float(values[p]))) for p in self.parameters}
        return [e.subs(subs) for e in exprs]

    def to_json(self, trace: Mapping[str, Array]) -> dict[str, Any]:
        """The `calculus` object of `hwgen solve --json`: variables, functions with the parameters put in (Python
        and sympy syntax), each function's arguments, the point and the composition."""
        functions: dict[str, Any] = {}
        for fn in self.functions:
            texts = [sp.sstr(e) for e in self.sympy(fn, _floats(trace, self.parameters))]
            functions[fn.name] = texts if fn.vector else texts[0]
        out = {"variables": list(self.variables), "functions": functions,
               "arguments": {fn.name: list(fn.arguments) for fn in self.functions},
               "point": {v: float(trace[v]) for v in self.variables}}
        return out | ({"compose": list(self.compose)} if self.compose else {})

    def symbolic(self, trace: Mapping[str, Array]) -> dict[str, Any]:
        """The `<name>_expr` answers: each function's value and derivative as expressions of its own arguments,
        and the composition's derivative as expressions of the variables (strings, parameters put in)."""
        values = _floats(trace, self.parameters)
        out: dict[str, Any] = {}
        for fn in self.functions:
            exprs = self.sympy(fn, values)
            args = [sp.Symbol(a) for a in fn.arguments]
            out[f"{fn.name}_expr"] = [sp.sstr(e) for e in exprs] if fn.vector else sp.sstr(exprs[0])
            out[f"{_derivative_name(fn)}_expr"] = _strings(_jacobian(exprs, args), fn.vector)
        if self.compose:
            outer, inner = (self.function(n) for n in self.compose)
            put = dict(zip((sp.Symbol(a) for a in outer.arguments), self.sympy(inner, values)))
            composite = [e.subs(put, simultaneous=True) for e in self.sympy(outer, values)]
            jac = _jacobian(composite, [sp.Symbol(v) for v in self.variables])
            out[f"D_{outer.name}_{inner.name}_expr"] = _strings(jac, outer.vector)
        return out


def _floats(trace: Mapping[str, Array], names: Sequence[str]) -> dict[str, float]:
    """The named scalars of a trace as floats."""
    return {k: float(trace[k]) for k in names}


def _strings(jac: list[list[sp.Expr]], vector: bool) -> list[Any]:
    """A Jacobian's entries as sympy strings: rows for a vector function, one list (the gradient) for a scalar."""
    rows = [[sp.sstr(sp.simplify(e)) for e in row] for row in jac]
    return rows if vector else rows[0]


def _jacobian(exprs: Sequence[sp.Expr], args: Sequence[sp.Symbol]) -> list[list[sp.Expr]]:
    """d expr_i / d arg_j, one row per expression, by sympy."""
    return [[sp.diff(e, a) for a in args] for e in exprs]


def _derivative_name(fn: Function) -> str:
    """grad_<f> for a scalar function, J_<F> for a vector function."""
    return f"J_{fn.name}" if fn.vector else f"grad_{fn.name}"


def to_sympy(e: Expr) -> sp.Expr:
    """A parsed expression in sympy: numbers as exact rationals of their decimal form, names as symbols."""
    if isinstance(e, Num):
        return sp.Rational(repr(e.value))
    if isinstance(e, Name):
        return sp.Symbol(e.id)
    assert isinstance(e, Op)
    return _SYMPY[e.op](*(to_sympy(a) for a in e.args))


def _tex(expr: sp.Expr) -> str:
    """sympy's LaTeX of one expression with every symbol as a `$name` slot and products written with a dot."""
    names = {s: f"${s.name}" for s in expr.free_symbols}
    return sp.latex(expr, mul_symbol="dot", symbol_names=names)


def bracket(rows: list[list[str]], vector: bool) -> str:
    """A row (gradient) or matrix (one row per component) of LaTeX entries, as a bmatrix."""
    return r"\begin{bmatrix} " + r" \\ ".join(" & ".join(r) for r in (rows if vector else rows[:1])) + \
        r" \end{bmatrix}"


def _evaluator(rows: list[list[sp.Expr]], inputs: Sequence[str]) -> Callable[..., Array]:
    """A function of the inputs' values (in order, each a scalar or a batch on leading axes) computing the nested
    entries; constant entries are spread over the batch."""
    symbols = [sp.Symbol(n) for n in inputs]
    flat = [e for row in rows for e in row]
    funcs = [sp.lambdify(symbols, e, modules="numpy") for e in flat]
    shape = (len(rows), len(rows[0]))

    def fn(*values: Array) -> Array:
        args = [np.asarray(v, dtype=float) for v in values]
        batch = np.broadcast_shapes(*(a.shape for a in args)) if args else ()
        parts = [np.broadcast_to(np.asarray(f(*args), dtype=float), batch) for f in funcs]
        return np.stack(parts, axis=-1).reshape(*batch, *shape)
    return fn


def _step(name: str, rows: list[list[sp.Expr]], kind: str, order: Sequence[str]) -> Step:
    """A step computing nested sympy entries: kind 'scalar' (1 x 1), 'list' (one row) or 'matrix'; its inputs are
    the names the entries read, in `order`; its LaTeX is the entries' own."""
    used = {s.name for row in rows for e in row for s in e.free_symbols}
    inputs = tuple(n for n in order if n in used)
    run = _evaluator(rows, inputs)
    tex_rows = [[_tex(e) for e in row] for row in rows]
    if kind == "scalar":
        fn, tex = (lambda *v: run(*v)[..., 0, 0]), tex_rows[0][0]
    elif kind == "list":
        fn, tex = (lambda *v: run(*v)[..., 0, :]), bracket(tex_rows, False)
    else:
        fn, tex = run, bracket(tex_rows, True)
    derivative = name.startswith(("grad_", "J_"))
    return Step(name, inputs, fn, tex, "backward" if derivative else "forward", "derivative" if derivative else "node")


def calculus_problem(calc: Calculus) -> Problem:
    """The problem of a calculus declaration: given the parameters and the point (scalars), its steps are each
    function's value and derivative at the point, for a composition [F, G] F's arguments (G's components), F's
    value and derivative there, and D_F_G = J_F J_G. Raises ExpressionError for a bad expression."""
    given: dict[str, tuple[int, ...]] = {n: () for n in (*calc.parameters, *calc.variables)}
    steps: list[Step] = []
    order = list(given)
    outer = calc.function(calc.compose[0]) if calc.compose else None
    for fn in [f for f in calc.functions if f is not outer] + ([outer] if outer else []):
        exprs = calc.sympy(fn)
        if fn is outer:
            inner = calc.function(calc.compose[1])  # type: ignore[index]
            for arg, component in zip(fn.arguments, calc.sympy(inner)):
                steps.append(_step(arg, [[component]], "scalar", order))
            order += list(fn.arguments)
        steps.append(_step(fn.name, [exprs], "list" if fn.vector else "scalar", order))
        jac = _jacobian(exprs, [sp.Symbol(a) for a in fn.arguments])
        steps.append(_step(_derivative_name(fn), jac, "matrix" if fn.vector else "list", order))
    if outer:
        inner = calc.function(calc.compose[1])  # type: ignore[index]
        a, b = _derivative_name(outer), _derivative_name(inner)
        rule = "...ij,...jk->...ik" if outer.vector else "...i,...ij->...j"  # J_F J_G, or grad_f J_G
        steps.append(Step(f"D_{outer.name}_{inner.name}", (a, b), lambda x, y: np.einsum(rule, x, y),
                          rf"${a} \, ${b}", "backward", "chain_product", f"${a} @ ${b}"))
    return Problem(given, tuple(steps), samples_of=None)
