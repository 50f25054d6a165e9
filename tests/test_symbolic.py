"""Symbolic answers judged without running student text: equivalent forms, wrong ones with the mistake named,
what is not understood as `invalid` with a message, and a hostile-string suite refused by the parser before
anything is evaluated (counted, not timed)."""

from __future__ import annotations

import builtins

import numpy as np
import pytest
import sympy

from hwgen import bank, expr
from hwgen.grade import symbolic
from hwgen.grade.symbolic import MISTAKES, judge_chain, judge_derivative, normalize
from hwgen.variant import solve_variant


def _variant(name: str, **values: float):
    """The template solved on these scalar givens: (calculus declaration, trace)."""
    t = bank.load(name)
    return t.calculus, solve_variant(t, {k: np.asarray(float(v)) for k, v in values.items()}, seed=None).trace


QUAD = dict(a=2, b=3, x=1, y=2)
JAC = dict(a=2, b=3, c=4, x=1, y=2)
CHAIN = dict(a=2, b=3, c=4, x=2)


@pytest.mark.parametrize("answer", [
    ["4*(2*x + 3*y)", "6*(2*x + 3*y)"], ["8x + 12y", "6(2x + 3y)"], ["8*x+12*y", "18*y + 12*x"],
    ["2*(2*x + 3*y)^1*2", "2 * 3 * (3y + 2x)"], ["(2x+3y)*4", "(2x + 3y)(6)"], ["4*(2*x + 3*y) + 0*x", "6*(2x+3y)"],
])
def test_equivalent_gradients_in_other_forms_are_correct(answer):
    calc, trace = _variant("gradient_quadratic", **QUAD)
    v = judge_derivative(answer, calc, "f", trace)
    assert (v.status, v.misconception) == ("correct", None), v


@pytest.mark.parametrize("answer, misconception", [
    (["2*(2*x + 3*y)", "2*(2*x + 3*y)"], "missing_chain_factor"),
    (["10*(2*x + 3*y)", "10*(2*x + 3*y)"], "other_variable_as_function"),
    (["4*(2*x + 3*y)", "6*(2*x + 3*y) + 1"], None),
    (["4*x", "6*y"], None),
])
def test_wrong_gradients_are_wrong_with_the_mistake_named(answer, misconception):
    calc, trace = _variant("gradient_quadratic", **QUAD)
    v = judge_derivative(answer, calc, "f", trace)
    assert v.status == "wrong"
    assert v.misconception == misconception
    assert misconception is None or MISTAKES[misconception] in v.message


def test_jacobian_right_and_transposed():
    calc, trace = _variant("jacobian_2x2", **JAC)
    assert judge_derivative([["2x", "2"], ["3", "8y"]], calc, "F", trace).status == "correct"
    v = judge_derivative([["2x", "3"], ["2", "8y"]], calc, "F", trace)
    assert v.status == "wrong" and v.misconception == "transposed_jacobian" and "transposed" in v.message
    assert judge_derivative([["2x", "2"]], calc, "F", trace).status == "invalid"


def test_chain_rule_symbolic():
    calc, trace = _variant("chain_rule", **CHAIN)
    assert judge_chain([["6x"], ["16x^3 + 3"]], calc, trace).status == "correct"
    assert judge_chain([["2*x + 2*2*x"], ["3 + 8*x**2*2*x"]], calc, trace).status == "correct"
    assert judge_chain([["6x"], ["16x^3"]], calc, trace).status == "wrong"


SQUARE = """\
name: square_chain
description: a composition of two maps of the plane
calculus:
  variables: [x, y]
  functions:
    G: [x*y, x + y**2]
    F: {arguments: [u, v], value: [u**2 + v, u*v]}
  compose: [F, G]
given:
  x: {values: [1]}
  y: {values: [2]}
asked:
  D_F_G: 1
rounding:
  significant: 4
"""


