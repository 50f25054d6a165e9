"""The engine against an independent computation: central finite differences of the loss."""

from __future__ import annotations

import itertools
import zlib

import numpy as np
import pytest

from hwgen.engine import Network, build_steps, evaluate, network_problem, solve
from hwgen.tables import ACTIVATIONS, LOSSES

from .names import ANSWER_NAMES

HIDDEN = sorted(a for a, act in ACTIVATIONS.items() if not act.output_only)
OUTPUTS = [(out, loss) for out, loss in itertools.product(sorted(ACTIVATIONS), sorted(LOSSES))
           if LOSSES[loss].needs in (None, out) and (out != "softmax" or loss == "cce")]  # the bank's rules
# depth 1: every hidden x output x loss; depth 2: every pair of hidden activations under one output of each kind
# of loss; depth 3: each hidden activation at every place (rotations) x every output and loss
NETWORKS = ([((h,), out, loss) for h in HIDDEN for out, loss in OUTPUTS]
            + [(pair, out, loss) for pair in itertools.product(HIDDEN, HIDDEN)
               for out, loss in (("linear", "mse"), ("tanh", "sse_half"), ("sigmoid", "bce"), ("softmax", "cce"))]
            + [(tuple(HIDDEN[(i + k) % len(HIDDEN)] for k in range(3)), out, loss)
               for i in range(len(HIDDEN)) for out, loss in OUTPUTS])


def _given(rng, sizes, loss, n=4):
    """Random given arrays for a network of these sizes; one-hot Y for cce, 0/1 for bce."""
    o = sizes[-1]
    if loss == "cce":
        y = np.eye(o)[rng.integers(0, o, n)]
    else:
        y = rng.integers(0, 2, (n, o)).astype(float) if loss == "bce" else rng.uniform(-1, 1, (n, o))
    given = {"X": rng.uniform(-1, 1, (n, sizes[0])), "Y": y}
    for k in range(1, len(sizes)):
        given |= {f"W{k}": rng.uniform(-1, 1, (sizes[k - 1], sizes[k])), f"b{k}": rng.uniform(-1, 1, sizes[k])}
    return given


def _away_from_kinks(net, rng):
    """Given arrays whose ReLU inputs all keep 1e-3 from 0, where the derivative is not defined (FD steps of 1e-6
    move them by far less)."""
    while True:
        given = _given(rng, net.sizes, net.loss)
        trace = solve(network_problem(net, len(given["X"])), given, net.lr)
        if all(np.min(np.abs(trace[f"Z{k}"])) > 1e-3 for k, a in enumerate(net.activations, 1) if a == "relu"):
            return given


def _loss(net, given):
    return float(solve(network_problem(net, len(given["X"])), given, net.lr)["L"])


def _check_against_finite_differences(net, given):
    """Every dWk, dbk and update against central differences of L."""
    trace = solve(network_problem(net, len(given["X"])), given, net.lr)
    eps = 1e-6
    for param in [f"{p}{k}" for k in range(1, net.layers + 1) for p in "Wb"]:
        numeric = np.zeros_like(given[param])
        for idx in np.ndindex(given[param].shape):
            up, down = {k: v.copy() for k, v in given.items()}, {k: v.copy() for k, v in given.items()}
            up[param][idx] += eps
            down[param][idx] -= eps
            numeric[idx] = (_loss(net, up) - _loss(net, down)) / (2 * eps)
        np.testing.assert_allclose(trace[f"d{param}"], numeric, rtol=1e-5, atol=1e-8, err_msg=param)
        np.testing.assert_allclose(trace[f"{param}_new"], given[param] - net.lr * numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("hidden,output,loss", NETWORKS)
def test_gradients_match_finite_differences(hidden, output, loss):
    rng = np.random.default_rng(zlib.crc32(f"{hidden}-{output}-{loss}".encode()))
    sizes = (3, *[3 + k % 2 for k in range(len(hidden))], 3 if loss == "cce" else 2)
    net = Network(sizes, (*hidden, output), loss, 0.3)
    _check_against_finite_differences(net, _away_from_kinks(net, rng))


@pytest.mark.parametrize("output,loss", OUTPUTS)
def test_weight_decay_gradients_match_finite_differences(output, loss):
    rng = np.random.default_rng(zlib.crc32(f"decay-{output}-{loss}".encode()))
    sizes = (2, 3, 2, 3)
    net = Network(sizes, ("tanh", "sigmoid", output), loss, 0.3, weight_decay=0.05)
    given = _away_from_kinks(net, rng)
    _check_against_finite_differences(net, given)
    plain = solve(network_problem(Network(sizes, net.activations, loss, 0.3), 4), given, 0.3)
    squares = sum(float(np.sum(given[f"W{k}"] ** 2)) for k in (1, 2, 3))
    assert _loss(net, given) == pytest.approx(float(plain["L"]) + 0.05 / 2 * squares, rel=1e-12)


def test_softmax_with_cross_entropy_has_the_one_line_output_error():
    rng = np.random.default_rng(3)
    net = Network((2, 3, 3), ("tanh", "softmax"), "cce", 0.1)
    given = _given(rng, net.sizes, "cce", n=5)
    trace = solve(network_problem(net, 5), given, 0.1)
    np.testing.assert_allclose(trace["Yhat"].sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(trace["dZ2"], (trace["Yhat"] - given["Y"]) / 5)
    # the same as softmax's row-wise backward of dYhat = -Y / Yhat / n
    coupled = ACTIVATIONS["softmax"].backward(trace["dYhat"], trace["Yhat"])
    np.testing.assert_allclose(trace["dZ2"], coupled, rtol=1e-10, atol=1e-14)


def test_names_of_a_deeper_network():
    names = [s.name for s in build_steps(Network((2, 3, 2, 1), ("relu", "tanh", "sigmoid"), "mse", 0.1))]
    assert names == ["Z1", "A1", "Z2", "A2", "Z3", "Yhat", "L", "dYhat", "dZ3", "dW3", "db3", "dA2", "dZ2", "dW2",
                     "db2", "dA1", "dZ1", "dW1", "db1", "W1_new", "b1_new", "W2_new", "b2_new", "W3_new", "b3_new"]


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_loss_gradient_wrt_outputs(loss):
    rng = np.random.default_rng(7)
    yhat = rng.uniform(0.1, 0.9, (4, 2))
    y = np.eye(2)[[0, 1, 1, 0]] if loss == "cce" else rng.integers(0, 2, (4, 2)).astype(float)
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
