"""One notation per problem: its worksheet, key, notebook and grader lay every array out the same way, and the
grader converts at the edge. An answer laid out as the student's own worksheet and notebook show it gets full
marks; a matrix that is not square also in the other orientation (with a note); a square one only as shown."""

from __future__ import annotations

import json
import re

import nbformat
import numpy as np
import pytest

from hwgen import generate as gen
from hwgen.assignment import Student, load_assignment
from hwgen.engine import Network, network_problem, solve
from hwgen.errors import InputFileError
from hwgen.grade.checks import grade_problem
from hwgen.notation import Display
from hwgen.numfmt import round_sig
from hwgen.problem import ProblemSpec
from hwgen.render.notebook.solution import solution_lines

ASSIGNMENT = """\
title: Notation
seed: 11
problems:
  - template: xor_net            # samples as columns, W (out x in)
  - template: relu_sigmoid       # samples as columns
  - template: bce_net            # samples as rows, biases folded: weights one row per unit
  - template: batch_vectorized   # samples as rows, W (in x out): the canonical form
  - template: xor_net
    display: {layout: rows}      # the assignment overrides the template's notation
"""
STUDENTS = [Student(f"s{i}") for i in range(4)]
SIGMOID = (lambda z: 1 / (1 + np.exp(-z)), lambda a, z: a * (1 - a))
ACT = {"sigmoid": SIGMOID, "relu": (lambda z: np.maximum(z, 0), lambda a, z: (z > 0) * 1.0),
       "linear": (lambda z: z, lambda a, z: np.ones_like(z))}


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    """The class generated: manifest, and per student the worksheet and key sources and the instructor notebook."""
    root = tmp_path_factory.mktemp("notation")
    (root / "hw.yaml").write_text(ASSIGNMENT, encoding="utf-8")
    assignment = load_assignment(root / "hw.yaml")
    gen.generate(assignment, STUDENTS, root / "out", progress=False)
    manifest = json.loads((root / "out" / "manifest.json").read_text(encoding="utf-8"))
    files = {s.id: ((root / "out" / "worksheets" / f"{s.id}.tex").read_text(encoding="utf-8"),
                    (root / "out" / "keys" / f"{s.id}.tex").read_text(encoding="utf-8"),
                    nbformat.read(root / "out" / "source" / s.id / "hw" / "hw.ipynb", as_version=4))
             for s in STUDENTS}
    return assignment, manifest, files


def _given(nb, key):
    """The given arrays exactly as the notebook's read-only cell defines them."""
    namespace: dict = {}
    exec(next(c.source for c in nb.cells if c.get("id") == f"{key}_given"), namespace)
    return {k[len(key) + 1:]: np.asarray(v, dtype=float) for k, v in namespace.items() if k.startswith(f"{key}_")}


def _worked_out(spec, g):
    """Every answer computed from the notebook's own given arrays, independently of hwgen: the arrays are turned to
    samples-as-columns with W (out x in), worked through, and turned back to the problem's layout."""
    columns, folded = spec.template.display.layout == "columns", spec.template.display.bias == "folded"
    X, Y = (g["X"], g["Y"]) if columns else (g["X"].T, g["Y"].T)
    W1, W2 = (g["W1"], g["W2"]) if columns or folded else (g["W1"].T, g["W2"].T)
    b1, b2 = g["b1"].reshape(-1, 1), g["b2"].reshape(-1, 1)
    lr, n = float(g["lr"]), X.shape[1]
    (f1, d1), (f2, d2) = (ACT[a] for a in spec.template.network.activations)
    v = {"Z1": W1 @ X + b1}
    v["A1"] = f1(v["Z1"])
    v["Z2"] = W2 @ v["A1"] + b2
    v["Yhat"] = f2(v["Z2"])
    e, loss = v["Yhat"] - Y, spec.template.network.loss
    v["L"], v["dYhat"] = {
        "sse": (np.sum(e ** 2), 2 * e), "sse_half": (np.sum(e ** 2) / 2, e),
        "mse_half": (np.sum(e ** 2) / (2 * n), e / n),
        "bce": (-np.sum(Y * np.log(v["Yhat"]) + (1 - Y) * np.log(1 - v["Yhat"])) / n,
                e / (v["Yhat"] * (1 - v["Yhat"])) / n)}[loss]
    v["dZ2"] = v["dYhat"] * d2(v["Yhat"], v["Z2"])
    v["dW2"], v["db2"], v["dA1"] = v["dZ2"] @ v["A1"].T, v["dZ2"].sum(axis=1), W2.T @ v["dZ2"]
    v["dZ1"] = v["dA1"] * d1(v["A1"], v["Z1"])
    v["dW1"], v["db1"] = v["dZ1"] @ X.T, v["dZ1"].sum(axis=1)
    v |= {"W1_new": W1 - lr * v["dW1"], "b1_new": b1.ravel() - lr * v["db1"], "W2_new": W2 - lr * v["dW2"],
          "b2_new": b2.ravel() - lr * v["db2"]}
    weights = ("dW1", "dW2", "W1_new", "W2_new")
    back = {q: a if np.ndim(a) < 2 or columns or (folded and q in weights) else a.T for q, a in v.items()}
    return {q: back[q] for q in spec.asked}


