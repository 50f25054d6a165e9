"""The seed pages' problems, their numbers corrected by the engine."""

from __future__ import annotations

import numpy as np
import pytest

from hwgen.engine import Network, network_problem, solve
from hwgen.sampling import degeneracy


def _solve(sizes, acts, loss, lr, **given):
    net = Network(sizes, acts, loss, lr)
    return solve(network_problem(net, len(given["X"])), {k: np.asarray(v, dtype=float) for k, v in given.items()}, lr)


def seed_001():
    """Page 001 writes W as (h x d) and samples as columns; canonical form transposes them."""
    w_page = np.array([[0.2, 0.4], [0.3, 0.5]])
    x_page = np.array([[0, 0, 1, 1], [0, 1, 0, 1]])
    return _solve((2, 2, 1), ("sigmoid", "sigmoid"), "mse_half", 0.5, X=x_page.T, Y=[[0], [1], [1], [1]],
                  W1=w_page.T, b1=[0.3, 0.5], W2=[[0.4], [0.6]], b2=[0.5])


def test_seed_001_loss_and_output_bias_gradient():
    t = seed_001()
    assert float(t["L"]) == pytest.approx(0.0903436, abs=5e-8)
    assert t["db2"][0] == pytest.approx(0.00453712, abs=5e-9)


def test_seed_001_corrects_the_page():
    t = seed_001()
    # The page writes sigma(0.9) = 0.696 in one place and 0.711 in another: it is 0.7109.
    assert t["A1"][3, 0] == pytest.approx(0.710949, abs=1e-6)
    # The page copies delta2's second entry as -0.091 where -0.041 belongs (before the 1/n of the loss).
    assert 4 * t["dZ2"][1, 0] == pytest.approx(-0.0407, abs=5e-4)
    # Hadamard, not matrix product: delta1 = (delta2 W2^T) * A1 * (1 - A1), shape (n, h).
    assert t["dZ1"].shape == (4, 2)
    np.testing.assert_allclose(t["dZ1"], (t["dZ2"] @ t["W2"].T) * t["A1"] * (1 - t["A1"]))


def seed_004():
    """Page 004 lists each hidden unit's weights with its bias first: H1 = 1 + 1*1 - 2*2 + 3*2."""
    return _solve((3, 2, 1), ("sigmoid", "sigmoid"), "bce", 0.1, X=[[1, 2, 2]], Y=[[1]],
                  W1=[[1, -1], [-2, 2], [3, -2]], b1=[1, -1], W2=[[1], [1]], b2=[-1])


def test_seed_004_output_error_and_hidden_error():
    t = seed_004()
    np.testing.assert_allclose(t["Z1"], [[4, -2]])
    assert t["dZ2"][0, 0] == pytest.approx(-0.474717, abs=5e-7)
    # dL/dH2 = dL/dO * w23 * G'(H2) = -0.0498; the page wrote (0.11)(-0.06) = -0.0066,
    # the output-weight gradient dL/dw23 in place of the back-propagated error.
    assert t["dZ1"][0, 1] == pytest.approx(-0.0498, abs=5e-5)
    slip = t["A1"][0, 1] * (1 - t["A1"][0, 1]) * t["dW2"][1, 0]
    assert slip == pytest.approx(-0.00594, abs=1e-5)  # the page's (0.11)(-0.06) = -0.0066 with rounded factors
    assert round(0.12 * (1 - 0.12), 2) * round(t["dW2"][1, 0], 2) == pytest.approx(-0.0066)
    assert abs(slip - t["dZ1"][0, 1]) > 0.04


def test_seed_002_regression_first_sample():
    """Page 002: w_j = (w_j0, w_j1, w_j2), v = (v0, v1, v2, v3), x1 = (1, 2), y1 = 8."""
    t = _solve((2, 3, 1), ("sigmoid", "linear"), "sse", 0.01, X=[[1, 2]], Y=[[8]],
               W1=[[0.02, 0.01, 0.03], [0.03, 0.02, 0.01]], b1=[0.01, 0.03, 0.02], W2=[[0.02], [0.03], [0.04]], b2=[0.01])
    np.testing.assert_allclose(t["Z1"], [[0.09, 0.08, 0.07]], atol=1e-12)
    # The page rounds f to 0.52 and gets yhat = 0.0561; unrounded it is 0.05675.
    assert t["Yhat"][0, 0] == pytest.approx(0.0567491, abs=1e-7)
    assert t["dYhat"][0, 0] == pytest.approx(2 * (0.0567491 - 8), abs=1e-6)
    np.testing.assert_allclose(t["dW2"].ravel(), t["dYhat"][0, 0] * t["A1"].ravel())


def test_seed_page_numbers_would_be_rejected_as_a_random_draw(templates):
    """Seed 004's H1 = 4 sits on the saturation limit; pushing it over is refused."""
    t = templates["bce_net"]
    trace = _solve((3, 2, 1), ("sigmoid", "sigmoid"), "bce", 0.1, X=[[1, 2, 2]], Y=[[1]],
                   W1=[[1, -1], [-2, 2], [3.5, -2]], b1=[1, -1], W2=[[1], [1]], b2=[-1])
    assert "saturated" in degeneracy(t, trace)
