"""Notebooks built in-process: format, nbgrader metadata and checksums, solutions, tolerances of the hidden tests."""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess

import nbformat
import numpy as np
import pytest
from nbgrader.nbgraderformat import MetadataValidator
from nbgrader.utils import compute_checksum

from hwgen import bank
from hwgen.engine import Network, build_steps, evaluate, network_problem, solve
from hwgen.numfmt import round_sig
from hwgen.problem import ProblemSpec, apply_overrides
from hwgen.render.notebook import instructor_notebook, student_notebook
from hwgen.render.notebook.build import intro_cell
from hwgen.render.notebook.solution import solution_lines
from hwgen.tables import ACTIVATIONS, LOSSES

from .names import ANSWER_NAMES, GIVEN_NAMES
from .notebook_support import ASSIGNMENT, answer_cells, key_values, run_test_cells, student_problems

BANK = [("xor_net", {}), ("regression_3hidden", {}), ("bce_net", {}), ("relu_sigmoid", {"asked": list(ANSWER_NAMES)}),
        ("batch_vectorized", {"significant": 3})]
STUDENTS = ("s001", "s002", "zoë.k")


@pytest.fixture(scope="module")
def built():
    """student -> (problems, instructor notebook, student notebook), every bank template as p1..p5."""
    out = {}
    for sid in STUDENTS:
        problems = student_problems(BANK, sid)
        inst = instructor_notebook(problems, ASSIGNMENT, student=sid)
        out[sid] = (problems, inst, student_notebook(inst))
    return out


def test_every_notebook_validates_as_nbformat_4_and_nbgrader_3(built):
    for _, inst, stud in built.values():
        for nb in (inst, stud):
            nbformat.validate(nb)
            assert nb.nbformat == 4 and nb.metadata.kernelspec.language == "python"
            MetadataValidator().validate_nb(nb)
            assert all(c.metadata.nbgrader["schema_version"] == 3 for c in nb.cells if "nbgrader" in c.metadata)


def test_checksums_are_nbgraders_own(built):
    checked = 0
    for _, inst, stud in built.values():
        for cell in (c for nb in (inst, stud) for c in nb.cells if "nbgrader" in c.metadata):
            assert cell.metadata.nbgrader["checksum"] == compute_checksum(cell)
            assert cell.metadata.nbgrader["cell_type"] == cell.cell_type
            checked += 1
    assert checked > 300


def test_cells_per_problem_and_quantity(built):
    problems, inst, _ = built["s001"]
    ids = [c.id for c in inst.cells]
    assert len(ids) == len(set(ids))
    by_id = {c.id: c for c in inst.cells}
    intro = inst.cells[0].source
    assert "significant digits" in intro and "NumPy" in intro and "**Layout.**" in intro and "s001" in intro
    for spec, record in problems:
        given = by_id[f"{spec.key}_given"]
        assert given.metadata.nbgrader | {"checksum": None} == {
            "grade": False, "solution": False, "locked": True, "grade_id": f"{spec.key}_given", "schema_version": 3,
            "checksum": None, "cell_type": "code"}
        assert given.metadata.deletable is False and given.metadata.editable is False
        namespace: dict = {}
        exec(given.source, namespace)
        for k in GIVEN_NAMES:
            np.testing.assert_array_equal(namespace[f"{spec.key}_{k}"], spec.template.display.value(record["given"][k], k))
        assert namespace[f"{spec.key}_lr"] == record["network"]["lr"]
        statement = by_id[spec.key].source
        assert f"{spec.template.significant} significant digits" in statement
        assert f"{record['given']['W1'][0][0]:g}" in statement
        for q, points in spec.asked.items():
            variable = spec.variable(q)
            answer, test = by_id[variable], by_id[f"test_{variable}"]
            assert answer.metadata.hwgen == {"problem": spec.key, "quantity": q, "variable": variable}
            assert answer.metadata.nbgrader["grade_id"] == variable and answer.metadata.nbgrader["solution"]
            assert not answer.metadata.nbgrader["grade"] and "points" not in answer.metadata.nbgrader
            assert test.metadata.nbgrader["grade"] and test.metadata.nbgrader["points"] == points
            assert ids.index(f"test_{variable}") == ids.index(variable) + 1
    asked = [q for spec, _ in problems for q in spec.asked]
    assert list(answer_cells(inst)) == [spec.variable(q) for spec, _ in problems for q in ANSWER_NAMES if q in spec.asked]
    assert len(asked) > 60


def test_student_notebook_has_stubs_and_no_solutions_or_hidden_tests(built):
    problems, inst, stud = built["s002"]
    text = "\n".join(c.source for c in stud.cells)
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "_expected" not in text
    for variable, cell in answer_cells(stud).items():
        assert cell.source.endswith("# YOUR CODE HERE\nraise NotImplementedError()")
        assert cell.source.splitlines()[0] == answer_cells(inst)[variable].source.splitlines()[0]
    # a hidden value never reaches the student: the test cells hold no number with 5 or more digits
    for cell in stud.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            assert not re.search(r"\d\.\d{4,}", cell.source), cell.source
    assert [c.id for c in stud.cells] == [c.id for c in inst.cells]


