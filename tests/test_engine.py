"""The engine against an independent computation: central finite differences of the loss."""

from __future__ import annotations

import itertools
import zlib

import numpy as np
import pytest

from hwgen.engine import ANSWER_NAMES, Network, build_steps, evaluate, solve
from hwgen.tables import ACTIVATIONS, LOSSES

PAIRS = [(a1, a2, loss) for a1, a2, loss in itertools.product(ACTIVATIONS, ACTIVATIONS, LOSSES)
         if loss != "bce" or a2 == "sigmoid"]


def _given(rng, n, d, h, o, loss):
    y = rng.integers(0, 2, (n, o)).astype(float) if loss == "bce" else rng.uniform(-1, 1, (n, o))
    return {"X": rng.uniform(-1, 1, (n, d)), "Y": y, "W1": rng.uniform(-1, 1, (d, h)), "b1": rng.uniform(-1, 1, h),
            "W2": rng.uniform(-1, 1, (h, o)), "b2": rng.uniform(-1, 1, o)}


def _loss(net, given):
    return float(solve(build_steps(net), given, net.lr)["L"])


@pytest.mark.parametrize("act1,act2,loss", PAIRS)
def test_gradients_match_finite_differences(act1, act2, loss):
    rng = np.random.default_rng(zlib.crc32(f"{act1}-{act2}-{loss}".encode()))
    net = Network((3, 4, 2), (act1, act2), loss, 0.3)
    given = _given(rng, 5, 3, 4, 2, loss)
    trace = solve(build_steps(net), given, net.lr)
    if act1 == "relu":  # keep away from the kink, where the derivative is not defined
        assert np.min(np.abs(trace["Z1"])) > 1e-4  # FD steps of 1e-6 move Z1 by < 1e-5
    eps = 1e-6
    for param in ("W1", "b1", "W2", "b2"):
        numeric = np.zeros_like(given[param])
        for idx in np.ndindex(given[param].shape):
            up, down = {k: v.copy() for k, v in given.items()}, {k: v.copy() for k, v in given.items()}
            up[param][idx] += eps
            down[param][idx] -= eps
            numeric[idx] = (_loss(net, up) - _loss(net, down)) / (2 * eps)
        np.testing.assert_allclose(trace[f"d{param}"], numeric, rtol=1e-5, atol=1e-8, err_msg=param)
        np.testing.assert_allclose(trace[f"{param}_new"], given[param] - net.lr * numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_loss_gradient_wrt_outputs(loss):
    rng = np.random.default_rng(7)
    yhat = rng.uniform(0.1, 0.9, (4, 2))
    y = rng.integers(0, 2, (4, 2)).astype(float)
    numeric = np.zeros_like(yhat)
    for idx in np.ndindex(yhat.shape):
        up, down = yhat.copy(), yhat.copy()
        up[idx] += 1e-6
        down[idx] -= 1e-6
        numeric[idx] = (LOSSES[loss].fn(up, y) - LOSSES[loss].fn(down, y)) / 2e-6
    np.testing.assert_allclose(LOSSES[loss].grad(yhat, y), numeric, rtol=1e-6)


def test_loss_formulas_by_hand():
    yhat, y = np.array([[0.5], [0.25]]), np.array([[1.0], [0.0]])
    assert LOSSES["sse"].fn(yhat, y) == pytest.approx(0.3125)
    assert LOSSES["sse_half"].fn(yhat, y) == pytest.approx(0.15625)
    assert LOSSES["mse"].fn(yhat, y) == pytest.approx(0.15625)
    assert LOSSES["mse_half"].fn(yhat, y) == pytest.approx(0.078125)
    assert LOSSES["bce"].fn(yhat, y) == pytest.approx(-(np.log(0.5) + np.log(0.75)) / 2)


def test_every_answer_is_a_step_with_a_formula():
    steps = build_steps(Network((2, 2, 1), ("sigmoid", "sigmoid"), "mse_half", 0.5))
    assert tuple(s.name for s in steps) == ANSWER_NAMES
    assert len(ANSWER_NAMES) == 17
    known = {"X", "Y", "W1", "b1", "W2", "b2", "lr"} | set(ANSWER_NAMES)
    for s in steps:
        assert set(s.inputs) <= known and s.tex
        for name in s.inputs:
            assert f"${name}" in s.tex, (s.name, name)


def test_evaluate_reuses_a_step_on_other_values():
    """Error carried forward: the same step re-evaluated on a student's own (wrong) earlier value."""
    net = Network((2, 2, 1), ("sigmoid", "sigmoid"), "mse_half", 0.5)
    steps = {s.name: s for s in build_steps(net)}
    own_a1 = np.array([[0.5, 0.5]])
    dz2 = np.array([[0.1]])
    np.testing.assert_allclose(evaluate(steps["dW2"], {"A1": own_a1, "dZ2": dz2}), [[0.05], [0.05]])
