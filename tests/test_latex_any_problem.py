"""Worksheets and keys of every kind of problem: networks of any depth, softmax with cross-entropy, weight decay,
and computation graphs drawn as circuits. Compiled with pdflatex; the key's numbers are the engine's; the
worksheet shows no answer; numbers in a drawing never touch."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest

from hwgen import bank
from hwgen.assignment import Assignment, Student
from hwgen.numfmt import tex_array
from hwgen.problem import ProblemSpec
from hwgen.render import circuit, latex
from hwgen.sampling import sample

STUDENT = Student("s-01", "Ann Lee")
RENDERED = [p.stem for p in bank.template_paths() if not bank.load(p.stem).calculus]
NEW = ["mlp_2hidden", "softmax_classifier", "l2_regression", "mazur_222", "circuit_basic", "sigmoid_neuron_graph",
       "regression_graph_002"]
GRAPHS = ["circuit_basic", "sigmoid_neuron_graph", "regression_graph_002"]


def _documents(t: bank.Template, seed: int) -> tuple[str, str, object]:
    """Worksheet, key and variant of a one-problem assignment of template t."""
    a = Assignment(title="HW 3", course="CS 101", due="2026-12-01", seed=1, name="hw", instructions="Work alone.",
                   problems=(ProblemSpec("p1", t, dict(t.asked)),))
    variant = sample(t, seed)
    return latex.worksheet(a, STUDENT, {"p1": variant}), latex.key(a, STUDENT, {"p1": variant}), variant


def _deep(tmp_path, sizes: list[int], activations: list[str], loss: str = "mse_half") -> bank.Template:
    """A network template of these sizes (weights on a 0.1 grid), asking for every layer's gradient."""
    given = {"X": "{min: -1, max: 1, step: 0.5, nonzero: true}",
             "Y": "{one_hot: true}" if loss == "cce" else "{values: [0, 1]}"}
    for k in range(1, len(sizes)):
        given |= {f"W{k}": "{min: -1, max: 1, step: 0.1, nonzero: true}",
                  f"b{k}": "{min: -0.5, max: 0.5, step: 0.1, nonzero: true}"}
    text = (f"name: deep\ndescription: deep\nsamples: 3\nnetwork:\n  sizes: {sizes}\n  activations: {activations}\n"
            f"  loss: {loss}\n  lr: 0.5\ngiven:\n" + "".join(f"  {k}: {v}\n" for k, v in given.items()) +
            "asked:\n" + "".join(f"  dW{k}: 1\n" for k in range(1, len(sizes))) + "rounding:\n  significant: 4\n")
    return bank.loads(text, tmp_path / "deep.yaml")


@pytest.mark.parametrize("name", NEW)
def test_the_key_holds_the_engines_numbers_and_the_worksheet_none_of_the_answers(name):
    t = bank.load(name)
    sheet, key, variant = _documents(t, 4)
    show = t.display
    for q in t.problem.answers:
        assert tex_array(show.value(variant.trace[q], q), t.significant, zeros=True) in key, q
    body = sheet.split("\\begin{document}")[1]
    given = {tex_array(show.value(variant.trace[k], k), t.significant) for k in t.problem.inputs}
    for q in t.asked:
        text = tex_array(show.value(variant.trace[q], q), t.significant, zeros=True)
        if text not in given:
            assert text not in body, q
    assert "Worked solution" in key and "Worked solution" not in sheet
    assert len(re.findall(r"question \(([a-z])\)", key)) == len(t.asked)


@pytest.mark.parametrize("name", GRAPHS)
def test_a_graphs_circuit_shows_the_givens_on_the_worksheet_and_every_value_and_gradient_in_the_key(name):
    t = bank.load(name)
    sheet, key, variant = _documents(t, 2)
    gates = len(t.problem.given) + len(t.graph.nodes)
    sheet_body, key_body = (doc.split("\\begin{document}")[1] for doc in (sheet, key))
    assert sheet_body.count("text=green") == len(t.problem.given) and "text=red" not in sheet_body
    # the key draws the circuit twice: the statement's (givens) and the worked solution's (everything)
    assert key_body.count("text=green") == len(t.problem.given) + gates and key_body.count("text=red") == gates
    first = {k: float(np.ravel(v)[0]) for k, v in variant.trace.items()}
    out = t.graph.output
    drawn = latex.circuit_drawing(variant, values=True)
    for node, _ in t.graph.nodes:
        assert f"{{${tex_array(np.asarray(first[node]), t.significant, zeros=True)}$}}" in drawn, node
        assert f"{{${tex_array(np.asarray(first['d' + node]), t.significant, zeros=True)}$}}" in drawn, node
    assert first["d" + out] == 1.0


