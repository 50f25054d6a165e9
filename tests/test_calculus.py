"""The calculus builder against independent computations: central finite differences for every gradient and
Jacobian asked, seed page 002's corrected numbers, and every bundled calculus template's `hwgen solve --json`
recomputed by sympy from the printed functions alone."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy

from hwgen import bank
from hwgen.engine import evaluate
from hwgen.errors import TemplateError
from hwgen.sampling import sample
from hwgen.variant import solve_variant

from .conftest import run_cli

CALCULUS = ("gradient_quadratic", "jacobian_2x2", "chain_rule", "chain_rule_2d")
SEEDS = range(12)


def _given(**values: float) -> dict:
    """Scalar givens."""
    return {k: np.asarray(float(v)) for k, v in values.items()}


@pytest.mark.parametrize("name", CALCULUS)
def test_every_derivative_against_finite_differences(name):
    t = bank.load(name)
    steps = {s.name: s for s in t.steps}
    checked = 0
    for seed in SEEDS:
        trace = sample(t, seed).trace
        for fn in t.calculus.functions:
            value, h = steps[fn.name], 1e-6
            derivative = trace[f"J_{fn.name}" if fn.vector else f"grad_{fn.name}"]
            columns = []
            for arg in fn.arguments:  # the value step moved along one argument at a time
                up, down = dict(trace), dict(trace)
                up[arg], down[arg] = trace[arg] + h, trace[arg] - h
                columns.append((evaluate(value, up) - evaluate(value, down)) / (2 * h))
            np.testing.assert_allclose(derivative, np.stack(columns, axis=-1), rtol=1e-6, atol=1e-6)
            checked += 1
        if t.calculus.compose:  # the chain-rule product against differences of the composite F(G(x)), per variable
            outer, inner = t.calculus.compose
            h = 1e-6
            for j, x in enumerate(t.calculus.variables):

                def composite(at: float, x: str = x) -> np.ndarray:
                    moved = dict(trace, **{x: np.asarray(at)})
                    for arg in t.calculus.function(outer).arguments:
                        moved[arg] = evaluate(steps[arg], moved)
                    return evaluate(steps[outer], moved)
                fd = (composite(float(trace[x]) + h) - composite(float(trace[x]) - h)) / (2 * h)
                np.testing.assert_allclose(trace[f"D_{outer}_{inner}"][:, j], fd, rtol=1e-6, atol=1e-6)
    assert checked >= len(SEEDS)


@pytest.mark.parametrize("x, y", [(1, 2), (-3, 1), (0.5, -0.25), (2, 0)])
def test_seed_002_gradient_of_the_square_at_any_point(x, y):
    v = solve_variant(bank.load("gradient_quadratic"), _given(a=2, b=3, x=x, y=y), seed=None)
    np.testing.assert_allclose(v.trace["grad_f"], [4 * (2 * x + 3 * y), 6 * (2 * x + 3 * y)])
    np.testing.assert_allclose(v.trace["f"], (2 * x + 3 * y) ** 2)


def test_seed_002_jacobian_and_chain_rule():
    jac = solve_variant(bank.load("jacobian_2x2"), _given(a=2, b=3, c=4, x=1, y=2), seed=None)
    assert jac.trace["J_F"].tolist() == [[2, 2], [3, 16]]
    chain = solve_variant(bank.load("chain_rule"), _given(a=2, b=3, c=4, x=2), seed=None)
    assert chain.trace["D_F_G"].tolist() == [[12], [131]]
    assert chain.trace["J_F"].tolist() == [[4, 2], [3, 32]] and chain.trace["J_G"].tolist() == [[1], [4]]
    answers = chain.to_json()["answers"]
    assert answers["D_F_G_expr"] == [["6*x"], ["16*x**3 + 3"]]  # composing first: [3x^2, 3x + 4x^4]'


def test_solve_given_prints_the_seed_page_numbers(tmp_path):
    path = tmp_path / "given.json"
    path.write_text(json.dumps({"a": 2, "b": 3, "c": 4, "x": 2}))
    out = json.loads(run_cli("solve", "chain_rule", "--given", str(path), "--json", check=True).stdout)
    assert out["answers"]["D_F_G"] == [[12.0], [131.0]]
    assert out["calculus"]["functions"] == {"G": ["x", "x**2"], "F": ["u**2 + 2*v", "3*u + 4*v**2"]}
    assert out["calculus"]["compose"] == ["F", "G"] and out["calculus"]["point"] == {"x": 2.0}


def _recomputed(calc: dict) -> dict:
    """Every numeric answer from the printed functions, arguments, point and composition, by sympy alone."""
    point = {sympy.Symbol(k): sympy.Rational(repr(v)) for k, v in calc["point"].items()}
    variables = [sympy.Symbol(v) for v in calc["variables"]]
    out, at = {}, dict(point)
    funcs = {k: [sympy.sympify(e) for e in (v if isinstance(v, list) else [v])] for k, v in calc["functions"].items()}
    if "compose" in calc:
        outer, inner = calc["compose"]
        args = [sympy.Symbol(a) for a in calc["arguments"][outer]]
        at |= {a: e.subs(point) for a, e in zip(args, funcs[inner])}
        composite = sympy.Matrix([e.subs(dict(zip(args, funcs[inner]))) for e in funcs[outer]])
        out[f"D_{outer}_{inner}"] = composite.jacobian(variables).subs(point).tolist()
    for name, exprs in funcs.items():
        args = [sympy.Symbol(a) for a in calc["arguments"][name]]
        jac = sympy.Matrix(exprs).jacobian(args).subs(at).tolist()
        vector = isinstance(calc["functions"][name], list)
        out[name] = [e.subs(at) for e in exprs] if vector else exprs[0].subs(at)
        out[f"J_{name}" if vector else f"grad_{name}"] = jac if vector else jac[0]
    return out


@pytest.mark.parametrize("name", CALCULUS)
def test_printed_json_recomputed_by_sympy(name):
    t = bank.load(name)
    for seed in SEEDS:
        data = sample(t, seed).to_json()
        json.dumps(data)
        for key, expected in _recomputed(data["calculus"]).items():
            np.testing.assert_allclose(np.asarray(data["answers"][key], dtype=float),
                                       np.asarray(expected, dtype=float), rtol=1e-12, atol=1e-12, err_msg=key)
        calc = data["calculus"]
        at = {sympy.Symbol(k): v for k, v in calc["point"].items()}
        at |= {sympy.Symbol(a): data["answers"][a] for a in calc["arguments"].get((calc.get("compose") or [""])[0], [])}
        symbolic = [k for k in data["answers"] if k.endswith("_expr")]
        assert len(symbolic) == len(calc["functions"]) * 2 + ("compose" in calc)
        for key in symbolic:  # every symbolic form, evaluated where its quantity is asked, gives its number
            exprs = np.vectorize(lambda e: float(sympy.sympify(e).subs(at)))(np.asarray(data["answers"][key], dtype=object))
            np.testing.assert_allclose(exprs, data["answers"][key[:-5]], rtol=1e-12, err_msg=key)
    cli = json.loads(run_cli("solve", name, "--seed", "5", "--json", check=True).stdout)
    assert cli == json.loads(json.dumps(sample(t, 5).to_json()))


@pytest.mark.parametrize("name", CALCULUS)
def test_every_student_gets_own_coefficients(name):
    t = bank.load(name)
    draws = {json.dumps(sample(t, seed).to_json()["calculus"]["functions"]) for seed in SEEDS}
    assert len(draws) >= len(SEEDS) // 2
    for seed in SEEDS:
        v = sample(t, seed)
        assert all(float(np.max(np.abs(v.trace[q]))) <= 1000 for q in t.asked)  # hand-sized numbers


BAD = {
    "relu": ("f: relu(a*x)", "not differentiable"),
    "unknown name": ("f: a*z", "unknown name 'z'"),
    "attribute": ("f: x.__class__", "calculus.functions.f"),
    "own arguments": ("f: {arguments: [u], value: u**2}", "outer function of `compose`"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_template_errors_name_the_line(case, tmp_path):
    body, message = BAD[case]
    text = (f"name: bad\ndescription: d\ncalculus:\n  variables: [x]\n  functions:\n    {body}\n"
            "given:\n  a: [2]\n  x: [1]\nasked:\n  f: 1\nrounding:\n  significant: 4\n")
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(TemplateError, match=message) as err:
        bank.load(path)
    assert ":6" in str(err.value) or "line 6" in str(err.value)


def test_composition_that_does_not_fit(tmp_path):
    text = ("name: bad\ndescription: d\ncalculus:\n  variables: [x]\n  functions:\n    G: [x, x**2]\n"
            "    F: {arguments: [u], value: u**2}\n  compose: [F, G]\ngiven:\n  x: [1]\nasked:\n  F: 1\n"
            "rounding:\n  significant: 4\n")
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(TemplateError, match="does not fit"):
        bank.load(path)
