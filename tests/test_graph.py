"""The graph builder against independent computations: central finite differences for every op, and every
bundled graph template's `hwgen solve --json` recomputed symbolically with sympy from its own expressions."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy

from hwgen import bank
from hwgen.engine import solve
from hwgen.graph import OPS, Graph, graph_problem
from hwgen.sampling import sample

from .conftest import run_cli

N = 3
# One small graph per op, over a per-sample x (3 numbers) and scalars w, b; the output sums over the samples.
OP_GRAPHS = {
    "add": "x + w", "sub": "w - x", "mul": "w * x", "div": "x / (w + 3)", "neg": "-(w * x)", "pow": "(w * x) ** 3",
    "exp": "exp(w * x)", "log": "log(w + x + 3)", "sqrt": "sqrt(x * x + w)", "sigmoid": "sigmoid(w * x + b)",
    "tanh": "tanh(w * x - b)", "relu": "relu(w * x + b)", "max": "max(w * x, b)", "sum": "sum(x) * w",
}
GIVEN = {"x": np.array([0.7, -1.3, 2.1]), "w": np.array(0.6), "b": np.array(-0.25)}


def _graph_of(expr: str) -> tuple[Graph, dict]:
    """A graph whose node u is `expr` and whose output sums u (or is u, if u is one number) squared plus w."""
    per = expr.startswith("sum")
    nodes = (("u", expr), ("L", "u ** 2 + w" if per else "sum(u ** 2) + w"))
    return Graph(nodes, "L", ("x",)), {"x": (N,), "w": (), "b": ()}


@pytest.mark.parametrize("op", sorted(set(OPS) - {"step", "gt"}))
def test_every_op_against_finite_differences(op):
    graph, shapes = _graph_of(OP_GRAPHS[op])
    problem = graph_problem(graph, shapes)
    trace = solve(problem, GIVEN, 0.0)
    eps = 1e-6
    for name, value in GIVEN.items():
        numeric = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            up, down = ({k: v.copy() for k, v in GIVEN.items()} for _ in range(2))
            up[name][idx] += eps
            down[name][idx] -= eps
            numeric[idx] = (solve(problem, up, 0.0)["L"] - solve(problem, down, 0.0)["L"]) / (2 * eps)
        np.testing.assert_allclose(trace[f"d{name}"], numeric, rtol=1e-6, atol=1e-8, err_msg=f"{op}: d{name}")
    assert trace["du"].shape == trace["u"].shape


def test_a_fan_out_adds_the_gradients_of_every_reader():
    problem = graph_problem(Graph((("q", "x + y"), ("f", "q * x")), "f"), {"x": (), "y": ()})
    trace = solve(problem, {"x": 3.0, "y": -2.0}, 0.0)
    assert float(trace["dx"]) == 2 * 3.0 - 2.0  # d(x^2 + x y)/dx = 2x + y
    assert problem.steps[-2].tex == r"$dq + $df \cdot $q"


def _symbolic(doc: dict, template) -> dict[str, np.ndarray]:
    """Every node value and d<name> of a solve --json output, recomputed with sympy from the node expressions."""
    graph, per_sample = doc["graph"], set(template.graph.per_sample)
    nodes, out = graph["nodes"], graph["output"]
    SUM = sympy.Function("SUM")
    local = {"sigmoid": lambda a: 1 / (1 + sympy.exp(-a)), "relu": lambda a: sympy.Max(0, a), "max": sympy.Max,
             "sum": SUM, "exp": sympy.exp, "log": sympy.log, "sqrt": sympy.sqrt, "tanh": sympy.tanh}
    given = doc["given"]
    symbols = {k: sympy.Symbol(k) for k in [*given, *nodes]}
    parsed = {k: sympy.sympify(text, locals={**local, **symbols}) for k, text in nodes.items()}
    samples = len(next(iter(given[k] for k in per_sample))) if per_sample else 1
    per_node = set(per_sample)
    for k, e in parsed.items():  # a node is per sample if it reads a per-sample name outside SUM
        if {s.name for s in e.replace(SUM, lambda a: sympy.Integer(0)).free_symbols} & per_node:
            per_node.add(k)

    def expand(e, i, free):
        """e at sample i: per-sample names as x_i, nodes replaced by their expressions (or by `free` symbols)."""
        e = e.replace(SUM, lambda a: sum(expand(a, j, free) for j in range(samples)))
        subs = {}
        for s in e.free_symbols:
            name = s.name
            if name in free:
                subs[s] = free[name][i if name in per_node else 0]
            elif name in parsed:
                subs[s] = expand(parsed[name], i, free)
            elif name in per_sample:
                subs[s] = sympy.Symbol(f"{name}_{i}")
        return e.xreplace(subs)

    values = {}
    for k in given:
        vals = given[k] if k in per_sample else [given[k]]
        for i, v in enumerate(vals):
            values[sympy.Symbol(f"{k}_{i}") if k in per_sample else symbols[k]] = sympy.Float(v, 30)
    rows = range(samples)
    result = {}
    for k in nodes:
        at = [float(expand(symbols[k], i, {}).evalf(30, subs=values)) for i in (rows if k in per_node else [0])]
        result[k] = np.array(at if k in per_node else at[0])
    for k in [*nodes, *given]:
        count = samples if (k in per_node or k in per_sample) else 1
        t = [sympy.Symbol(f"t_{j}") for j in range(count)]
        if k in nodes:
            output = expand(symbols[out], 0, {k: t}) if k != out else t[0]
            at = {**values, **{t[j]: sympy.Float(float(np.ravel(result[k])[j]), 30) for j in range(count)}}
            grads = [float(sympy.diff(output, t[j]).evalf(30, subs=at)) for j in range(count)]
        else:
            output = expand(symbols[out], 0, {})
            wrt = [sympy.Symbol(f"{k}_{j}") for j in range(count)] if k in per_sample else [symbols[k]]
            grads = [float(sympy.diff(output, w).evalf(30, subs=values)) for w in wrt]
        result[f"d{k}"] = np.array(grads if count > 1 or k in per_sample or k in per_node else grads[0])
    return result


GRAPH_TEMPLATES = ["circuit_basic", "sigmoid_neuron_graph", "regression_graph_002"]


@pytest.mark.parametrize("name", GRAPH_TEMPLATES)
def test_bundled_graphs_against_sympy(name):
    template = bank.load(name)
    for seed in range(4):
        doc = json.loads(json.dumps(sample(template, seed).to_json()))
        assert set(doc["answers"]) == set(doc["graph"]["nodes"]) | {f"d{k}" for k in [*doc["graph"]["nodes"], *doc["given"]]}
        expected = _symbolic(doc, template)
        for k, v in expected.items():
            np.testing.assert_allclose(doc["answers"][k], v, rtol=1e-10, atol=1e-12, err_msg=f"{name} seed {seed}: {k}")


def test_solve_json_prints_the_graph():
    doc = json.loads(run_cli("solve", "circuit_basic", "--seed", "2", "--json", check=True).stdout)
    assert doc["graph"]["output"] == "out" and doc["graph"]["nodes"]["f"] == "q * z" and "network" not in doc
    assert list(doc["graph"]["nodes"]) == ["q", "f", "sigy", "num", "sigx", "xpysqr", "den", "invden", "g", "out"]
    assert doc["answers"]["dout"] == 1.0 and set(doc["given"]) == {"x", "y", "z"}
