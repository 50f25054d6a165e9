"""Notebooks of networks of any depth and of computation graphs: every asked quantity has an answer cell and a
hidden tolerance check that accepts values worked out independently of hwgen (plain NumPy forward passes and
finite differences of the loss, from the numbers the notebook's own given cell defines) and rejects them moved
by a few per cent."""

from __future__ import annotations

import numpy as np
import pytest

from hwgen.numfmt import round_sig
from hwgen.render.notebook import instructor_notebook, student_notebook

from .notebook_support import ASSIGNMENT, answer_cells, execute, failures, fill, key_values, run_test_cells, student_problems

NEW = [("mlp_2hidden", {}), ("softmax_classifier", {}), ("l2_regression", {}), ("circuit_basic", {}),
       ("sigmoid_neuron_graph", {}), ("regression_graph_002", {})]
EVERYTHING = [("mlp_2hidden", {"asked": None}), ("regression_graph_002", {"asked": None})]  # every quantity asked
ACT = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh, "linear": lambda z: z,
       "softmax": lambda z: np.exp(z - z.max(1, keepdims=True)) / np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True)}
H = 1e-6  # finite-difference step


def _everything(problems):
    """(name, overrides) with `asked: None` replaced by every quantity the template's problem has."""
    from hwgen import bank
    return [(n, {"asked": list(bank.load(n).problem.answers)} if o.get("asked", 1) is None else o) for n, o in problems]


@pytest.fixture(scope="module", params=["new", "everything"])
def case(request):
    """(problems, instructor notebook) of one student: the new templates as the bank asks them, or asking all."""
    problems = student_problems(_everything(NEW if request.param == "new" else EVERYTHING), "k-007")
    return problems, instructor_notebook(problems, ASSIGNMENT, student="k-007")


def _given(nb, key):
    """The given numbers exactly as the notebook's read-only cell defines them (name without the pK_ prefix)."""
    namespace: dict = {}
    exec(next(c.source for c in nb.cells if c.get("id") == f"{key}_given"), namespace)
    return {k[len(key) + 1:]: np.asarray(v, dtype=float) for k, v in namespace.items() if k.startswith(f"{key}_")}


def _network(spec, g):
    """Every network quantity worked out independently: a forward pass in plain NumPy, the loss, and each
    parameter's gradient by central differences of that loss; the rest by the textbook backward pass."""
    net, count = spec.template.network, spec.template.network.layers
    lam = net.weight_decay

    def forward(p):
        a, out = g["X"], {}
        for k in range(1, count + 1):
            out[f"Z{k}"] = a @ p[f"W{k}"] + p[f"b{k}"]
            a = out[f"A{k}"] = ACT[net.activations[k - 1]](out[f"Z{k}"])
        out["Yhat"] = out.pop(f"A{count}")
        y, yh, n = g["Y"], out["Yhat"], len(g["X"])
        data = {"sse": lambda: np.sum((yh - y) ** 2), "mse": lambda: np.sum((yh - y) ** 2) / n,
                "mse_half": lambda: np.sum((yh - y) ** 2) / (2 * n), "cce": lambda: -np.sum(y * np.log(yh)) / n}
        out["L"] = data[net.loss]() + lam / 2 * sum(np.sum(p[f"W{k}"] ** 2) for k in range(1, count + 1))
        return out

    params = {k: g[k] for k in g if k[0] in "Wb"}
    v = forward(params)
    for name, value in params.items():
        moves = H * np.eye(value.size).reshape(-1, *value.shape)
        grad = [(forward({**params, name: value + e})["L"] - forward({**params, name: value - e})["L"]) / (2 * H)
                for e in moves]
        v[f"d{name}"] = grad = np.reshape(grad, value.shape)
        v[f"{name}_new"] = value - g["lr"] * grad
    # the backward pass's intermediate quantities: dZk is dL/dbk per sample (Z = A W + b), dA(k-1) = dZk Wk^T
    yh, y, n = v["Yhat"], g["Y"], len(g["X"])
    v["dYhat"] = {"sse": 2 * (yh - y), "mse": 2 * (yh - y) / n, "mse_half": (yh - y) / n, "cce": -y / yh / n}[net.loss]
    for k in range(count, 0, -1):
        a = v[f"A{k}"] if k < count else yh
        local = {"sigmoid": a * (1 - a), "tanh": 1 - a ** 2, "linear": np.ones_like(a)}
        if k == count and net.activations[-1] == "softmax":
            v[f"dZ{k}"] = (yh - y) / n
        else:
            v[f"dZ{k}"] = (v["dYhat"] if k == count else v[f"dA{k}"]) * local[net.activations[k - 1]]
        if k > 1:
            v[f"dA{k - 1}"] = v[f"dZ{k}"] @ params[f"W{k}"].T
    return v