def test_notebooks_are_reproducible_and_differ_between_students(built):
    problems, inst, _ = built["s001"]
    again = instructor_notebook(student_problems(BANK, "s001"), ASSIGNMENT, student="s001")
    assert nbformat.writes(again) == nbformat.writes(inst)
    assert nbformat.writes(built["s002"][1]) != nbformat.writes(inst)


def test_intro_states_per_problem_digits_when_they_differ(built):
    problems, _, _ = built["s001"]
    assert "Give every answer to 3 significant digits." in instructor_notebook(problems[4:], ASSIGNMENT).cells[0].source
    assert "Each problem says how many" in instructor_notebook(problems, ASSIGNMENT).cells[0].source


@pytest.mark.parametrize("hidden,output", list(itertools.product(sorted(ACTIVATIONS), sorted(ACTIVATIONS))))
def test_solution_code_computes_the_engine_trace(hidden, output):
    rng = np.random.default_rng(len(hidden) * 7 + len(output))
    for loss in sorted(LOSSES):
        net = Network((3, 2, 2), (hidden, output), loss, 0.3)
        steps = build_steps(net)
        given = {"X": rng.uniform(-1, 1, (4, 3)), "Y": rng.uniform(0.1, 0.9, (4, 2)), "W1": rng.uniform(-1, 1, (3, 2)),
                 "b1": rng.uniform(-1, 1, 2), "W2": rng.uniform(-1, 1, (2, 2)), "b2": rng.uniform(-1, 1, 2)}
        trace = solve(network_problem(net, 4), given, net.lr)
        namespace = {"np": np, "p7_lr": net.lr, **{f"p7_{k}": v for k, v in given.items()}}
        known: set[str] = set()
        for q in ANSWER_NAMES:
            with np.errstate(all="ignore"):
                exec("\n".join(solution_lines("p7", steps, q, known)), namespace)
            np.testing.assert_allclose(namespace[f"p7_{q}"], trace[q], rtol=1e-12, atol=1e-12, equal_nan=True,
                                       err_msg=f"{hidden}/{output}/{loss}: {q}")


def _rounding_student(spec, record, digits: int, jitter: float = 0.0, rng=None) -> dict[str, np.ndarray]:
    """A student who computes each step from their own earlier, rounded values; jitter adds relative error."""
    values = {k: np.asarray(v, dtype=float) for k, v in record["given"].items()}
    values["lr"], values["n"] = np.asarray(record["network"]["lr"]), np.asarray(float(len(values["X"])))
    for step in spec.template.steps:
        exact = evaluate(step, values)
        noise = rng.uniform(-jitter, jitter, np.shape(exact)) if jitter else 0.0
        values[step.name] = round_sig(exact * (1 + noise), digits)
    return {spec.variable(q): spec.template.display.value(values[q], q) for q in spec.asked}


@pytest.mark.parametrize("name,overrides", BANK)
def test_a_student_keeping_the_stated_digits_passes_every_hidden_test(name, overrides):
    rng = np.random.default_rng(5)
    for sid in (f"r{i}" for i in range(12)):
        problems = student_problems([(name, overrides)], sid)
        inst = instructor_notebook(problems, ASSIGNMENT)
        (spec, record), = problems
        digits = spec.template.significant
        u = 0.5 * 10.0 ** (1 - digits)
        key = key_values(problems)
        students = {"exact": key, "rounded key": {k: round_sig(v, digits) for k, v in key.items()},
                    "rounds every step": _rounding_student(spec, record, digits),
                    "more digits": _rounding_student(spec, record, digits + 2),
                    "is off by 1.5 rounding units per step": _rounding_student(spec, record, digits, jitter=u / 2, rng=rng)}
        for who, values in students.items():
            failed = {k: v for k, v in run_test_cells(inst, values).items() if v}
            assert not failed, f"{name} {sid}: a student who {who} fails {failed}"


@pytest.mark.parametrize("name,overrides", BANK)
def test_wrong_values_fail_the_hidden_tests(name, overrides):
    for sid in ("w1", "w2", "w3"):
        problems = student_problems([(name, overrides)], sid)
        inst = instructor_notebook(problems, ASSIGNMENT)
        key = key_values(problems)
        wrong = {k: v + 0.2 * max(1.0, float(np.max(np.abs(v)))) for k, v in key.items()}
        assert all(run_test_cells(inst, wrong).values())
        flipped = {k: -v for k, v in key.items()}
        # all but near-zero answers fail with their sign flipped
        assert sum(map(bool, run_test_cells(inst, flipped).values())) >= len(key) - 2


