"""Symbolic answers (an expression, or a list or matrix of them) judged in the trusted process, never run.

A student's text is first written the way the one expression parser (hwgen.expr) reads it: `^` becomes `**` and a
number or a closing parenthesis right before a name, a number or an opening parenthesis gets a `*` (2x, 2(x + y),
(x + 1)(x - 1)). The parser then builds a tree of whitelisted nodes only (operators, numbers, the problem's
variable names, FUNCTIONS); anything else is `invalid` with what was not understood. The tree is never given to
Python or to sympy: it is evaluated with NumPy through the graph builder's op table at several random points near
the problem's point, and equivalence is agreement with the key (a sympy expression, trusted) within tolerance.
Known mistakes are keys too: the same test against each names the misconception.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

import numpy as np
import sympy as sp

from ..calculus import REFUSED, Calculus, Function
from ..expr import FUNCTIONS, Expr, ExpressionError, Name, Num, parse
from ..graph import OPS
from .verdict import NAMED, Verdict

Array = np.ndarray
STUDENT_FUNCTIONS = tuple(f for f in FUNCTIONS if f not in REFUSED)  # what a student may call
POINTS = 8  # random points an answer is compared at
NEEDED = 4  # points where the key is finite, at least
SPREAD = 1.5  # the points lie within this distance of the problem's point, per variable
RTOL, ATOL = 1e-6, 1e-9
MISTAKES = {key: what for key, (_, what) in NAMED.items() if "shape" not in key}  # key -> what the student did

_POWER = re.compile(r"\^")
# a number (not part of a name) or a closing parenthesis, then a name, a number or an opening parenthesis
_IMPLICIT = re.compile(r"((?<![A-Za-z_0-9.])\d+(?:\.\d*)?|\))\s*(?![eE][+-]?\d)(?=[A-Za-z_(]|(?<=\))\s*\d)")


def normalize(text: str) -> str:
    """A student's text as the parser reads it: ^ -> **, implicit products (2x, 2(x+1), (a)(b), (a)x) -> *."""
    return _IMPLICIT.sub(lambda m: f"{m[1]}*", _POWER.sub("**", text))


def read(text: Any, names: Sequence[str]) -> Expr:
    """The tree of one student expression over `names`; ExpressionError saying what was not understood."""
    if not isinstance(text, str):
        raise ExpressionError(f"expected an expression as text (in quotes), not {type(text).__name__}")
    return parse(normalize(text), names, STUDENT_FUNCTIONS)


def evaluate(e: Expr, values: Mapping[str, Array]) -> Array:
    """A tree's value at many points at once (each name a vector of values), by the op table's NumPy rules."""
    if isinstance(e, Num):
        return np.full(len(next(iter(values.values()))), e.value)
    if isinstance(e, Name):
        return np.asarray(values[e.id], dtype=float)
    with np.errstate(all="ignore"):
        return np.asarray(OPS[e.op].forward(*(evaluate(a, values) for a in e.args)), dtype=float)


def points(variables: Sequence[str], center: Mapping[str, float], seed: int = 0) -> dict[str, Array]:
    """POINTS random points near the problem's point (the same on every run)."""
    rng = np.random.default_rng(seed)
    return {v: float(center[v]) + rng.uniform(-SPREAD, SPREAD, POINTS) for v in variables}


def _key_values(key: sp.Expr, at: Mapping[str, Array]) -> Array:
    """The key (trusted sympy) at the points."""
    symbols = sorted(key.free_symbols, key=lambda s: s.name)
    fn = sp.lambdify(symbols, key, modules="numpy")
    with np.errstate(all="ignore"):
        return np.broadcast_to(np.asarray(fn(*(at[s.name] for s in symbols)), dtype=float), (POINTS,))


def agrees(student: Array, key: Array) -> bool | None:
    """Whether the student's values match the key's where the key is finite (None: too few such points)."""
    finite = np.isfinite(key)
    if finite.sum() < NEEDED:
        return None
    s, k = student[finite], key[finite]
    return bool(np.all(np.isfinite(s)) and np.all(np.abs(s - k) <= ATOL + RTOL * np.maximum(np.abs(k), 1.0)))