def _worksheet_shapes(tex):
    """Per problem, the shape each question states: [(2, 4), (), ...]."""
    problems = tex.split(r"\section*{Problem ")[1:]
    shapes = []
    for p in problems:
        found = re.findall(r"\((a number|a row vector of (\d+)|a (\d+) by (\d+) matrix)\)\. \\hfill", p)
        shapes.append([() if m[0] == "a number" else (int(m[1]),) if m[1] else (int(m[2]), int(m[3])) for m in found])
    return shapes


def _core(shape):
    return tuple(k for k in shape if k != 1)


def test_worksheet_notebook_and_an_independent_computation_agree_on_every_layout(klass):
    assignment, manifest, files = klass
    for sid, (sheet, _, nb) in files.items():
        stated = _worksheet_shapes(sheet)
        for spec, shapes in zip(assignment.problems, stated):
            answers = _worked_out(spec, _given(nb, spec.key))
            prompts = {c.metadata.hwgen["quantity"]: c for c in nb.cells if "hwgen" in c.metadata
                       and c.metadata.hwgen["problem"] == spec.key}
            assert list(prompts) == list(spec.asked)
            for (q, value), shape in zip(answers.items(), shapes):
                assert _core(np.shape(value)) == _core(shape), (sid, spec.key, q, np.shape(value), shape)
                prompt = next(c.source for c in nb.cells if c.get("id") == f"{spec.variable(q)}_prompt")
                assert f"shape {tuple(np.shape(value)) if np.ndim(value) == 2 else ''}" in prompt or np.ndim(value) < 2
            canonical = manifest["students"][sid]["problems"][spec.key]["answers"]
            for q, value in answers.items():  # the manifest stays canonical: the same numbers, canonical layout
                shown = np.asarray(value).T if np.ndim(value) == 2 and spec.template.display.flipped(q) else value
                np.testing.assert_allclose(np.reshape(shown, np.shape(canonical[q])), canonical[q], rtol=1e-9)


def _grade(spec, record, values):
    items = grade_problem(spec, record, values, {}, {})
    return {i.quantity: i for i in items}


def test_answers_in_the_worksheets_layout_get_full_marks(klass):
    assignment, manifest, files = klass
    for sid, (_, _, nb) in files.items():
        for spec in assignment.problems:
            record = manifest["students"][sid]["problems"][spec.key]
            values = {q: round_sig(a, spec.template.significant).tolist()
                      for q, a in _worked_out(spec, _given(nb, spec.key)).items()}
            items = _grade(spec, record, values)
            assert all(i.status == "correct" and i.points == i.max_points for i in items.values()), \
                (sid, spec.key, [(i.quantity, i.message) for i in items.values() if i.status != "correct"])
            assert not any("Note:" in i.message for i in items.values())


def test_the_other_orientation_counts_for_a_matrix_that_is_not_square_and_not_for_a_square_one(klass):
    assignment, manifest, files = klass
    flipped = square = 0
    for sid, (_, _, nb) in files.items():
        for spec in assignment.problems:
            record = manifest["students"][sid]["problems"][spec.key]
            answers = _worked_out(spec, _given(nb, spec.key))
            values = {q: round_sig(np.transpose(a), spec.template.significant).tolist() for q, a in answers.items()}
            items = _grade(spec, record, values)
            for q, a in answers.items():
                item = items[q]
                if np.ndim(a) < 2 or 1 in np.shape(a):  # a vector: either way round is the same vector
                    assert item.status == "correct" and "Note:" not in item.message, (spec.key, q, item)
                elif a.shape[0] != a.shape[1]:
                    assert item.status == "correct" and item.points == item.max_points, (spec.key, q, item)
                    assert f"lay it out {a.shape[0]} x {a.shape[1]}" in item.message
                    flipped += 1
                elif not np.allclose(a, a.T, rtol=1e-3):
                    assert item.status != "correct" and item.points < item.max_points, (spec.key, q, item)
                    square += 1
    assert flipped > 20 and square > 5


