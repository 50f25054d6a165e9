"""The second bank (issue 12): deeper networks, softmax with cross-entropy, weight decay, Mazur's textbook
example, and computation graphs; each template x 20 seeds against an independent computation and the
hand-workable, non-degenerate rules."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hwgen import bank
from hwgen.sampling import sample

from .conftest import run_cli

NETWORKS = ["mlp_2hidden", "softmax_classifier", "l2_regression", "mazur_222"]
GRAPHS = ["circuit_basic", "sigmoid_neuron_graph", "regression_graph_002"]
ACT = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0),
       "linear": lambda z: z, "softmax": lambda z: np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)}
LOSS = {"sse": lambda a, y: np.sum((a - y) ** 2), "sse_half": lambda a, y: np.sum((a - y) ** 2) / 2,
        "mse": lambda a, y: np.sum((a - y) ** 2) / len(y), "mse_half": lambda a, y: np.sum((a - y) ** 2) / (2 * len(y)),
        "bce": lambda a, y: -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a)) / len(y),
        "cce": lambda a, y: -np.sum(y * np.log(a)) / len(y)}


def test_list_shows_the_new_templates():
    out = run_cli("list", check=True).stdout
    for name in NETWORKS + GRAPHS:
        assert name in out


def test_mazur_published_numbers():
    doc = json.loads(run_cli("solve", "mazur_222", "--json", check=True).stdout)
    assert doc["answers"]["L"] == pytest.approx(0.298371109, abs=5e-10)
    assert doc["answers"]["W2_new"][0][0] == pytest.approx(0.35891648, abs=5e-9)
    assert doc["answers"]["W1_new"][0][0] == pytest.approx(0.149780716, abs=5e-10)


def _loss(g: dict, net: dict) -> float:
    """The network's loss in plain NumPy, apart from hwgen's engine (weight decay included)."""
    a = g["X"]
    layers = len(net["activations"])
    for k, act in enumerate(net["activations"], start=1):
        a = ACT[act](a @ g[f"W{k}"] + g[f"b{k}"])
    decay = net.get("weight_decay", 0) / 2 * sum(np.sum(g[f"W{k}"] ** 2) for k in range(1, layers + 1))
    return LOSS[net["loss"]](a, g["Y"]) + decay


@pytest.mark.parametrize("name", NETWORKS)
def test_networks_against_finite_differences_and_the_rules(name):
    t = bank.load(name)
    for seed in range(20):
        doc = json.loads(json.dumps(sample(t, seed).to_json()))
        net, g, ans = doc["network"], {k: np.array(v, dtype=float) for k, v in doc["given"].items()}, doc["answers"]
        assert ans["L"] == pytest.approx(_loss(g, net), rel=1e-12)
        for param in [p for p in g if p not in ("X", "Y")]:
            numeric = np.zeros_like(g[param])
            for idx in np.ndindex(g[param].shape):
                up, down = ({**g, param: g[param].copy()} for _ in range(2))
                up[param][idx] += 1e-6
                down[param][idx] -= 1e-6
                numeric[idx] = (_loss(up, net) - _loss(down, net)) / 2e-6
            np.testing.assert_allclose(ans[f"d{param}"], numeric, rtol=1e-5, atol=1e-9, err_msg=f"{name} {seed} {param}")
            np.testing.assert_allclose(ans[f"{param}_new"], g[param] - net["lr"] * np.array(ans[f"d{param}"]), rtol=1e-12)
        for k, act in enumerate(net["activations"], start=1):  # hand-workable: nothing saturated, no ReLU kink
            z = np.abs(ans[f"Z{k}"])
            assert act not in ("sigmoid", "tanh", "softmax") or z.max() <= t.limits.z_max
            assert act != "relu" or z.min() >= t.limits.relu_margin
        for q in t.asked:  # no asked gradient entry vanishes (cross-entropy's dYhat is 0 where y is 0 by design)
            if q.startswith("d") and q != "dYhat":
                assert np.abs(ans[q]).min() >= t.limits.grad_min, (name, seed, q)
    if name == "softmax_classifier":
        y = np.array(doc["given"]["Y"])
        assert set(y.sum(axis=1)) == {1.0} and set(np.unique(y)) <= {0.0, 1.0}
        np.testing.assert_allclose(ans["dZ2"], (np.array(ans["Yhat"]) - y) / len(y), rtol=1e-12)


@pytest.mark.parametrize("name", NETWORKS + GRAPHS)
def test_every_student_gets_other_numbers(name):
    docs = [sample(bank.load(name), seed).to_json() for seed in range(20)]
    assert len({json.dumps(d["given"]) for d in docs}) == (1 if name == "mazur_222" else 20)  # Mazur's is the page's