def test_chain_rule_in_the_wrong_order_and_at_the_wrong_point(tmp_path):
    path = tmp_path / "square_chain.yaml"
    path.write_text(SQUARE)
    t = bank.load(path)
    trace = solve_variant(t, {"x": np.asarray(1.0), "y": np.asarray(2.0)}, seed=None).trace
    x, y = sympy.symbols("x y")
    g = sympy.Matrix([x * y, x + y ** 2])
    u, v = sympy.symbols("u v")
    jf = sympy.Matrix([u ** 2 + v, u * v]).jacobian([u, v])
    right = jf.subs({u: g[0], v: g[1]}, simultaneous=True) * g.jacobian([x, y])
    wrong = g.jacobian([x, y]) * jf.subs({u: g[0], v: g[1]}, simultaneous=True)
    at_x = jf.subs({u: x, v: y}, simultaneous=True) * g.jacobian([x, y])
    text = lambda m: [[str(sympy.expand(e)) for e in row] for row in m.tolist()]  # noqa: E731
    assert np.allclose(np.asarray(right.subs({x: 1, y: 2}), dtype=float), trace["D_F_G"])
    assert judge_chain(text(right), t.calculus, trace).status == "correct"
    order = judge_chain(text(wrong), t.calculus, trace)
    assert order.status == "wrong" and order.misconception == "chain_rule_order" and "wrong order" in order.message
    point = judge_chain(text(at_x), t.calculus, trace)
    assert point.status == "wrong" and point.misconception == "outer_derivative_at_x"
    assert "at x instead of at G(x)" in point.message


@pytest.mark.parametrize("answer, says", [
    (["xy", "1"], "unknown name 'xy'; the names here are x, y"),
    (["x(y + 1)", "1"], "only these functions may be called: exp, log, sqrt, sigmoid, tanh"),
    (["relu(x)", "1"], "only these functions"),
    (["4*(2*x + 3*y", "1"], "not an expression"),
    (["x ** y", "1"], "exponent must be a number"),
    ("4*(2*x + 3*y)", "a list of 2 expressions"),
    ([4, "1"], "as text"),
    (["", "1"], "not an expression"),
])
def test_what_is_not_understood_is_invalid_with_a_message(answer, says):
    calc, trace = _variant("gradient_quadratic", **QUAD)
    v = judge_derivative(answer, calc, "f", trace)
    assert v.status == "invalid" and says in v.message, v


def test_normalize_writes_powers_and_implicit_products():
    assert normalize("2x^2 + 3(x + 1)(y - 1) + (x)2 + 2.5y") == "2*x**2 + 3*(x + 1)*(y - 1) + (x)*2 + 2.5*y"
    assert normalize("w12 + x2 + 1e3") == "w12 + x2 + 1e3"  # digits inside names and exponents stay


HOSTILE = [
    "__import__('os').system('touch PWNED')", "().__class__.__bases__[0].__subclasses__()", "x.__class__",
    "lambda: 0", "(lambda: 0)()", "10**10**10", "9**9**9**9", "2**999999", "x ** 1e9", "[x for x in range(10**9)]",
    "open('/etc/passwd').read()", "exec('1')", "eval('1')", "globals()", "x if y else 1", "x[0]", "x; y", "x = 1",
    "f'{x}'", "'a' * 10**9", "b'x'", "x @ y", "x // y", "x % y", "x < y", "not x", "x and y", "{x: 1}", "(x, y)",
    "*x", "await x", "yield x", "x:=1", "1" * 500, "(" * 300 + "x" + ")" * 300, "-" * 399 + "x",
    "+".join(["x"] * 250), "exp(" * 40 + "x" + ")" * 40, "sqrt(x, y)", "exp(x=1)", "1e400", "99999999999 * x",
    "x\x00", "x ^ y ^ 10^10^10", "getattr(x, 'y')", "__builtins__", "sigmoid(*[x])", "exp(**{})",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_strings_are_refused_by_the_parser_and_never_run(text, tmp_path, monkeypatch):
    calc, trace = _variant("gradient_quadratic", **QUAD)
    monkeypatch.chdir(tmp_path)
    walked, evaluated = [], []
    real_walk = expr._Walker.walk
    monkeypatch.setattr(expr._Walker, "walk", lambda self, node, depth: walked.append(1) or real_walk(self, node, depth))
    monkeypatch.setattr(symbolic, "evaluate", lambda *a: evaluated.append(1))
    monkeypatch.setattr(symbolic, "keys", lambda *a: pytest.fail("sympy's key worked out for text that is refused"))
    for name in ("eval", "exec"):
        monkeypatch.setattr(builtins, name, lambda *a, **k: pytest.fail("student text reached eval/exec"))
    monkeypatch.setattr(sympy, "sympify", lambda *a, **k: pytest.fail("student text reached sympy"))
    v = judge_derivative([text, "1"], calc, "f", trace)
    assert v.status == "invalid" and v.message, v
    assert not evaluated  # refused before anything was computed
    assert len(walked) <= expr.MAX_NODES + 1  # bounded work: at most the node budget, counted
    assert not (tmp_path / "PWNED").exists()
