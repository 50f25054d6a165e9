"""A class of networks of any depth and computation graphs, end to end through the CLI: `hwgen generate` writes
worksheets and keys that compile and notebooks that `hwgen grade` grades: the key's exact answers and answers
rounded to the stated digits get full marks, an early slip costs that item only (its consequences are carried
forward), a wrong answer scores nothing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import nbformat
import numpy as np
import pytest

from hwgen.engine import evaluate, inputs
from hwgen.grade.manifest import load_manifest
from hwgen.numfmt import round_sig

from .grade_support import make_class

ASSIGNMENT = """\
title: Any problem
seed: 12
problems:
  - template: mlp_2hidden
  - template: softmax_classifier
  - template: l2_regression
  - template: circuit_basic
  - template: sigmoid_neuron_graph
  - template: regression_graph_002
  - template: bce_net
"""
STUDENTS = [("exact", "Ada"), ("rounded", "Bo"), ("slip", "Cy"), ("wrong", "Di")]
SLIP = {"p1": "Z2", "p2": "A1", "p3": "A1", "p4": "q", "p5": "d", "p6": "e1", "p7": "Z1"}  # an early step of each
WRONG = {"p1": "dW1", "p2": "dZ2", "p3": "dW1", "p4": "dx", "p5": "dw0", "p6": "dw11", "p7": "dW1"}


def _answers(spec, record, how):
    """Every step of a student's variant, worked out from the given numbers; `slip`: one early step off by 30%,
    every later one computed from it; `rounded`: every value rounded to the stated digits as it is worked out."""
    trace = inputs(spec.template.problem, record["given"], record.get("network", {}).get("lr", 0.0))
    for step in spec.template.problem.steps:
        value = evaluate(step, trace)
        if how == "slip" and step.name == SLIP[spec.key]:
            value = value * 1.3 + 0.1
        trace[step.name] = round_sig(value, spec.template.significant) if how == "rounded" else value
    if how == "wrong":
        trace[WRONG[spec.key]] = -2 * trace[WRONG[spec.key]] - 0.5
    return trace


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class generated, every student's notebook filled in as they work and graded: (folder, manifest, JSON)."""
    root = tmp_path_factory.mktemp("anyproblem")
    folder, manifest = make_class(root, STUDENTS, ASSIGNMENT)
    for sid, _ in STUDENTS:
        nb = nbformat.read(folder / "release" / sid / "hw" / "hw.ipynb", as_version=4)
        work = {spec.key: _answers(spec, manifest.students[sid]["problems"][spec.key], sid)
                for spec in manifest.problems}
        specs = {spec.key: spec for spec in manifest.problems}
        for cell in nb.cells:
            if "hwgen" in cell.metadata:
                key, q, variable = (cell.metadata.hwgen[k] for k in ("problem", "quantity", "variable"))
                shown = specs[key].template.display.value(work[key][q], q)
                cell.source = f"{variable} = np.array({shown.tolist()!r})"
        target = folder / "submitted" / sid / "hw" / "hw.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(nb, target)
    out = subprocess.run([sys.executable, "-m", "hwgen", "grade", str(folder), "--jobs", "1",
                          "--json", str(root / "grades.json")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return folder, load_manifest(folder), json.loads((root / "grades.json").read_text(encoding="utf-8"))


def test_exact_and_rounded_answers_get_full_marks(graded):
    _, _, report = graded
    for sid in ("exact", "rounded"):
        assert report[sid]["score"] == report[sid]["max"], [i for i in report[sid]["items"] if i["status"] != "correct"]


def test_an_early_slip_costs_only_its_own_item(graded):
    _, manifest, report = graded
    items = {(i["problem"], i["quantity"]): i for i in report["slip"]["items"]}
    for key, q in SLIP.items():
        assert items[key, q]["status"] == "wrong" and items[key, q]["points"] == 0, items[key, q]
    lost = sum(i["max_points"] - i["points"] for i in items.values())
    assert lost == sum(spec.asked.get(SLIP[spec.key], 0) for spec in manifest.problems)
    assert sum(i["status"] == "correct_ecf" for i in items.values()) >= 7  # the slips' consequences


def test_a_wrong_answer_scores_nothing(graded):
    _, manifest, report = graded
    items = {(i["problem"], i["quantity"]): i for i in report["wrong"]["items"]}
    assert {(k, q): items[k, q]["status"] for k, q in WRONG.items()} == {(k, q): "wrong" for k, q in WRONG.items()}
    assert report["wrong"]["score"] == report["wrong"]["max"] - sum(
        spec.asked[WRONG[spec.key]] for spec in manifest.problems)


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="needs pdflatex (see .ci/run)")
@pytest.mark.parametrize("kind", ["worksheets", "keys"])
def test_worksheet_and_key_compile(graded, kind, tmp_path):
    folder, _, _ = graded
    shutil.copy(folder / kind / "exact.tex", tmp_path / "s.tex")
    out = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "s.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:]
    assert (tmp_path / "s.pdf").stat().st_size > 10_000


def test_answers_of_the_grader_are_the_notebooks_checks(graded):
    """The class's manifest answers are what the instructor notebook's solution code computes."""
    folder, manifest, _ = graded
    nb = nbformat.read(folder / "source" / "exact" / "hw" / "hw.ipynb", as_version=4)
    namespace: dict = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("grade"):
            exec(cell.source, namespace)
    for spec in manifest.problems:
        for q in spec.asked:
            expected = spec.template.display.value(manifest.students["exact"]["problems"][spec.key]["answers"][q], q)
            np.testing.assert_allclose(np.asarray(namespace[spec.variable(q)]).reshape(expected.shape), expected,
                                       rtol=1e-9, atol=1e-12, err_msg=spec.variable(q))
