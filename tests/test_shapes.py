"""Shape questions: shapes in the problem's display notation (and with a symbolic n), products a student builds
(seed 000's D_Error @ W2.T is n by h), written answers read exactly, mistakes named."""

from __future__ import annotations

import pytest

from hwgen import bank
from hwgen.grade.shapes import ShapeError, judge_shape, product_shape, read_shape, shapes
from hwgen.problem import apply_overrides


@pytest.mark.parametrize("answer, shape", [
    ((4, 2), (4, 2)), ([4, 2], (4, 2)), ("4 by 2", (4, 2)), ("(4, 2)", (4, 2)), ("4 x 2", (4, 2)), ("4×2", (4, 2)),
    ("n by 2", ("n", 2)), ("N BY 2", ("n", 2)), ("3", (3,)), ("(3,)", (3,)), (["n", 2], ("n", 2)),
])
def test_written_shapes_are_read(answer, shape):
    assert read_shape(answer) == shape


@pytest.mark.parametrize("answer", ["4 by", "four by two", "4 by 2 by 1", (True, 2), (4.5, 2), "1" * 100, None,
                                    "__import__('os')", (0, 2), [], "m by 2"])
def test_what_is_not_a_shape_is_refused(answer):
    with pytest.raises(ShapeError, match="not a shape"):
        read_shape(answer)


def test_seed_000_product_is_n_by_h_for_any_number_of_inputs():
    t = bank.load("batch_vectorized")  # 4-2-1 over a batch of 3
    fixed, free = shapes(t), shapes(t, symbolic_n=True)
    assert product_shape("dZ2 @ W2.T", fixed) == (3, 2) == fixed["dA1"]
    assert product_shape("dZ2 @ W2.T", free) == ("n", 2)
    assert free["X"] == ("n", 4) and free["W1"] == (4, 2) and free["dW1"] == (4, 2)
    with pytest.raises(ShapeError, match="does not fit"):
        product_shape("W2.T @ dZ2", fixed)
    with pytest.raises(ShapeError, match="not a quantity"):
        product_shape("dZ2 @ W2.__class__", fixed)


def test_shapes_follow_the_display_notation():
    t = bank.load("relu_sigmoid")  # seed 003's notation, samples as columns: W is hidden x input, 3 x 4
    assert shapes(t)["W1"] == (3, 4) and shapes(t, symbolic_n=True)["X"] == (4, "n")
    rows = apply_overrides(t, {"display": {"layout": "rows"}})
    assert shapes(rows)["W1"] == (4, 3) and shapes(rows, symbolic_n=True)["X"] == ("n", 4)


def test_judged_exactly_with_mistakes_named():
    known = shapes(bank.load("relu_sigmoid"))
    assert judge_shape("3 by 4", known["dW1"], "dW1", known).status == "correct"
    transposed = judge_shape((4, 3), known["dW1"], "dW1", known)
    assert transposed.status == "wrong" and transposed.misconception == "transposed_shape"
    other = judge_shape("1 by 3", known["dW1"], "dW1", known)
    assert other.status == "wrong" and other.misconception == "other_layer_shape" and "dW2" in other.message
    assert judge_shape("5 by 5", known["dW1"], "dW1", known).misconception is None
    assert judge_shape("five", known["dW1"], "dW1", known).status == "invalid"


def test_only_networks_have_shape_questions():
    with pytest.raises(ShapeError, match="not a network"):
        shapes(bank.load("chain_rule"))