def test_the_local_derivatives_stand_beside_each_nodes_rule():
    t = bank.load("circuit_basic")
    local = latex.local_derivatives(t)
    assert local["q"] == (r"\frac{\partial {q}}{\partial {x}} = 1", r"\frac{\partial {q}}{\partial {y}} = 1")
    assert local["f"] == (r"\frac{\partial {f}}{\partial {q}} = {z}", r"\frac{\partial {f}}{\partial {z}} = {q}")
    sigy = r"{\mathrm{sigy}}"
    assert local["sigy"] == (rf"\frac{{\partial {sigy}}}{{\partial {{y}}}} = {sigy} \cdot \left(1 - {sigy}\right)",)
    _, key, variant = _documents(t, 1)
    assert key.count("local derivatives:") == len(t.graph.nodes)
    # a negative number in a slot with parentheses of its own gets no second pair: sigma(-2.5), (-1) + (-2.5)
    assert variant.given["y"] < 0 and variant.given["x"] < 0
    assert rf"\sigma\left({latex.tex_scalar(variant.given['y'], 4)}\right)" in key and "\\left((" not in key
    x, y = (latex.tex_scalar(variant.given[k], 4) for k in "xy")
    assert f"\\hwgenpiece{{({x})}}\\hwgenpiece{{{{}} + ({y})}}" in key


@pytest.mark.parametrize("name", GRAPHS)
def test_gates_of_a_column_and_wires_passing_it_never_touch(name):
    t = bank.load(name)
    at, bends = circuit.layout(t)
    spots = list(at.values()) + [p for points in bends.values() for p in points]
    for x in {x for x, _ in spots}:
        ys = sorted(y for x2, y in spots if x2 == x)
        assert min(np.diff(ys), default=circuit.ROW_GAP) >= circuit.ROW_GAP - 1e-9
    # every wire runs left to right: a node's column is after each of its inputs'
    for node, text in t.graph.nodes:
        step = next(s for s in t.problem.steps if s.name == node)
        assert all(at[k][0] < at[node][0] for k in step.inputs)


@pytest.mark.parametrize("sizes, activations, loss", [
    ([2, 3, 2, 1], ["sigmoid", "tanh", "sigmoid"], "mse_half"),
    ([2, 3, 3, 3, 1], ["sigmoid", "relu", "tanh", "sigmoid"], "mse_half"),
    ([4, 3, 3], ["tanh", "softmax"], "cce"),
])
def test_a_network_of_any_depth_is_drawn_one_column_per_layer_with_numbers_that_never_touch(tmp_path, sizes,
                                                                                          activations, loss):
    t = _deep(tmp_path, sizes, activations, loss)
    variant = sample(t, 3)
    net = latex.drawing(variant)
    assert len(net.links) == len(net.weights) == sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
    assert len({u.x for u in net.units}) == len(sizes) and len(net.captions) == len(sizes)
    expected = [latex.tex_scalar(v, 4) for k in range(1, len(sizes)) for j in range(sizes[k])
                for v in [variant.given[f"b{k}"][j], *variant.given[f"W{k}"][:, j]]]
    assert [w.number for w in net.weights] == expected
    for x in {w.x for w in net.weights}:
        ys = sorted(float(w.y) for w in net.weights if w.x == x)
        assert min(np.diff(ys)) >= latex.LABEL_CLEAR * latex.PT_PER_CM - 0.01
    xs = sorted({float(u.x) for u in net.units})
    assert xs[-1] - xs[0] <= latex.DRAWING_WIDTH * latex.PT_PER_CM + 0.01
    sheet, key, _ = _documents(t, 3)
    hidden = "hidden 1: " if len(sizes) > 3 else "hidden: "
    assert hidden in sheet and f"A {'-'.join(map(str, sizes))} network" in sheet


@pytest.mark.parametrize("sizes, numbered", [([5, 6, 4, 1], (False, True, True)),
                                              ([8, 8, 8, 8, 8, 1], (False, False, False, False, True))])
def test_a_network_too_wide_for_its_numbers_leaves_the_roomiest_layers_to_the_matrices(tmp_path, sizes, numbered):
    t = _deep(tmp_path, sizes, ["tanh"] * (len(sizes) - 2) + ["linear"])
    layout = latex._layout(tuple(sizes), tuple(t.network.activations))
    assert layout.numbered == numbered
    assert len(layout.spots) == sum((a + 1) * b for a, b, shown in zip(sizes, sizes[1:], numbered) if shown)
    ys = [float(u.y) for u in layout.units]
    assert max(ys) - min(ys) <= latex.DRAWING_HEIGHT * latex.PT_PER_CM
    left = " and ".join(str(k + 1) for k, shown in enumerate(numbered) if not shown)
    assert f"of layer{'s' if left.count('and') else ''} {left} are too many" in layout.note
    for x in {x for x, _ in layout.spots}:
        column = sorted(float(y) for x2, y in layout.spots if x2 == x)
        assert min(np.diff(column)) >= latex.LABEL_CLEAR * latex.PT_PER_CM - 0.01