def _entries(answer: Any, shape: tuple[int, ...]) -> list[Any] | str:
    """A nested list answer of this shape, flattened; or a message saying what shape was expected."""
    if not shape:
        return [answer]
    if not isinstance(answer, (list, tuple)) or len(answer) != shape[0]:
        return f"expected a list of {shape[0]} {'lists' if len(shape) > 1 else 'expressions'}"
    out: list[Any] = []
    for item in answer:
        inner = _entries(item, shape[1:])
        if isinstance(inner, str):
            return inner
        out += inner
    return out


def read_all(answer: Any, shape: tuple[int, ...], names: Sequence[str]) -> list[Expr] | Verdict:
    """A nested answer of this shape as trees, entry by entry; or the `invalid` verdict saying what was not
    understood (before any key is worked out: text that is not an expression costs no sympy)."""
    entries = _entries(answer, shape)
    if isinstance(entries, str):
        return Verdict("invalid", entries)
    trees = []
    for k, text in enumerate(entries):
        try:
            trees.append(read(text, names))
        except ExpressionError as exc:
            where = f"entry {k + 1}: " if shape else ""
            return Verdict("invalid", f"{where}{exc} (write products with *, powers with ** or ^, e.g. 4*(2*x + 3*y))")
    return trees


def judge(answer: Any, key: Any, names: Sequence[str], at: Mapping[str, Array],
          mistakes: Mapping[str, Any] | None = None) -> Verdict:
    """A symbolic answer (an expression, or nested lists of them shaped like `key`, a nested list of sympy
    expressions) against the key and against each named mistake (same shape), at the points `at`."""
    shape = np.shape(np.asarray(key, dtype=object))
    trees = read_all(answer, shape, names)
    if isinstance(trees, Verdict):
        return trees
    values = [evaluate(t, at) for t in trees]

    def matches(target: Any) -> bool | None:
        flat = np.ravel(np.asarray(target, dtype=object))
        results = [agrees(v, _key_values(sp.Integer(e) if isinstance(e, int) else e, at)) for v, e in zip(values, flat)]
        return None if None in results else all(results)
    verdict = matches(key)
    if verdict is None:
        return Verdict("invalid", "the key is undefined near the point; this answer cannot be checked")
    if verdict:
        return Verdict("correct", "equivalent to the key")
    for name, wrong in (mistakes or {}).items():
        if np.shape(np.asarray(wrong, dtype=object)) == shape and matches(wrong):
            return Verdict("wrong", f"not equivalent to the key: {MISTAKES[name]}", name)
    return Verdict("wrong", "not equivalent to the key")


def _dummy_inner(e: sp.Expr) -> tuple[sp.Expr, sp.Expr] | None:
    """For e = g(u) with a non-trivial inner u (a power's base, a function's argument): (g(t), u) for a fresh t."""
    if isinstance(e, sp.Pow) and e.exp.is_number and not e.base.is_Symbol:
        inner = e.base
    elif isinstance(e, sp.Function) and len(e.args) == 1 and not e.args[0].is_Symbol:
        inner = e.args[0]
    else:
        return None
    t = sp.Dummy("t")
    return e.xreplace({inner: t}), inner


def missing_chain_factor(e: sp.Expr, variable: sp.Symbol) -> sp.Expr | None:
    """d e / d variable with the inner derivative forgotten: g'(u) for e = g(u) (2 (2x + 3y) for (2x + 3y)^2)."""
    split = _dummy_inner(e)
    if split is None:
        return None
    outer, inner = split
    t = next(iter(outer.free_symbols - e.free_symbols))
    return sp.diff(outer, t).xreplace({t: inner}) if inner.has(variable) else None


def other_as_function(e: sp.Expr, variable: sp.Symbol, others: Sequence[sp.Symbol]) -> sp.Expr:
    """d e / d variable with every other variable treated as a function of it whose derivative is 1 (as if y = x)."""
    funcs = {o: sp.Function(o.name)(variable) for o in others}
    total = sp.diff(e.xreplace(funcs), variable)
    return total.subs({sp.Derivative(f, variable): 1 for f in funcs.values()}).xreplace({f: o for o, f in funcs.items()})


