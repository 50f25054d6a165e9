"""A class with the three calculus templates and shape questions, end to end: generated (worksheet, key, notebook),
notebooks filled by students (exact numbers, expressions in other forms, planted mistakes, hostile strings, an error
carried forward) and graded by `hwgen grade`. The students' answers are worked out here with sympy from the
functions the manifest prints, not taken from hwgen's key."""

from __future__ import annotations

import ast
import builtins
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest
import sympy

from hwgen.cli import main as hwgen_main
from hwgen.grade.checks import grade_problem
from hwgen.grade.manifest import ClassManifest

from .grade_support import make_class

ASSIGNMENT = """\
title: Derivatives
seed: 13
problems:
  - template: gradient_quadratic
    asked: [f, grad_f, grad_f_expr]
  - template: jacobian_2x2
    asked: [F, J_F, J_F_expr]
  - template: chain_rule
    asked: [u, v, J_G, J_F, D_F_G, J_G_expr, J_F_expr, D_F_G_expr]
  - template: xor_net
    display: {layout: rows}
    asked: [dZ2, "shape(dZ2 @ W2.T)", "shape( dW2 )", "shape(X, n)", "shape(dZ2 @ W2.T, n)"]
"""
STUDENTS = [("ada", "Ada"), ("bob", "Bob"), ("cat", "Cat"), ("dan", "Dan"), ("eve", "Eve")]
x, y, u, v = sympy.symbols("x y u v")


def _record(manifest: ClassManifest, sid: str, key: str) -> dict[str, Any]:
    return manifest.students[sid]["problems"][key]


def _functions(record: dict[str, Any]) -> dict[str, Any]:
    """The printed functions, read by sympy (the instructor's own text)."""
    return {name: [sympy.sympify(e) for e in text] if isinstance(text, list) else sympy.sympify(text)
            for name, text in record["calculus"]["functions"].items()}


def _keys(manifest: ClassManifest, sid: str) -> dict[str, dict[str, Any]]:
    """Every calculus answer of a student worked out here: problem -> quantity -> sympy matrix (expressions) or
    numbers."""
    out: dict[str, dict[str, Any]] = {}
    f = _functions(_record(manifest, sid, "p1"))["f"]
    grad = sympy.Matrix([[f.diff(x), f.diff(y)]])
    point = _record(manifest, sid, "p1")["calculus"]["point"]
    at = {x: point["x"], y: point["y"]}
    out["p1"] = {"f": float(f.subs(at)), "grad_f_expr": grad, "grad_f": np.array(grad.subs(at), dtype=float)[0]}
    big_f = sympy.Matrix(_functions(_record(manifest, sid, "p2"))["F"])
    jac = big_f.jacobian([x, y])
    point = _record(manifest, sid, "p2")["calculus"]["point"]
    at = {x: point["x"], y: point["y"]}
    out["p2"] = {"F": np.array(big_f.subs(at), dtype=float)[:, 0], "J_F_expr": jac,
                 "J_F": np.array(jac.subs(at), dtype=float)}
    fs = _functions(_record(manifest, sid, "p3"))
    g, outer = sympy.Matrix(fs["G"]), sympy.Matrix(fs["F"])
    jg, jf = g.jacobian([x]), outer.jacobian([u, v])
    d = (jf.subs({u: g[0], v: g[1]}, simultaneous=True) * jg).applyfunc(sympy.expand)
    x0 = _record(manifest, sid, "p3")["calculus"]["point"]["x"]
    at_g = {u: g[0].subs(x, x0), v: g[1].subs(x, x0)}
    out["p3"] = {"u": float(at_g[u]), "v": float(at_g[v]), "J_G_expr": jg, "J_F_expr": jf, "D_F_G_expr": d,
                 "J_G": np.array(jg.subs(x, x0), dtype=float), "J_F": np.array(jf.subs(at_g), dtype=float),
                 "D_F_G": np.array(d.subs(x, x0), dtype=float)}
    return out


def _other_form(e: sympy.Expr) -> str:
    """The same expression written otherwise: factored, ^ for powers, 2x for 2*x."""
    return re.sub(r"(\d)\*([a-z(])", r"\1\2", str(sympy.factor(e)).replace("**", "^"))


def _texts(m: sympy.Matrix, scalar_outer: bool = False) -> list:
    """A matrix of expressions as the nested strings a notebook holds (a gradient: one list)."""
    rows = [[_other_form(e) for e in row] for row in m.tolist()]
    return rows[0] if scalar_outer else rows