def test_weight_decay_and_softmax_with_cross_entropy_are_written_as_the_engine_computes_them():
    _, key, variant = _documents(bank.load("l2_regression"), 1)
    assert r"\frac{{\lambda}}{2} \left(\lVert {W^{(1)}} \rVert^{2} + \lVert {W^{(2)}} \rVert^{2}\right)" in key
    assert r"{\frac{\partial L}{\partial W^{(1)}}} = {X}^{\top} {\delta^{(1)}} + {\lambda} \, {W^{(1)}}" in key
    assert r"\lambda = 0.1" in key and "weight decay" in key
    _, key, variant = _documents(bank.load("softmax_classifier"), 1)
    assert r"{\delta^{(2)}} = \frac{1}{{n}} \left({\hat{Y}} - {Y}\right)" in key
    assert r"L = -\frac{1}{{n}} \sum {Y} \odot \log {\hat{Y}}" in key and "softmax outputs" in key


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="needs pdflatex")
def test_every_bundled_templates_worksheet_and_key_compile_with_nothing_off_the_page(tmp_path):
    """All of them in one pdflatex run (one preamble, every document's body after it, as generate --pdf does)."""
    docs = [doc for name in RENDERED for doc in _documents(bank.load(name), 5)[:2]]
    preamble = docs[0].split("\\begin{document}")[0]
    assert all(doc.startswith(preamble) for doc in docs)
    bodies = [doc.split("\\begin{document}")[1].split("\\end{document}")[0] for doc in docs]
    (tmp_path / "all.tex").write_text(preamble + "\\begin{document}" + "".join(bodies) + "\\end{document}\n")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "all.tex"], cwd=tmp_path,
                         capture_output=True, text=True)
    log = (tmp_path / "all.log").read_text(errors="replace")
    assert run.returncode == 0, log[-3000:]
    assert "Overfull" not in log, re.findall(r"Overfull.*", log)
    assert len((tmp_path / "all.pages").read_text().split()) == len(docs)


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="needs pdflatex")
def test_an_exam_of_a_graph_a_deep_network_and_a_per_sample_graph_compiles_with_a_box_per_answer(tmp_path):
    from hwgen.generate import build_student

    asked = {"circuit_basic": ["q", "dq", "dx"], "mlp_2hidden": ["Z2", "dW1"], "regression_graph_002": ["a1", "dw11"]}
    specs = tuple(ProblemSpec(f"p{i + 1}", bank.load(name), {q: 1.0 for q in qs})
                  for i, (name, qs) in enumerate(asked.items()))
    a = Assignment(title="Midterm", course="CS 101", due="2026-12-01", seed=1, name="mid", instructions="Work alone.",
                   problems=specs, mode="exam")
    files = build_student(a, STUDENT, writers=("exam",)).files
    (tmp_path / "exam.tex").write_text(files["exams/s-01.tex"])
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "exam.tex"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:]
    tex = files["exams/s-01.tex"]
    pages = int(re.search(r"Output written on exam.pdf \((\d+) pages", run.stdout)[1])
    assert pages % 2 == 0 and pages == tex.count("\\hwgenpage{") - 1  # one is the command's definition
    assert tex.count("\\begin{tikzpicture}") == 3
    # a box for each number (q, dq, dx, dw11), a 3 x 2 grid for Z2, 2 x 3 for dW1, one row of 3 for a1
    assert len(re.findall(r"\\begin\{tabular\}\[c\]\{\|p\{3.5cm\}\|\}", tex)) == 4
    assert "{r*{2}{|p{2.3cm}}|}" in tex and "{r*{3}{|p{2.3cm}}|}" in tex


def test_float_noise_around_an_exact_zero_is_written_0():
    """0.1 + 0.2 - 0.3 is 5.6e-17 in floats: a key wrote -0.00000000000000002776 for such a pre-activation."""
    noise = 0.1 + 0.2 - 0.3
    assert noise != 0 and abs(noise) < 1e-12
    assert latex.tex_array(np.asarray([[noise, 1.05]]), 4, zeros=True) == r"\begin{bmatrix} 0 & 1.050 \end{bmatrix}"
    assert latex.tex_scalar(noise, 4) == "0" and latex.tex_scalar(1e-9, 4) == "0.000000001"