def test_typical_mistakes_fail():
    problems = student_problems([("xor_net", {})], "m1")
    (spec, record), = problems
    inst = instructor_notebook(problems, ASSIGNMENT)
    trace = {k: np.asarray(v, dtype=float) for k, v in {**record["given"], **record["answers"]}.items()}
    trace["lr"] = np.asarray(record["network"]["lr"])
    # forgetting the 1/n of mse_half: the gradients of sse_half
    no_mean = solve(network_problem(Network(spec.template.network.sizes, ("sigmoid", "sigmoid"), "sse_half", 0.5), 4),
                    record["given"], record["network"]["lr"])
    results = run_test_cells(inst, {spec.variable(q): no_mean[q] for q in ("dZ2", "dW2", "db2", "dZ1", "dW1", "db1")})
    assert all(results[f"test_p1_{q}"] for q in ("dZ2", "dW2", "db2", "dZ1", "dW1", "db1"))
    # forgetting the output sigmoid's derivative: dZ2 = dYhat
    linear_out = {s.name: s for s in build_steps(Network((2, 2, 1), ("sigmoid", "linear"), "mse_half", 0.5))}
    assert run_test_cells(inst, {"p1_dZ2": evaluate(linear_out["dZ2"], trace)})["test_p1_dZ2"] == "AssertionError"
    # the transposed gradient of a square matrix: xor_net writes dW1 (hidden x inputs), canonical is its transpose
    assert run_test_cells(inst, {"p1_dW1": trace["dW1"].T})["test_p1_dW1"] is None
    assert run_test_cells(inst, {"p1_dW1": trace["dW1"]})["test_p1_dW1"] == "AssertionError"


def test_answers_may_drop_or_add_size_one_axes_but_not_change_shape():
    problems = student_problems([("bce_net", {})], "shape")
    inst = instructor_notebook(problems, ASSIGNMENT)
    key = key_values(problems)

    def result(variable, value):
        return run_test_cells(inst, {variable: value})[f"test_{variable}"]

    assert result("p1_db1", key["p1_db1"].reshape(1, -1)) is None
    assert result("p1_db1", key["p1_db1"].reshape(-1, 1)) is None
    assert result("p1_db1", key["p1_db1"].tolist()) is None
    assert result("p1_L", [[float(key["p1_L"])]]) is None
    assert result("p1_L", float(key["p1_L"])) is None
    assert result("p1_db2", float(key["p1_db2"][0])) is None
    assert key["p1_dW1"].shape == (2, 3)  # bce_net folds its biases: weights one row per unit
    assert result("p1_dW1", key["p1_dW1"].ravel()) == "AssertionError"  # (2, 3) flattened
    assert result("p1_dW1", key["p1_dW1"].T) is None  # (3, 2): not square, so it reads transposed
    assert result("p1_dW1", key["p1_dW1"].T[::-1]) == "AssertionError"  # but its values must still be right
    assert result("p1_L", key["p1_dW1"]) == "AssertionError"
    assert result("p1_L", "0.5") == "AssertionError"  # a string that NumPy reads is a number, but the wrong one
    assert result("p1_L", "half") == "ValueError"
    assert result("p1_L", float("nan")) == "AssertionError"
    assert result("p1_L", None) == "AssertionError"  # NumPy reads None as nan
    assert run_test_cells(inst, {})["test_p1_L"] == "NameError"  # unanswered: the hidden part fails


def test_the_markdown_math_is_valid_latex(built, tmp_path):
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed")
    _, inst, _ = built["zoë.k"]
    markdown = "\n\n".join(c.source for c in inst.cells if c.cell_type == "markdown")
    maths = re.findall(r"\$\$(.*?)\$\$", markdown, flags=re.S) + re.findall(r"(?<!\$)\$([^$\n]+)\$(?!\$)", markdown)
    assert len(maths) > 100
    (tmp_path / "m.tex").write_text("\\documentclass{article}\\usepackage{amsmath}\\begin{document}\n"
                                    + "\n".join(f"\\[{m}\\]" for m in maths) + "\n\\end{document}\n", encoding="utf-8")
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "m.tex"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode == 0, [line for line in proc.stdout.splitlines() if line.startswith("!")]


@pytest.mark.parametrize("name, layout, line", [
    ("xor_net", "rows", "`p1_Z1 = p1_X @ p1_W1 + p1_b1`"),
    ("xor_net", "columns", "`p1_Z1 = p1_W1 @ p1_X + p1_b1`"),
    ("circuit_basic", None, "`p1_q = p1_x + p1_y`"),
])
def test_the_intro_example_is_the_first_problems_own_first_step(name, layout, line):
    """The intro's example answer reads the problem's own names and layout: no W1 in a graph's notebook."""
    t = apply_overrides(bank.load(name), {"display": {"layout": layout}} if layout else {})
    source = intro_cell([ProblemSpec("p1", t, dict(t.asked))], {"title": "T"}, "ada")["source"]
    assert line in source.replace("\n", " ")
    if name == "circuit_basic":
        assert "W1" not in source and "Z1" not in source