def _source(variable: str, value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"{variable} = np.array({value.tolist()!r})"
    return f"{variable} = {value!r}"


def _submit(folder: Path, manifest: ClassManifest, sid: str, values: dict[str, Any]) -> None:
    """The student's release notebook with these answer variables assigned."""
    nb = nbformat.read(folder / "release" / sid / manifest.name / f"{manifest.name}.ipynb", as_version=4)
    for cell in nb.cells:
        variable = cell.metadata.get("hwgen", {}).get("variable")
        if variable in values:
            cell.source = _source(variable, values[variable])
    path = folder / "submitted" / sid / manifest.name / f"{manifest.name}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def _exact(manifest: ClassManifest, sid: str) -> dict[str, Any]:
    """Every answer right: numbers exact, expressions in other forms, shapes (xor_net: 2-2-1 on 4 samples, one
    row per sample: dZ2 4 x 1, W2 2 x 1) as tuples."""
    values: dict[str, Any] = {"p4_dZ2": np.asarray(_record(manifest, sid, "p4")["answers"]["dZ2"]),
                              "p4_shape_dZ2_at_W2T": (4, 2), "p4_shape_dW2": (2, 1), "p4_shape_n_X": ("n", 2),
                              "p4_shape_n_dZ2_at_W2T": ("n", 2)}
    for key, answers in _keys(manifest, sid).items():
        for q, value in answers.items():
            values[f"{key}_{q}"] = _texts(value, q == "grad_f_expr") if q.endswith("_expr") else value
    return values


CANARY = "hwgen-calculus-canary"
HOSTILE = ["__import__('os').system('touch {canary}')", "10**10**10", "lambda: 1", "(lambda: x)()",
           "().__class__.__bases__[0].__subclasses__()", "open('{canary}', 'w')", "x if x else y",
           "[x for x in ()]", "x.__class__", "exec('import os')", "globals()", "2" * 500]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("calculus")
    folder, manifest = make_class(root, STUDENTS, ASSIGNMENT)
    canary = root / CANARY
    _submit(folder, manifest, "ada", _exact(manifest, "ada") | {"p4_shape_dW2": "2 by 1",
                                                                "p4_shape_n_dZ2_at_W2T": "n x 2"})
    bob, keys = _exact(manifest, "bob"), _keys(manifest, "bob")
    a, b = (float(_record(manifest, "bob", "p1")["given"][k]) for k in ("a", "b"))
    inner = a * x + b * y
    bob |= {"p1_grad_f_expr": [_other_form(2 * inner), _other_form(2 * inner)],  # chain factor a, b missing
            "p2_J_F": keys["p2"]["J_F"].T,  # numbers transposed (the expression is right)
            "p3_J_F_expr": _texts(keys["p3"]["J_F_expr"].T),  # the expression transposed
            "p4_shape_dZ2_at_W2T": "2 by 4", "p4_shape_dW2": (2, 2),  # transposed; dW1's shape
            "p4_shape_n_X": "4 by 2"}  # the number of samples where any n is asked
    _submit(folder, manifest, "bob", bob)
    hostile = [h.format(canary=canary) for h in HOSTILE]
    _submit(folder, manifest, "cat", _exact(manifest, "cat") | {
        "p1_grad_f_expr": hostile[0:2], "p2_J_F_expr": [hostile[2:4], hostile[4:6]],
        "p3_J_G_expr": [[hostile[6]], [hostile[7]]], "p3_J_F_expr": [hostile[8:10], hostile[10:12]],
        "p3_D_F_G_expr": "__import__('os').system('touch %s')" % canary,
        "p4_shape_dZ2_at_W2T": "__import__('os').system('touch %s')" % canary})
    dan, keys = _exact(manifest, "dan"), _keys(manifest, "dan")
    own = keys["p3"]["J_F_expr"].copy()
    own[0, 0] += 1  # one entry of DF wrong, the rest of the work consistent with it
    g = sympy.Matrix([x, _functions(_record(manifest, "dan", "p3"))["G"][1]])
    own_d = (own.subs({u: g[0], v: g[1]}, simultaneous=True) * keys["p3"]["J_G_expr"]).applyfunc(sympy.expand)
    at_g = {u: keys["p3"]["u"], v: keys["p3"]["v"]}
    own_jf = np.array(own.subs(at_g), dtype=float)
    dan |= {"p3_J_F_expr": _texts(own), "p3_D_F_G_expr": _texts(own_d), "p3_J_F": own_jf,
            "p3_D_F_G": own_jf @ keys["p3"]["J_G"]}
    _submit(folder, manifest, "dan", dan)
    eve, keys = _exact(manifest, "eve"), _keys(manifest, "eve")
    a, b = (float(_record(manifest, "eve", "p1")["given"][k]) for k in ("a", "b"))
    as_function = 2 * (a * x + b * y) * (a + b)  # y treated as a function of x with dy/dx = 1 (and back)
    point = _record(manifest, "eve", "p1")["calculus"]["point"]
    no_chain = float((2 * (a * x + b * y)).subs({x: point["x"], y: point["y"]}))
    eve |= {"p1_grad_f_expr": [_other_form(as_function), _other_form(as_function)],
            "p1_grad_f": np.array([no_chain, no_chain])}  # numbers without the chain factor
    _submit(folder, manifest, "eve", eve)
    out = root / "report.json"
    assert hwgen_main(["grade", str(folder), "--jobs", "1", "--quiet", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    items = {sid: {(i["problem"], i["quantity"]): i for i in entry["items"]} for sid, entry in report.items()}
    return folder, manifest, report, items, canary


def test_exact_numbers_and_expressions_in_other_forms_get_full_marks(graded):
    _, manifest, report, items, _ = graded
    assert report["ada"]["score"] == manifest.max_points, [i for i in items["ada"].values() if i["status"] != "correct"]
    assert items["ada"][("p1", "grad_f_expr")]["message"].startswith("Correct")


def test_planted_mistakes_are_wrong_and_named(graded):
    _, _, _, items, _ = graded
    named = {k: (i["status"], i["misconception"]) for k, i in items["bob"].items() if i["status"] != "correct"}
    assert named == {
        ("p1", "grad_f_expr"): ("wrong", "missing_chain_factor"),
        ("p2", "J_F"): ("wrong", "transposed_jacobian"),
        ("p3", "J_F_expr"): ("wrong", "transposed_jacobian"),
        ("p4", "shape(dZ2 @ W2.T)"): ("wrong", "transposed_shape"),
        ("p4", "shape(dW2)"): ("wrong", "other_layer_shape"),
        ("p4", "shape(X, n)"): ("wrong", None),
    }
    assert "any number of samples n" in items["bob"][("p4", "shape(X, n)")]["message"]
    assert "dW1" in items["bob"][("p4", "shape(dW2)")]["message"]
    assert items["eve"][("p1", "grad_f_expr")]["misconception"] == "other_variable_as_function"
    assert items["eve"][("p1", "grad_f")]["misconception"] == "missing_chain_factor"


def test_hostile_strings_are_invalid_and_never_run(graded):
    _, _, report, items, canary = graded
    for key in [("p1", "grad_f_expr"), ("p2", "J_F_expr"), ("p3", "J_G_expr"), ("p3", "J_F_expr"),
                ("p3", "D_F_G_expr"), ("p4", "shape(dZ2 @ W2.T)")]:
        item = items["cat"][key]
        assert item["status"] == "invalid" and item["points"] == 0, item
    assert "only these functions may be called" in items["cat"][("p1", "grad_f_expr")]["message"]
    assert "not a shape" in items["cat"][("p4", "shape(dZ2 @ W2.T)")]["message"]
    assert not canary.exists()
    numbers = [i for i in items["cat"].values() if not i["quantity"].endswith("_expr") and "shape" not in i["quantity"]]
    assert all(i["status"] in ("correct", "missing") for i in numbers)


def test_an_error_in_df_is_carried_into_the_numbers_and_the_chain_rule(graded):
    _, _, _, items, _ = graded
    dan = {k: i["status"] for k, i in items["dan"].items() if k[0] == "p3"}
    assert dan == {("p3", "u"): "correct", ("p3", "v"): "correct", ("p3", "J_G"): "correct",
                   ("p3", "J_G_expr"): "correct", ("p3", "J_F_expr"): "wrong", ("p3", "J_F"): "correct_ecf",
                   ("p3", "D_F_G"): "correct_ecf", ("p3", "D_F_G_expr"): "correct_ecf"}


def test_the_trusted_checks_never_evaluate_student_text(graded, monkeypatch):
    """In-process, with every evaluator watched (sympy's lambdify of the trusted key may still run its own code; the
    parser may build a syntax tree, compile's PyCF_ONLY_AST, which makes no code): no student text reaches one,
    and the hostile strings are `invalid`, a right one `correct`."""
    _, manifest, _, _, _ = graded
    student, reached = ("__import__", "lambda:", "__class__", "open(", "x*2 + 0*x"), []

    def watched(real, name):
        def call(source, *args, **kwargs):
            flags = args[2] if len(args) > 2 else kwargs.get("flags", 0)
            tree_only = name == "compile" and flags & ast.PyCF_ONLY_AST
            if any(s in str(source) for s in student) and not tree_only:
                reached.append(source)
            return real(source, *args, **kwargs)
        return call
    spec = next(s for s in manifest.problems if s.key == "p3")
    values = {"J_F_expr": [HOSTILE[0:2], HOSTILE[2:4]], "D_F_G_expr": [[HOSTILE[4]], [HOSTILE[5]]],
              "J_G_expr": [["1"], ["x*2 + 0*x"]]}
    with monkeypatch.context() as patch:
        for target, name in [(builtins, "eval"), (builtins, "exec"), (builtins, "compile"), (sympy, "sympify"),
                             (sympy.parsing.sympy_parser, "parse_expr")]:
            patch.setattr(target, name, watched(getattr(target, name), name))
        items = grade_problem(spec, _record(manifest, "cat", "p3"), values, {}, {})
    assert not reached
    status = {i.quantity: i.status for i in items}
    assert status["J_F_expr"] == status["D_F_G_expr"] == "invalid" and status["J_G_expr"] == "correct"


def test_worksheet_key_and_notebook_show_the_students_functions(graded):
    folder, manifest, _, _, _ = graded
    fs = _functions(_record(manifest, "ada", "p2"))["F"]
    key = (folder / "keys" / "ada.tex").read_text()
    sheet = (folder / "worksheets" / "ada.tex").read_text()
    for text in (key, sheet):
        assert sympy.latex(fs[1], mul_symbol="dot") in text  # F's second component with Ada's parameters
        assert r"\operatorname{shape}" in text
    assert r"\nabla f(x, y)" in key and "question (c)" in key
    jacobian = sympy.Matrix(fs).jacobian([x, y])  # the key's derivatives are Ada's own, never the template's letters
    assert all(sympy.latex(sympy.simplify(e), mul_symbol="dot") in key for e in jacobian)
    assert not re.search(r"[^\\a-z]a \\cdot", key)
    nb = nbformat.read(folder / "source" / "ada" / manifest.name / f"{manifest.name}.ipynb", as_version=4)
    variables = {c.metadata["hwgen"]["variable"] for c in nb.cells if "hwgen" in c.metadata}
    assert {"p1_grad_f_expr", "p3_D_F_G_expr", "p4_shape_dZ2_at_W2T", "p4_shape_n_X"} <= variables


def test_the_instructor_notebook_passes_its_own_tests(graded):
    """Each solution cell, then its test cell (visible and hidden checks), run in one namespace: no failure."""
    folder, manifest, _, _, _ = graded
    nb = nbformat.read(folder / "source" / "bob" / manifest.name / f"{manifest.name}.ipynb", as_version=4)
    namespace: dict[str, Any] = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            exec(compile(cell.source, cell.metadata.get("nbgrader", {}).get("grade_id", "cell"), "exec"), namespace)
    assert namespace["p4_shape_n_dZ2_at_W2T"] == ("n", 2) and isinstance(namespace["p1_grad_f_expr"][0], str)


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_worksheet_and_key_compile(graded, tmp_path):
    folder = graded[0]
    for kind in ("worksheets", "keys"):
        shutil.copy(folder / kind / "ada.tex", tmp_path / f"{kind}.tex")
        done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"{kind}.tex"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout[-2000:]


def test_grading_a_network_class_with_shape_questions_never_imports_sympy():
    """sympy (~0.35 s, ~50 MB per grading process) is for calculus problems only."""
    code = """
import sys
from hwgen import bank
from hwgen.grade.checks import grade_problem
from hwgen.problem import ProblemSpec, apply_overrides
from hwgen.sampling import sample
import hwgen.grade.chunks, hwgen.render.latex, hwgen.render.notebook.build, hwgen.exam.typed, hwgen.exam.keys
t = apply_overrides(bank.load("xor_net"), {"asked": ["L", "shape(dW2)"], "display": {"layout": "rows"}})
spec = ProblemSpec("p1", t, {"L": 1.0, "shape(dW2)": 1.0})
items = grade_problem(spec, sample(t, 1).record("p1"), {"shape(dW2)": [2.0, 1.0]}, {}, {})
assert [i.status for i in items] == ["missing", "correct"], items
print("sympy" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"


def _run_cells(nb: Any, answers: dict[str, str]) -> dict[str, str]:
    """The notebook's code cells run in order, the answer cells of `answers` replaced by those sources: the test
    cells that failed (grade_id -> message)."""
    namespace: dict[str, Any] = {}
    failed = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "cell")
        try:
            exec(compile(answers.get(grade_id, cell.source), grade_id, "exec"), namespace)
        except AssertionError as exc:
            failed[grade_id] = str(exc)
    return failed


def test_the_notebooks_hidden_checks_take_other_forms_and_catch_wrong_expressions(graded):
    """nbgrader's autograde runs the hidden checks: ada's other forms (^, 2x, factored) pass them, bob's planted
    mistakes fail them."""
    folder, manifest, _, _, _ = graded
    sources = {}
    for sid in ("ada", "bob"):
        nb = nbformat.read(folder / "submitted" / sid / manifest.name / f"{manifest.name}.ipynb", as_version=4)
        sources[sid] = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells if "hwgen" in c.metadata}
    for sid, expected in (("ada", {}), ("bob", {"test_p1_grad_f_expr", "test_p2_J_F", "test_p3_J_F_expr"})):
        nb = nbformat.read(folder / "source" / sid / manifest.name / f"{manifest.name}.ipynb", as_version=4)
        failed = _run_cells(nb, {k: v for k, v in sources[sid].items() if k.startswith(("p1", "p2", "p3"))})
        assert set(failed) == set(expected), failed


@pytest.mark.parametrize("seed", range(6))
def test_the_chain_rule_in_the_wrong_order_is_named_where_the_product_fits(seed):
    """chain_rule_2d: both Jacobians 2 x 2, so DG DF multiplies; as numbers and as expressions it is named."""
    from hwgen import bank
    from hwgen.problem import ProblemSpec, apply_overrides
    from hwgen.sampling import sample
    t = apply_overrides(bank.load("chain_rule_2d"), {"asked": ["D_F_G", "D_F_G_expr"]})
    record = sample(t, seed).record("p1")
    fs = _functions(record)
    g, outer = sympy.Matrix(fs["G"]), sympy.Matrix(fs["F"])
    jg, jf = g.jacobian([x, y]), outer.jacobian([u, v]).subs({u: g[0], v: g[1]}, simultaneous=True)
    point = {x: record["calculus"]["point"]["x"], y: record["calculus"]["point"]["y"]}
    right, wrong = (jf * jg).applyfunc(sympy.expand), (jg * jf).applyfunc(sympy.expand)
    spec = ProblemSpec("p1", t, {"D_F_G": 2.0, "D_F_G_expr": 1.0})
    for values in ({"D_F_G": np.array(wrong.subs(point), dtype=float)}, {"D_F_G_expr": _texts(wrong)}):
        # each on its own: numbers that are the student's own expression put in would carry its error forward
        items = {i.quantity: (i.status, i.misconception) for i in grade_problem(spec, record, values, {}, {})}
        q = next(iter(values))
        if q == "D_F_G" and right.subs(point) == wrong.subs(point):  # the orders agree here: nothing to see
            assert items[q][0] == "correct"
        else:
            assert items[q] == ("wrong", "chain_rule_order")
    values = {"D_F_G": np.array(right.subs(point), dtype=float), "D_F_G_expr": _texts(right)}
    assert {i.status for i in grade_problem(spec, record, values, {}, {})} == {"correct"}


def test_the_mistakes_are_named_in_the_misconceptions_table_and_feedback(graded, tmp_path):
    folder = graded[0]
    table = subprocess.run([sys.executable, "-m", "hwgen", "misconceptions", str(folder)], capture_output=True,
                           text=True, timeout=120)
    assert table.returncode == 0, table.stderr
    for name in ("chain factor missing", "Jacobian transposed", "transposed shape", "the other layer's shape"):
        assert name in table.stdout, table.stdout
    assert hwgen_main(["feedback", str(folder), "--out", str(tmp_path / "fb")]) == 0
    assert "chain factor missing" in (tmp_path / "fb" / "bob.html").read_text()