def keys(calc: Calculus, fn: Function, values: Mapping[str, float]) -> tuple[list[list[sp.Expr]], dict[str, Any]]:
    """A function's derivative key (rows of sympy expressions in its arguments, parameters put in) and its known
    mistakes: the chain factor forgotten, the other variable treated as a function, the Jacobian transposed."""
    exprs = calc.sympy(fn, values)
    args = [sp.Symbol(a) for a in fn.arguments]
    key = [[sp.diff(e, a) for a in args] for e in exprs]
    mistakes: dict[str, Any] = {}
    chain = [[missing_chain_factor(e, a) for a in args] for e in exprs]
    if all(c is not None for row in chain for c in row):
        mistakes["missing_chain_factor"] = chain
    if len(args) > 1:
        mistakes["other_variable_as_function"] = [
            [other_as_function(e, a, [o for o in args if o != a]) for a in args] for e in exprs]
    if fn.vector and len(args) == len(exprs):
        mistakes["transposed_jacobian"] = [list(r) for r in zip(*key)]
    return key, mistakes


def judge_derivative(answer: Any, calc: Calculus, name: str, trace: Mapping[str, Array]) -> Verdict:
    """A student's symbolic grad_<f> (list) or J_<F> (rows) for function `name`, parameters from the trace."""
    fn = calc.function(name)
    shape = (len(fn.texts), len(fn.arguments)) if fn.vector else (len(fn.arguments),)
    unread = read_all(answer, shape, fn.arguments)
    if isinstance(unread, Verdict):
        return unread
    values = {p: float(trace[p]) for p in calc.parameters}
    key, mistakes = keys(calc, fn, values)
    center = {a: float(trace[a]) for a in fn.arguments}
    if not fn.vector:  # a gradient: the one row
        key, mistakes = key[0], {k: v[0] for k, v in mistakes.items()}
    return judge(answer, key, fn.arguments, points(fn.arguments, center), mistakes)


def chain_keys(calc: Calculus, values: Mapping[str, float]) -> tuple[list[list[sp.Expr]], dict[str, Any]]:
    """The composition's derivative D(F o G) as rows of expressions of the variables (DF at G times DG) and its
    known mistakes: the product taken in the wrong order (DG DF, where the shapes allow it), DF put in at x rather
    than at G(x) (where F has as many arguments as there are variables)."""
    assert calc.compose
    outer, inner = (calc.function(n) for n in calc.compose)
    variables = [sp.Symbol(v) for v in calc.variables]
    args = [sp.Symbol(a) for a in outer.arguments]
    f, g = sp.Matrix(calc.sympy(outer, values)), sp.Matrix(calc.sympy(inner, values))
    jf, jg = f.jacobian(args), g.jacobian(variables)
    at_g = jf.xreplace(dict(zip(args, g)))
    mistakes: dict[str, Any] = {}
    if jg.shape[1] == at_g.shape[0]:
        mistakes["chain_rule_order"] = (jg * at_g).tolist()
    if len(args) == len(variables):
        mistakes["outer_derivative_at_x"] = (jf.xreplace(dict(zip(args, variables))) * jg).tolist()
    return (at_g * jg).tolist(), mistakes


def judge_chain(answer: Any, calc: Calculus, trace: Mapping[str, Array]) -> Verdict:
    """A student's symbolic D_<F>_<G> (rows of expressions of the variables), parameters from the trace."""
    assert calc.compose
    outer = calc.function(calc.compose[0])
    shape = (len(outer.texts), len(calc.variables)) if outer.vector else (len(calc.variables),)
    unread = read_all(answer, shape, calc.variables)
    if isinstance(unread, Verdict):
        return unread
    key, mistakes = chain_keys(calc, {p: float(trace[p]) for p in calc.parameters})
    if not calc.function(calc.compose[0]).vector:  # a scalar outer function: D(f o G) is one row
        key, mistakes = key[0], {k: v[0] for k, v in mistakes.items()}
    center = {v: float(trace[v]) for v in calc.variables}
    return judge(answer, key, calc.variables, points(calc.variables, center), mistakes)


def _trees(answer: Any, shape: tuple[int, ...], names: Sequence[str]) -> list[Expr] | None:
    """A student's nested expressions of this shape as trees over `names` (None if any cannot be read)."""
    trees = read_all(answer, shape, names)
    return None if isinstance(trees, Verdict) else trees


def _at(trees: list[Expr], values: Mapping[str, Array], shape: tuple[int, ...]) -> Array:
    """The trees' values at the points, shaped (points, *shape)."""
    return np.stack([evaluate(t, values) for t in trees], axis=-1).reshape(-1, *shape)


