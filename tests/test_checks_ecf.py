"""Error carried forward: one early slip and consistent later work, credit settings, and gaming attempts."""

from __future__ import annotations

import numpy as np
import pytest

from hwgen.grade.checks import grade_problem
from tests.gradehelp import TEMPLATES, as_shown, problem, record, rounding_student


def grade(spec, rec, student, grading=None, drop=()):
    """Items by quantity for a simulated student's values (quantities in `drop` left unanswered)."""
    values = {q: np.asarray(student[q]).tolist() for q in spec.asked if q not in drop}
    return {i.quantity: i for i in grade_problem(spec, rec, as_shown(spec, rec, values), {}, grading or {})}


def bump(a):
    """A slip: the largest entry off by 0.3 plus half of itself (so that it is not lost in rounding, and a
    ReLU that was on stays on)."""
    a = np.array(a, dtype=float)
    i = np.argmax(a)
    a.flat[i] += 0.3 + 0.5 * abs(a.flat[i])
    return a


def depends_on(spec, q, root):
    """Whether asked quantity q is computed from `root` (directly or through other steps)."""
    steps = {s.name: s for s in spec.template.steps}
    todo, seen = [q], set()
    while todo:
        for i in steps[todo.pop()].inputs:
            if i in steps and i not in seen:
                seen.add(i)
                todo.append(i)
    return root in seen


@pytest.mark.parametrize("name", TEMPLATES)
@pytest.mark.parametrize("root", ["Z1", "A1", "dZ2", "dW2"])
def test_early_slip_then_consistent_work_earns_ecf(name, root):
    """Every later answer is correct or correct_ecf with full points (the slip can be too small to matter in
    some); several are correct_ecf; answers that do not depend on the slip stay correct."""
    spec = problem(name)
    later = [q for q in spec.asked if depends_on(spec, q, root)]
    if root not in spec.asked or not later:
        pytest.skip(f"{name} does not ask {root} or nothing after it")
    for seed in (0, 1, 2):
        rec = record(spec, seed)
        student = rounding_student(spec, rec, spec.template.significant, slips={root: bump})
        items = grade(spec, rec, student)
        assert items[root].status == "wrong" and items[root].points == 0
        for q in later:
            assert items[q].status in ("correct", "correct_ecf"), (name, seed, q, items[q].message)
            assert items[q].points == items[q].max_points
        carried = [q for q in later if items[q].status == "correct_ecf"]
        assert len(carried) >= min(2, len(later)), (name, seed, carried)
        assert all("own earlier" in items[q].message for q in carried)
        assert all(items[q].status == "correct" for q in spec.asked if q not in later and q != root)


def test_ecf_names_the_earlier_answer_and_uses_the_credit_setting():
    spec = problem("xor_net")
    rec = record(spec, 7)
    student = rounding_student(spec, rec, 4, slips={"A1": bump})
    items = grade(spec, rec, student, {"ecf_credit": 0.5})
    assert items["Z2"].status == "correct_ecf" and items["Z2"].points == 0.5 * items["Z2"].max_points
    assert "own earlier A1" in items["Z2"].message and "50%" in items["Z2"].message
    assert items["Z1"].status == "correct" and items["A1"].status == "wrong"
    zero = grade(spec, rec, student, {"ecf_credit": 0})
    assert zero["Z2"].status == "correct_ecf" and zero["Z2"].points == 0


def test_ecf_goes_through_quantities_that_were_not_asked():
    """regression_3hidden does not ask Z2: a slip in A1 reaches Yhat through the student's implied Z2."""
    spec = problem("regression_3hidden")
    assert "Z2" not in spec.asked
    rec = record(spec, 3)
    student = rounding_student(spec, rec, 4, slips={"A1": bump})
    items = grade(spec, rec, student)
    assert items["Yhat"].status == "correct_ecf" and "A1" in items["Yhat"].message


def test_no_ecf_without_a_submitted_earlier_answer():
    spec = problem("xor_net")
    rec = record(spec, 8)
    student = rounding_student(spec, rec, 4, slips={"Z1": bump})
    items = grade(spec, rec, student, drop=("Z1",))
    assert items["Z1"].status == "missing"
    assert items["A1"].status == "wrong"


def test_no_ecf_when_the_earlier_answers_are_right():
    spec = problem("bce_net")
    rec = record(spec, 9)
    student = rounding_student(spec, rec, 4, slips={"dW1": bump})
    items = grade(spec, rec, student)
    assert items["dW1"].status == "wrong" and items["W1_new"].status == "correct_ecf"
    student = rounding_student(spec, rec, 4, slips={"W1_new": bump})
    assert grade(spec, rec, student)["W1_new"].status == "wrong"


GAMES = {
    "zeros": lambda a, rec: np.zeros_like(a),
    "constant": lambda a, rec: np.full_like(a, 0.7),
    "ones and zeros": lambda a, rec: (np.arange(a.size).reshape(a.shape) % 2).astype(float),
    "saturating": lambda a, rec: np.where(np.arange(a.size).reshape(a.shape) % 3, 500.0, -500.0),
    "copy of X": lambda a, rec: np.asarray(rec["given"]["X"], dtype=float),
}


@pytest.mark.parametrize("game", sorted(GAMES))
def test_gaming_the_first_answer_earns_no_carried_credit(game):
    """Z1 set to a trivial value and everything after computed from it: nothing after Z1 is carried."""
    spec = problem("xor_net")  # Z1 is 4 x 2 like X
    rec = record(spec, 10)
    student = rounding_student(spec, rec, 4, slips={"Z1": lambda a: GAMES[game](a, rec)})
    items = grade(spec, rec, student)
    assert items["Z1"].status == "wrong"
    carried = [q for q, i in items.items() if i.status == "correct_ecf"]
    assert not carried, (game, carried)
    assert all(i.status in ("wrong", "correct") for i in items.values())  # correct: the exact value by chance
    assert "no credit is carried forward" in items["A1"].message


def test_gaming_a_later_answer_with_zeros():
    """dZ2 set to zeros makes dW2 = A1^T 0 = 0 'consistent'; it is not carried."""
    spec = problem("batch_vectorized")
    rec = record(spec, 11)
    student = rounding_student(spec, rec, 4, slips={"dZ2": np.zeros_like})
    items = grade(spec, rec, student)
    assert all(items[q].status == "wrong" for q in ("dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1"))
    assert "all zeros" in items["dW2"].message


def test_absurdly_large_earlier_answer_is_not_built_on():
    spec = problem("bce_net")
    rec = record(spec, 14)
    student = rounding_student(spec, rec, 4, slips={"dZ2": lambda a: np.full_like(a, 1e300)})
    items = grade(spec, rec, student)
    assert items["dW2"].status == "wrong" and "far larger" in items["dW2"].message
    student = rounding_student(spec, rec, 4, slips={"dZ2": lambda a: a * 30})  # a big but possible slip
    assert grade(spec, rec, student)["dW2"].status == "correct_ecf"
