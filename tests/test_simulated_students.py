"""Simulated students of the new templates (deeper networks, softmax, weight decay, the textbook net, graphs), graded
by the checks `hwgen grade` runs (grade_problem): exact and rounded work gets full marks, an early slip costs only
its own points (its consequences earn credit carried forward), and every catalogued mistake that changes an answer
on a variant is named, unless another mistake's student would have written the same numbers."""

from __future__ import annotations

import numpy as np
import pytest

from hwgen.engine import evaluate
from hwgen.grade.checks import grade_problem
from hwgen.grade.misconceptions import BY_KEY, wrong_steps
from hwgen.grade.simulate import planted, slipped, worked
from hwgen.numfmt import round_sig
from tests.gradehelp import problem, record

NEW_TEMPLATES = ("mlp_2hidden", "softmax_classifier", "l2_regression", "circuit_basic", "sigmoid_neuron_graph",
                 "regression_graph_002", "mazur_222")
SEEDS = (0, 1, 2, 3)


def items(spec, rec, values):
    """Items by quantity for canonical values handed in as the problem shows them."""
    show = spec.template.display
    shown = {q: show.value(values[q], q).tolist() for q in spec.asked}
    return {i.quantity: i for i in grade_problem(spec, rec, shown, {}, {})}


@pytest.mark.parametrize("name", NEW_TEMPLATES)
def test_exact_and_rounded_work_gets_full_marks(name):
    spec = problem(name)
    for seed in SEEDS:
        rec = record(spec, seed)
        exact = {q: np.asarray(rec["answers"][q]) for q in spec.asked}
        for values in (exact, worked(spec, rec, spec.template.significant)):
            graded = items(spec, rec, values)
            assert [q for q, i in graded.items() if i.status != "correct"] == [], (seed, graded)
            assert sum(i.points for i in graded.values()) == spec.points


@pytest.mark.parametrize("name", NEW_TEMPLATES)
def test_an_early_slip_costs_only_its_own_points(name):
    """One entry of the first asked step miscopied, everything after worked by hand from it: the slip is wrong and
    names no mistake, every later answer is correct or correct for the student's own earlier answers (full credit)."""
    spec = problem(name)
    slip = slipped(spec)
    for seed in SEEDS:
        rec = record(spec, seed)
        graded = items(spec, rec, worked(spec, rec, spec.template.significant, {slip.name: slip}))
        assert graded[slip.name].status == "wrong" and graded[slip.name].misconception is None
        rest = {q: i.status for q, i in graded.items() if q != slip.name}
        assert set(rest.values()) <= {"correct", "correct_ecf"} and "correct_ecf" in rest.values(), (seed, rest)
        assert sum(i.points for i in graded.values()) == spec.points - spec.asked[slip.name]


def same_numbers(spec, rec, values, key):
    """Whether some form of misconception `key`, worked on consistently, gives a student these asked answers."""
    for m, form in wrong_steps(spec.template):
        if m.key == key:
            try:
                other = worked(spec, rec, 16, {form.name: form})
            except ValueError:
                continue
            if all(np.allclose(other[q], values[q], rtol=5e-3, atol=5e-3 * np.abs(values[q]).max()) for q in spec.asked):
                return True
    return False


CASES = [(name, key) for name in NEW_TEMPLATES
         for key in dict.fromkeys(m.key for m, _ in wrong_steps(problem(name).template))]


@pytest.mark.parametrize("name,key", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_planted_mistake_is_named(name, key):
    """The catalogued mistake worked on consistently (rounded to the digits asked; a layout slip only in its own
    answer): where it changes an answer beyond what keeping one digit fewer could, some item names it, or a mistake
    whose student writes the same numbers; it is never the honest student's full marks."""
    spec = problem(name)
    digits = spec.template.significant
    shown = named = 0
    for seed in range(8):
        rec = record(spec, seed)
        form = planted(spec, rec, key)
        if form is None:
            continue  # on this variant the mistake changes no asked answer
        if BY_KEY[key].carried:
            values = worked(spec, rec, digits, {form.name: form})
        else:
            values = worked(spec, rec, digits)
            values[form.name] = round_sig(evaluate(form, values), digits)
        graded = items(spec, rec, values)
        if all(i.status == "correct" for i in graded.values()):
            continue  # within the tolerance of the digits asked
        shown += 1
        found = {i.misconception for i in graded.values() if i.misconception}
        if key in found:
            named += 1
        for other in found - {key}:
            assert same_numbers(spec, rec, values, other), (seed, key, other)
    assert named >= 1 or shown == 0 or key in ALWAYS_ANOTHER.get(name, ()), (shown, named)


# the other loss's derivative that these losses' own mistakes already describe: the SSE's 2 (yhat - y) is the MSE's
# without 1/n and the 1/2 loss's without its 1/2 (named so, and `same_numbers` holds)
ALWAYS_ANOTHER = {"l2_regression": ("other_loss_derivative",), "mazur_222": ("other_loss_derivative",)}


def test_the_catalogue_reaches_what_the_issue_lists():
    """Role-based rows on the new templates: a transposed gradient (a square one), a forgotten derivative at a
    deeper layer, a missing fan-out sum, a product's wrong operand, another function's derivative, a subtraction's
    or division's lost sign, the update's sign, the missing mean (here softmax with cross-entropy's (Yhat - Y) / n)."""
    keys = {name: {k for n, k in CASES if n == name} for name in NEW_TEMPLATES}
    assert {"transposed_gradient", "missing_1_over_n", "error_sign", "update_sign", "softmax_diagonal"} <= \
        keys["softmax_classifier"]
    assert {"forgot_activation_derivative", "other_activation_derivative", "derivative_at_activation",
            "weight_gradient_for_error"} <= keys["mlp_2hidden"]
    assert {"missed_fan_out_sum", "product_operand", "other_function_derivative", "local_derivative_sign",
            "lost_factor_2"} <= keys["circuit_basic"]
    assert {"forgot_weight_decay", "update_without_lr"} <= keys["l2_regression"]
