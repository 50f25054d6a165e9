"""Notebooks run in a real Jupyter kernel (nbclient + ipykernel): instructor, student, filled-in and wrong."""

from __future__ import annotations

import numpy as np
import pytest

from hwgen.numfmt import round_sig
from hwgen.render.notebook import instructor_notebook, student_notebook

from .names import ANSWER_NAMES
from .notebook_support import ASSIGNMENT, answer_cells, execute, failures, fill, key_values, restore_tests, student_problems

# Every template of the bank, one of them asking every quantity, one at 3 significant digits.
BANK = [("xor_net", {}), ("regression_3hidden", {}), ("bce_net", {}), ("relu_sigmoid", {"asked": list(ANSWER_NAMES)}),
        ("batch_vectorized", {"significant": 3})]


@pytest.fixture(scope="module")
def notebooks():
    """(problems, instructor notebook, student notebook) of one student."""
    problems = student_problems(BANK, "k-042")
    inst = instructor_notebook(problems, ASSIGNMENT, student="k-042")
    return problems, inst, student_notebook(inst)


def _tests(nb):
    """Ids of the test cells."""
    return [c.id for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


def test_instructor_notebook_runs_with_every_test_passing(notebooks):
    _, inst, _ = notebooks
    ran = execute(inst)
    assert failures(ran) == {}
    outputs = {c.id: "".join(o.get("text", "") for o in c.outputs) for c in ran.cells if c.cell_type == "code"}
    assert all(outputs[t].endswith("type and shape OK\n") for t in _tests(inst))


def test_student_notebook_runs_with_only_the_answer_cells_raising(notebooks):
    _, _, stud = notebooks
    ran = execute(stud)
    assert failures(ran) == {variable: "NotImplementedError" for variable in answer_cells(stud)}
    outputs = {c.id: "".join(o.get("text", "") for o in c.outputs) for c in ran.cells if c.cell_type == "code"}
    assert all("is not answered yet" in outputs[t] for t in _tests(stud))


def test_the_keys_values_typed_in_pass_every_visible_and_hidden_check(notebooks):
    problems, inst, stud = notebooks
    digits = {spec.variable(q): spec.template.significant for spec, _ in problems for q in spec.asked}
    typed = {k: round_sig(v, digits[k]) for k, v in key_values(problems).items()}  # as a student types them
    typed["p1_L"] = float(typed["p1_L"])  # a number, not an array
    typed["p3_b1_new"] = np.asarray(typed["p3_b1_new"]).reshape(1, -1)  # a one-row array for a vector
    visible = execute(fill(stud, typed))
    assert failures(visible) == {}
    graded = execute(restore_tests(fill(stud, typed), inst))  # the hidden tests back, as nbgrader's autograde does
    assert failures(graded) == {}
    assert "BEGIN HIDDEN TESTS" in next(c.source for c in graded.cells if c.id == "test_p1_L")


def test_wrong_values_fail_the_hidden_tests_in_the_kernel(notebooks):
    problems, inst, stud = notebooks
    key = key_values(problems)
    # every answer of p1 and p4 (all 17 quantities) wrong but one; the other problems right
    wrong = {k: v + 0.2 * max(1.0, float(np.max(np.abs(v)))) if k[:3] in ("p1_", "p4_") and k != "p4_dW1" else v
             for k, v in key.items()}
    graded = execute(restore_tests(fill(stud, wrong), inst))
    assert failures(graded) == {f"test_{k}": "AssertionError" for k in key if k[:3] in ("p1_", "p4_") and k != "p4_dW1"}