def test_bce_net_keeps_its_folded_notation_from_the_given_numbers_to_the_gradients(klass):
    _, _, files = klass
    sheet, key, nb = files["s0"]
    p3 = sheet.split(r"\section*{Problem 3:")[1].split(r"\section*{Problem 4:")[0]
    assert r"\tilde{W}^{(1)}" in p3  # W~(1) = [b1 | W1]: 2 x 4
    assert re.search(r"\\frac\{\\partial L\}\{\\partial W\^\{\(1\)\}\}\}?\$, the gradient w\.r\.t\. the hidden weights "
                     r"\(a 2 by 3 matrix\)", p3), "dL/dW(1) is one row per hidden unit, like W~(1)"
    assert "one row per unit" in p3
    g = _given(nb, "p3")
    assert g["W1"].shape == (2, 3) and g["b1"].shape == (2,)
    keyp3 = key.split(r"\section*{Problem 3:")[1].split(r"\section*{Problem 4:")[0]
    assert r"{\delta^{(1)}}^{\top} {X}" in keyp3  # dL/dW(1) = delta(1)^T X, as the layout reads


def test_an_assignment_may_override_the_display_and_a_bad_one_names_its_line(klass, tmp_path):
    assignment, _, files = klass
    rows = assignment.problems[4]
    assert rows.template.display.layout == "rows" and assignment.problems[0].template.display.layout == "columns"
    assert _given(files["s0"][2], "p5")["X"].shape == (4, 2) and _given(files["s0"][2], "p1")["X"].shape == (2, 4)
    assert ProblemSpec.from_manifest(rows.to_manifest()).template.display.layout == "rows"
    (tmp_path / "bad.yaml").write_text("title: T\nseed: 1\nproblems:\n  - template: xor_net\n"
                                       "    display: {layout: diagonal}\n", encoding="utf-8")
    with pytest.raises(InputFileError) as info:
        load_assignment(tmp_path / "bad.yaml")
    assert "bad.yaml:5:" in str(info.value) and "rows, columns" in str(info.value)


NETS = [Network((3, 2, 2), ("tanh", "sigmoid"), "sse", 0.3), Network((3, 2, 2), ("relu", "sigmoid"), "mse_half", 0.3),
        Network((3, 2, 2), ("sigmoid", "sigmoid"), "bce", 0.3),
        Network((3, 4, 2, 3), ("relu", "tanh", "softmax"), "cce", 0.3, weight_decay=0.01)]


@pytest.mark.parametrize("display", [Display("rows", "separate"), Display("rows", "folded"), Display("columns", "separate"),
                                     Display("columns", "folded")], ids=str)
def test_the_instructors_solution_code_works_in_the_problems_layout(display):
    rng = np.random.default_rng(3)
    for net in NETS:
        problem = network_problem(net, 4)
        given = {k: rng.uniform(-1, 1, shape) for k, shape in problem.given.items()}
        given["Y"] = np.eye(net.sizes[-1])[rng.integers(0, net.sizes[-1], 4)] * 0.8 + 0.1  # targets in (0, 1)
        trace = solve(problem, given, net.lr)
        namespace = {"np": np, "p1_lr": net.lr, "p1_lam": net.weight_decay,
                     **{f"p1_{k}": display.value(v, k) for k, v in given.items()}}
        known: set[str] = set()
        for q in problem.answers:
            exec("\n".join(solution_lines("p1", problem.steps, q, known, display)), namespace)
            np.testing.assert_allclose(np.reshape(namespace[f"p1_{q}"], display.shape(np.shape(trace[q]), q)),
                                       display.value(trace[q], q), rtol=1e-12, atol=1e-12, err_msg=f"{net}: {q}")


# --- names of any problem (notation.names): every quantity of every depth and of graphs has a symbol and words


@pytest.mark.parametrize("sizes", [(2, 3, 1), (2, 3, 2, 1), (3, 2, 2, 2, 2)])
def test_every_network_quantity_is_named_by_its_layer(sizes):
    from hwgen import notation

    count = len(sizes) - 1
    problem = network_problem(Network(sizes, ("tanh",) * count, "mse", 0.1), 3)
    for name in problem.answers:
        assert name in notation.names(problem).symbols and notation.description(problem, name) != name
    for k in range(1, count + 1):
        assert notation.symbol(problem, f"dZ{k}") == rf"\delta^{{({k})}}"
        assert notation.symbol(problem, f"W{k}_new") == rf"W^{{({k})}}_{{\mathrm{{new}}}}"
        owner = "the output" if k == count else "the hidden" if count == 2 else f"hidden layer {k}'s"
        assert notation.description(problem, f"Z{k}") == f"{owner.removeprefix('the ')} pre-activations"
        assert notation.description(problem, f"dW{k}") == f"gradient w.r.t. {owner} weights"
    rows = notation.names(problem).given_rows
    assert rows == (("X", "Y"), *((f"W{k}", f"b{k}") for k in range(1, count + 1)))
    given = {k: np.arange(np.prod(s), dtype=float).reshape(s) for k, s in problem.given.items()}
    shown = Display("rows", "folded").given(given, problem)
    assert [s.name for s in shown] == ["X", "Y", *(f"W{k}" for k in range(1, count + 1))]  # every bias folded
    for s in shown[2:]:
        k = s.name[1:]
        assert s.tex == rf"\tilde{{W}}^{{({k})}}"
        assert np.array_equal(s.value, np.column_stack([given[f"b{k}"], given[s.name].T]))
        assert "one row per" in Display("rows", "folded").given_note(s.name, problem)
    assert "a column" in Display("columns").given_note(f"b{count}", problem)


