"""grade_problem: statuses, points and messages for exact, rounded, wrong, missing and invalid answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hwgen.grade.checks import grade_problem
from hwgen.grade.result import STATUSES
from hwgen.numfmt import fmt
from tests.gradehelp import TEMPLATES, as_shown, exact, problem, record, rounding_student


def grade(spec, rec, values, errors=None, grading=None):
    """Items by quantity (canonical values handed in as the problem shows them)."""
    items = grade_problem(spec, rec, as_shown(spec, rec, values), errors or {}, grading or {})
    assert [i.quantity for i in items] == list(spec.asked)
    for item in items:
        assert item.status in STATUSES and item.problem == spec.key
        assert 0 <= item.points <= item.max_points == spec.asked[item.quantity]
        assert item.message
    return {i.quantity: i for i in items}


def expected_numbers(rec, q):
    """The expected entries as a student would see them written at 3 and 4 digits (for leak checks)."""
    return {fmt(x, d) for x in np.ravel(rec["answers"][q]) for d in (3, 4) if len(fmt(x, d).strip("-0.")) >= 3}


@pytest.mark.parametrize("name", TEMPLATES)
def test_exact_answers_get_full_marks(name):
    spec = problem(name)
    for seed in (1, 2):
        rec = record(spec, seed)
        items = grade(spec, rec, exact(rec, spec))
        assert all(i.status == "correct" and i.points == i.max_points for i in items.values())


@pytest.mark.parametrize("name", TEMPLATES)
def test_size_one_axes_are_accepted(name):
    spec = problem(name)
    rec = record(spec, 3)
    values = {}
    for q in spec.asked:
        a = np.asarray(rec["answers"][q])
        squeezed = a.reshape([s for s in a.shape if s != 1])  # (n, 1) -> (n,)
        values[q] = [[float(a)]] if a.ndim == 0 else (squeezed[None] if a.ndim == 1 else squeezed).tolist()
    items = grade(spec, rec, values)
    assert all(i.status == "correct" for i in items.values()), {q: i.message for q, i in items.items()}


def test_stated_digits_rounding_student_gets_full_marks():
    for name in TEMPLATES:
        spec = problem(name)
        for seed in range(5):
            rec = record(spec, seed)
            v = rounding_student(spec, rec, spec.template.significant)
            items = grade(spec, rec, {q: v[q].tolist() for q in spec.asked})
            assert all(i.status == "correct" for i in items.values()), (name, seed)


def test_wrong_values_are_wrong_and_do_not_leak_the_answer():
    spec = problem("xor_net")
    rec = record(spec, 11)
    values = exact(rec, spec)
    values["dW1"] = (np.asarray(values["dW1"]) * 1.1).tolist()
    values["A1"] = (np.asarray(values["A1"]) + 0.05).tolist()
    items = grade(spec, rec, values)
    for q in ("dW1", "A1"):
        assert items[q].status == "wrong" and items[q].points == 0
        assert q in items[q].message
        assert not any(n in items[q].message for n in expected_numbers(rec, q))
    assert items["Z1"].status == "correct"


def test_missing_and_sandbox_errors():
    spec = problem("bce_net")
    rec = record(spec, 4)
    values = exact(rec, spec)
    del values["dW1"], values["L"]
    items = grade(spec, rec, values, errors={"L": "the cell raised ZeroDivisionError"})
    assert items["dW1"].status == "missing" and "p1_dW1" in items["dW1"].message
    assert "2 x 3" in items["dW1"].message or "3 x 2" in items["dW1"].message
    assert items["L"].status == "invalid" and "ZeroDivisionError" in items["L"].message


def _deep(depth):
    v = 1.0
    for _ in range(depth):
        v = [v]
    return v


BAD = {
    "string": ("0.25", "without quotes"),
    "text": ("hello", "not a number"),
    "dict": ({"a": 1}, "dict"),
    "none": (None, "None"),
    "bool": (True, "boolean"),
    "nan": (math.nan, "NaN"),
    "inf": (-math.inf, "infinite"),
    "nan entry": ([[1.0, math.nan]], "NaN"),
    "ragged": ([[1.0, 2.0], [3.0]], "different lengths"),
    "mixed": ([1.0, [2.0]], "different lengths"),
    "string entry": ([["1", 2.0]], "text"),
    "none entry": ([[None, 2.0]], "None"),
    "empty": ([], "empty"),
    "deep": (_deep(100_000), "nested"),
    "huge int": (10 ** 400, "too large"),
    "huge list": ([0.0] * 200_000, "entries"),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_values_are_invalid_with_a_clear_message(kind):
    spec = problem("xor_net")
    rec = record(spec, 5)
    value, words = BAD[kind]
    values = exact(rec, spec) | {"dW1": value}
    items = grade(spec, rec, values)
    assert items["dW1"].status == "invalid" and items["dW1"].points == 0
    assert words in items["dW1"].message and "2 x 2" in items["dW1"].message
    assert sum(i.status == "correct" for i in items.values()) == len(spec.asked) - 1


def test_wrong_shape_is_invalid_and_says_the_shape():
    spec = problem("regression_3hidden")  # dW1 is 2 x 3, shown one row per unit (biases folded): 3 x 2
    rec = record(spec, 6)
    dW1 = np.asarray(rec["answers"]["dW1"])
    for bad in (dW1[:, :2], np.ones((4, 3)), dW1.ravel()[:5]):
        items = grade(spec, rec, exact(rec, spec) | {"dW1": bad.tolist()})
        msg = items["dW1"].message
        assert items["dW1"].status == "invalid", msg
        assert "3 x 2 array (one row per hidden unit, one column per input)" in msg


def test_flat_matrix_with_right_size_is_not_accepted():
    spec = problem("regression_3hidden")
    rec = record(spec, 6)
    flat = np.ravel(rec["answers"]["dW1"]).tolist()  # (6,) is not (2, 3): size-1 axes only
    assert grade(spec, rec, exact(rec, spec) | {"dW1": flat})["dW1"].status == "invalid"


def test_partial_credit_per_entry_when_allowed():
    spec = problem("batch_vectorized")  # dW1 is 4 x 2
    rec = record(spec, 12)
    dW1 = np.asarray(rec["answers"]["dW1"])
    bad = dW1.copy()
    bad[0, 0] += 0.5
    bad[3, 1] *= -3
    values = exact(rec, spec) | {"dW1": bad.tolist()}
    assert grade(spec, rec, values)["dW1"].status == "wrong"
    item = grade(spec, rec, values, grading={"partial": True})["dW1"]
    assert item.status == "partial" and item.points == pytest.approx(item.max_points * 6 / 8)
    assert "6 of 8 entries" in item.message
    values["dW1"] = (dW1 + 1.0).tolist()  # nothing right: still wrong
    assert grade(spec, rec, values, grading={"partial": True})["dW1"].status == "wrong"
    values["dW1"] = dW1.T.tolist()  # a matrix that is not square reads transposed too, with a note
    item = grade(spec, rec, values, grading={"partial": True})["dW1"]
    assert item.status == "correct" and "lay it out 4 x 2" in item.message


def test_a_templates_grading_options_apply_and_the_assignments_win():
    import dataclasses

    base = problem("batch_vectorized")
    spec = dataclasses.replace(base, template=dataclasses.replace(base.template, grading={"partial": True}))
    rec = record(spec, 12)
    bad = np.asarray(rec["answers"]["dW1"]).copy()
    bad[0, 0] += 0.5
    values = exact(rec, spec) | {"dW1": bad.tolist()}
    assert grade(spec, rec, values)["dW1"].status == "partial"
    assert grade(spec, rec, values, grading={"partial": False})["dW1"].status == "wrong"


def test_partial_credit_counts_entries_carried_forward():
    """A slip in dZ1: dW1 computed from it is correct_ecf; one further entry off makes it partial, with the
    entries that follow from the student's own dZ1 earning ecf_credit."""
    spec = problem("xor_net")
    rec = record(spec, 13)
    student = rounding_student(spec, rec, 4, slips={"dZ1": lambda a: a * 1.5})
    values = {q: student[q].tolist() for q in spec.asked}
    assert grade(spec, rec, values)["dW1"].status == "correct_ecf"
    dW1 = student["dW1"].copy()
    dW1[0, 0] += 1.0
    values["dW1"] = dW1.tolist()
    item = grade(spec, rec, values, grading={"partial": True, "ecf_credit": 0.5})["dW1"]
    right = np.isclose(student["dW1"], rec["answers"]["dW1"], rtol=1e-3).ravel()[1:]
    assert item.status == "partial" and f"{right.sum()} of 4 entries are right" in item.message
    assert f"{3 - right.sum()} more follow from your own earlier answers" in item.message
    assert item.points == pytest.approx(item.max_points * (right.sum() + 0.5 * (3 - right.sum())) / 4)


@pytest.mark.parametrize("total", [10, 7, 33.5])
def test_full_marks_add_up_to_the_problem_points_exactly(total):
    """Points scaled to a problem total (0.5263157894736842 each, ...) are awarded unrounded: all right is the total."""
    from hwgen.problem import scale_points

    base = problem("xor_net")
    spec = problem("xor_net", asked=scale_points(base.asked, total))
    rec = record(spec, 3)
    assert round(sum(i.points for i in grade_problem(spec, rec, as_shown(spec, rec, exact(rec, spec)), {}, {})), 6) == total