def _circuit_basic(v, put, x, y, z):
    """CS231n's two circuits added: (x + y) z + (x + sigma(y)) / (sigma(x) + (x + y)^2)."""
    s = ACT["sigmoid"]
    put("q", x + y)
    put("f", v["q"] * z)
    put("sigy", s(y))
    put("num", x + v["sigy"])
    put("sigx", s(x))
    put("xpysqr", v["q"] ** 2)
    put("den", v["sigx"] + v["xpysqr"])
    put("invden", 1 / v["den"])
    put("g", v["num"] * v["invden"])
    put("out", v["f"] + v["g"])


def _sigmoid_neuron_graph(v, put, w0, x0, w1, x1, w2):
    """1 / (1 + exp(-(w0 x0 + w1 x1 + w2))) gate by gate."""
    put("a", w0 * x0)
    put("b", w1 * x1)
    put("c", v["a"] + v["b"])
    put("d", v["c"] + w2)
    put("e", -v["d"])
    put("g", np.exp(v["e"]))
    put("h", 1 + v["g"])
    put("f", 1 / v["h"])


def _regression_graph_002(v, put, x1, x2, y, w10, w11, w12, w20, w21, w22, w30, w31, w32, v0, v1, v2, v3):
    """Seed 002's three sigmoid units over the samples, and the summed squared error."""
    for j, (b, u1, u2, vj) in {1: (w10, w11, w12, v1), 2: (w20, w21, w22, v2), 3: (w30, w31, w32, v3)}.items():
        put(f"a{j}", x2 * u2)
        put(f"b{j}", x1 * u1)
        put(f"c{j}", b)
        put(f"d{j}", v[f"a{j}"] + v[f"b{j}"])
        put(f"e{j}", v[f"d{j}"] + v[f"c{j}"])
        put(f"f{j}", ACT["sigmoid"](v[f"e{j}"]))
        put(f"h{j}", v[f"f{j}"] * vj)
    put("yhat", v["h1"] + v["h2"] + v["h3"] + v0)
    put("L", np.sum((v["yhat"] - y) ** 2))


GRAPHS = {"circuit_basic": (_circuit_basic, "out"), "sigmoid_neuron_graph": (_sigmoid_neuron_graph, "f"),
          "regression_graph_002": (_regression_graph_002, "L")}


def _graph(name, g):
    """Every quantity of a graph template worked out by hand; the gradient of the output with respect to each
    node and given quantity by central differences (a node moved where it is computed, the rest rebuilt from it),
    entry by entry for one number per sample."""
    build, out = GRAPHS[name]

    def run(moved="", by=0.0):
        v = {}

        def put(k, value):
            v[k] = value + (by if k == moved else 0.0)
        build(v, put, **{k: g[k] + (by if k == moved else 0.0) for k in g})
        return v
    v = run()
    for k in [*g, *list(v)]:
        entries = np.eye(np.size(v.get(k, g.get(k)))).reshape(-1, *np.shape(v.get(k, g.get(k))))
        grads = [(run(k, H * e)[out] - run(k, -H * e)[out]) / (2 * H) for e in entries]
        v[f"d{k}"] = np.asarray(grads).reshape(np.shape(v.get(k, g.get(k))))
    return v