def test_one_hidden_layer_names_are_the_first_banks():
    from hwgen import notation

    problem = network_problem(Network((2, 3, 1), ("sigmoid", "linear"), "sse", 0.1), 3)
    assert notation.names(problem).symbols == notation.ONE_HIDDEN.symbols == {  # the first bank's, as they were
        "X": "X", "Y": "Y", "W1": "W^{(1)}", "b1": "b^{(1)}", "W2": "W^{(2)}", "b2": "b^{(2)}",
        "lr": r"\eta", "n": "n", "lam": r"\lambda",
        "Z1": "Z^{(1)}", "A1": "A^{(1)}", "Z2": "Z^{(2)}", "Yhat": r"\hat{Y}", "L": "L",
        "dYhat": r"\frac{\partial L}{\partial \hat{Y}}", "dZ2": r"\delta^{(2)}",
        "dW2": r"\frac{\partial L}{\partial W^{(2)}}", "db2": r"\frac{\partial L}{\partial b^{(2)}}",
        "dA1": r"\frac{\partial L}{\partial A^{(1)}}", "dZ1": r"\delta^{(1)}",
        "dW1": r"\frac{\partial L}{\partial W^{(1)}}", "db1": r"\frac{\partial L}{\partial b^{(1)}}",
        "W1_new": r"W^{(1)}_{\mathrm{new}}", "b1_new": r"b^{(1)}_{\mathrm{new}}",
        "W2_new": r"W^{(2)}_{\mathrm{new}}", "b2_new": r"b^{(2)}_{\mathrm{new}}"}
    assert notation.description(problem, "db2") == "gradient w.r.t. the output bias"
    assert notation.description(problem, "dA1") == "error back-propagated to the hidden activations"
    assert Display().given_note("W2", problem) == "output weights (hidden x outputs)"


@pytest.mark.parametrize("name,tex", [("x", "x"), ("w12", "w_{12}"), ("a_j", "a_{j}"), ("yhat", r"\hat{y}"),
                                      ("sigy", r"\mathrm{sigy}"), ("eta", r"\eta"), ("x_in", r"x_{\mathrm{in}}"),
                                      ("L", "L")])
def test_graph_names_are_typeset_from_their_spelling(name, tex):
    from hwgen.notation import name_tex

    assert name_tex(name) == tex


def test_graph_gradients_are_partials_of_the_output_and_say_how_they_add_up():
    from hwgen import bank, notation

    problem = bank.load(bank.bank_dir() / "regression_graph_002.yaml").problem
    assert notation.symbol(problem, "dw11") == r"\frac{\partial L}{\partial w_{11}}"
    assert notation.description(problem, "dw11") == "gradient of L w.r.t. w11, summed over the samples"
    assert notation.description(problem, "dh1") == "gradient of L w.r.t. h1, per sample"
    assert notation.description(problem, "b1") == "value of node b1, per sample"  # a node, not a bias
    assert notation.symbol(problem, "b1") == "b_{1}"
    assert Display().given_note("x1", problem) == "one number per sample"
    assert notation.names(problem).given_rows[0] == ("x1", "x2", "y")
    neuron = bank.load(bank.bank_dir() / "sigmoid_neuron_graph.yaml").problem
    assert notation.symbol(neuron, "dd") == r"\frac{\partial f}{\partial d}"  # node d's gradient
    assert notation.symbol(neuron, "d") == "d"
    assert notation.description(neuron, "dw0") == "gradient of f w.r.t. w0"


def test_shape_questions_and_the_worked_text_use_the_problems_own_symbols():
    from hwgen import bank
    from hwgen.questions import shape_question
    from hwgen.render.shapes import tex_symbol
    from hwgen.render.text import worked_solution
    from hwgen.sampling import sample

    deep = bank.load("mlp_2hidden")
    assert tex_symbol(shape_question("shape(dZ3 @ W3.T)"), deep.problem) == \
        r"\operatorname{shape}\left({\delta^{(3)}} {W^{(3)}}^{\top}\right)"
    from hwgen.problem import apply_overrides
    text = worked_solution(sample(apply_overrides(deep, {"display": {"bias": "folded"}}), 3))
    assert "[b3 | W3] = " in text and "\n  b3 = " not in text  # every layer's bias folded into its W~