def value_at(answer: Any, calc: Calculus, step: str, trace: Mapping[str, Array]) -> Array | None:
    """A student's symbolic form of step grad_<f>, J_<F> or D_<F>_<G> put in at the problem's point (for the
    outer function of a composition, at G(x)); None if it cannot be read."""
    shape = np.shape(trace[step])
    names = calc.variables if step.startswith("D_") else calc.function(step.split("_", 1)[1]).arguments
    trees = _trees(answer, shape, names)
    if trees is None:
        return None
    return _at(trees, {n: np.array([float(trace[n])]) for n in names}, shape)[0]


def own_chain(answer: Any, outer: Any, inner: Any, calc: Calculus, trace: Mapping[str, Array]) -> bool:
    """Whether a student's symbolic D(F o G) equals their own DF (at the true G(x)) times their own DG at several
    random points (error carried forward)."""
    assert calc.compose
    f, g = (calc.function(n) for n in calc.compose)
    d_shape = (len(f.texts), len(calc.variables)) if f.vector else (len(calc.variables),)
    f_shape = (len(f.texts), len(f.arguments)) if f.vector else (len(f.arguments),)
    g_shape = (len(g.texts), len(calc.variables))
    trees = [_trees(a, s, n) for a, s, n in ((answer, d_shape, calc.variables), (outer, f_shape, f.arguments),
                                             (inner, g_shape, calc.variables))]
    if any(t is None for t in trees):
        return False
    d, jf, jg = trees
    at = points(calc.variables, {v: float(trace[v]) for v in calc.variables})
    values = {p: float(trace[p]) for p in calc.parameters}
    inner_at = {a: _key_values(e, at) for a, e in zip(f.arguments, calc.sympy(g, values))}
    own = np.einsum("...ij,...jk->...ik" if f.vector else "...i,...ij->...j",
                    _at(jf, inner_at, f_shape), _at(jg, at, g_shape))  # type: ignore[arg-type]
    got = _at(d, at, d_shape)  # type: ignore[arg-type]
    results = [agrees(got[(slice(None), *i)], own[(slice(None), *i)]) for i in np.ndindex(*d_shape)]
    return all(r is True for r in results)


def number_mistakes(calc: Calculus, step: str, trace: Mapping[str, Array]) -> dict[str, Array]:
    """The named mistakes of a numeric grad_<f>, J_<F> or D_<F>_<G>, put in at the problem's point (G(x) for the
    outer function of a composition): misconception key -> the value it gives."""
    values = {p: float(trace[p]) for p in calc.parameters}
    if step.startswith("D_"):
        key, mistakes = chain_keys(calc, values)
        names: Sequence[str] = calc.variables
    else:
        fn = calc.function(step.split("_", 1)[1])
        key, mistakes = keys(calc, fn, values)
        names = fn.arguments
    subs = {sp.Symbol(n): sp.Rational(repr(float(trace[n]))) for n in names}
    shape = np.shape(trace[step])
    out = {}
    for name, rows in mistakes.items():
        value = np.asarray(sp.Matrix(rows).xreplace(subs).evalf().tolist(), dtype=float)
        if value.size == int(np.prod(shape)) and value.shape[0] == (shape[0] if len(shape) == 2 else 1):
            out[name] = value.reshape(shape)
    return out


def key_samples(calc: Calculus, name: str, trace: Mapping[str, Array], count: int = 3) -> tuple[list[dict[str, float]],
                                                                                                 list[list[float]]]:
    """The key of symbolic answer `name` (grad_<f>_expr, J_<F>_expr, D_<F>_<G>_expr) at `count` of the judging
    points where every entry is finite: the points (name -> value) and the entries there, row by row."""
    values = {p: float(trace[p]) for p in calc.parameters}
    base = name[:-len("_expr")]
    if base.startswith("D_"):
        rows, names = chain_keys(calc, values)[0], list(calc.variables)
    else:
        fn = calc.function(base.split("_", 1)[1])
        rows, names = keys(calc, fn, values)[0], list(fn.arguments)
    at = points(names, {n: float(trace[n]) for n in names})
    entries = np.stack([_key_values(e, at) for row in rows for e in row], axis=1)  # (POINTS, entries)
    good = [i for i in range(POINTS) if np.isfinite(entries[i]).all()][:count]
    return [{n: float(at[n][i]) for n in names} for i in good], [entries[i].tolist() for i in good]


def written_as_python() -> tuple[str, str]:
    """The patterns normalize() rewrites with (^, implicit products), for a notebook's own check to read the same
    way."""
    return _POWER.pattern, _IMPLICIT.pattern