def _independent(problems, nb):
    """Answer variable -> the independent value of every asked quantity that _network / _graph work out."""
    out = {}
    for spec, _ in problems:
        g = _given(nb, spec.key)
        v = _network(spec, g) if spec.template.network else _graph(spec.template.name, g)
        out |= {spec.variable(q): v[q] for q in spec.asked if q in v}
    return out


def test_every_asked_quantity_has_an_answer_cell_and_a_hidden_check(case):
    problems, inst = case
    assert list(answer_cells(inst)) == [spec.variable(q) for spec, _ in problems for q in spec.asked]
    hidden = {c.id for c in inst.cells if c.metadata.get("nbgrader", {}).get("grade") and "BEGIN HIDDEN TESTS" in c.source}
    assert hidden == {f"test_{spec.variable(q)}" for spec, _ in problems for q in spec.asked}


def test_checks_accept_independent_values_and_rounded_ones_and_reject_moved_ones(case):
    problems, inst = case
    mine = _independent(problems, inst)
    assert set(mine) == {spec.variable(q) for spec, _ in problems for q in spec.asked}
    assert set(run_test_cells(inst, {"np": np, **mine}).values()) == {None}
    digits = {spec.variable(q): spec.template.significant for spec, _ in problems for q in spec.asked}
    rounded = {k: round_sig(v, digits[k]) for k, v in mine.items()}
    assert set(run_test_cells(inst, {"np": np, **rounded}).values()) == {None}
    for variable, value in mine.items():
        moved = {"np": np, **rounded, variable: np.asarray(value) * 1.03 + np.copysign(1e-3, value)}
        assert run_test_cells(inst, moved)[f"test_{variable}"] == "AssertionError", variable


def test_key_values_are_the_independent_ones(case):
    problems, inst = case
    key = key_values(problems)
    for variable, value in _independent(problems, inst).items():
        np.testing.assert_allclose(key[variable], value, rtol=1e-5, atol=1e-7, err_msg=variable)


def test_the_instructor_notebook_runs_and_the_student_notebook_asks_every_answer():
    problems = student_problems(NEW, "k-008")
    inst = instructor_notebook(problems, ASSIGNMENT, student="k-008")
    assert failures(execute(inst)) == {}
    stud = student_notebook(inst)
    assert failures(execute(stud)) == {variable: "NotImplementedError" for variable in answer_cells(stud)}
    digits = {spec.variable(q): spec.template.significant for spec, _ in problems for q in spec.asked}
    typed = {k: round_sig(v, digits[k]) for k, v in key_values(problems).items()}
    assert failures(execute(fill(stud, typed))) == {}


PER_SAMPLE_OUTPUT = """\
name: per_sample_output
title: "A per-sample output"
description: "u = x w + c per sample, s = sum(u), out = u + s: d out / d out and d out / d s are the same for every sample"
samples: 3
graph:
  per_sample: [x]
  nodes:
    u: x * w + c
    s: sum(u)
    out: u * s
  output: out
given:
  x: {min: 1, max: 3, step: 1}
  w: {min: -2, max: 2, step: 0.5, nonzero: true}
  c: {min: -2, max: 2, step: 0.5, nonzero: true}
asked: {u: 1, s: 1, out: 1, dout: 1, ds: 1, du: 1, dw: 1, dc: 1}
rounding:
  significant: 4
"""


def test_a_gradient_that_is_the_same_for_every_sample_is_written_once_per_sample(tmp_path):
    """d out / d out = 1 for a per-sample output: the solution code gives one 1 per sample, as the check wants."""
    (tmp_path / "per_sample_output.yaml").write_text(PER_SAMPLE_OUTPUT, encoding="utf-8")
    problems = student_problems([(str(tmp_path / "per_sample_output.yaml"), {})], "k-009")
    inst = instructor_notebook(problems, ASSIGNMENT, student="k-009")
    namespace: dict = {}
    for cell in inst.cells:
        if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("grade"):
            exec(cell.source, namespace)
    assert np.shape(namespace["p1_dout"]) == (3,) and np.shape(namespace["p1_du"]) == (3,)
    assert set(run_test_cells(inst, namespace).values()) == {None}
