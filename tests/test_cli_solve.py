"""`hwgen list` and `hwgen solve` from the outside, as an instructor runs them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hwgen.assignment import load_assignment

from .conftest import run_cli
from .names import ANSWER_NAMES


def test_list_names_every_template():
    out = run_cli("list", check=True).stdout
    for name in ("xor_net", "regression_3hidden", "bce_net", "relu_sigmoid", "batch_vectorized"):
        assert name in out


@pytest.mark.parametrize("args", [[], ["list"], ["solve"]])
def test_help(args):
    result = run_cli(*args, "--help")
    assert result.returncode == 0 and "usage: hwgen" in result.stdout


def test_solve_help_names_no_file_that_is_not_shipped():
    out = run_cli("solve", "--help", check=True).stdout
    assert "design.md" not in out and "template, seed, network" in " ".join(out.split())


def test_solve_json_is_the_canonical_form():
    doc = json.loads(run_cli("solve", "xor_net", "--seed", "7", "--json", check=True).stdout)
    assert doc["template"] == "xor_net" and doc["seed"] == 7
    assert doc["network"] == {"sizes": [2, 2, 1], "activations": ["sigmoid", "sigmoid"], "loss": "mse_half", "lr": 0.5}
    assert set(doc["given"]) == {"X", "Y", "W1", "b1", "W2", "b2"}
    assert set(doc["answers"]) == set(ANSWER_NAMES)
    assert np.shape(doc["given"]["X"]) == (4, 2) and np.shape(doc["given"]["W1"]) == (2, 2)
    assert np.shape(doc["given"]["b1"]) == (2,) and isinstance(doc["answers"]["L"], float)
    # The answers follow from the given numbers (an independent re-computation).
    g = {k: np.array(v) for k, v in doc["given"].items()}
    a1 = 1 / (1 + np.exp(-(g["X"] @ g["W1"] + g["b1"])))
    yhat = 1 / (1 + np.exp(-(a1 @ g["W2"] + g["b2"])))
    assert doc["answers"]["L"] == pytest.approx(np.sum((yhat - g["Y"]) ** 2) / 8)


def test_solve_given_reproduces_seed_001(tmp_path):
    given = {"X": [[0, 0], [0, 1], [1, 0], [1, 1]], "Y": [[0], [1], [1], [1]], "W1": [[0.2, 0.3], [0.4, 0.5]],
             "b1": [0.3, 0.5], "W2": [[0.4], [0.6]], "b2": [0.5], "lr": 0.5}
    path = tmp_path / "seed001.json"
    path.write_text(json.dumps(given))
    doc = json.loads(run_cli("solve", "xor_net", "--given", str(path), "--json", check=True).stdout)
    assert doc["answers"]["L"] == pytest.approx(0.0903436, abs=5e-8)
    assert doc["answers"]["db2"][0] == pytest.approx(0.00453712, abs=5e-9)
    text = run_cli("solve", "xor_net", "--given", str(path), check=True).stdout
    assert "0.09034" in text and "[xor_net, given numbers]" in text.splitlines()[0]


def test_solve_text_shows_formula_numbers_and_result():
    out = run_cli("solve", "bce_net", "--seed", "3", check=True).stdout
    assert "Forward pass" in out and "Backward pass" in out and "One SGD step" in out
    # bce_net folds its biases: weights one row per unit, as its worksheet writes them
    assert "Z1 = X W1ᵀ + b1" in out and "dW1 = dZ1ᵀ X" in out and "[b1 | W1] = " in out
    doc = json.loads(run_cli("solve", "bce_net", "--seed", "3", "--json", check=True).stdout)
    assert f"{doc['answers']['L']:.4g}" in out


@pytest.mark.parametrize("content,needle", [
    ("{not json", "not valid JSON"),
    ('{"X": [[1, 2]]}', "Y is missing"),
    ('{"X": [[0, 0]], "Y": [[1]], "W1": [[1]], "b1": [1, 1], "W2": [[1], [1]], "b2": [0]}', "W1 has shape"),
])
def test_bad_given_file_is_a_clear_error(tmp_path, content, needle):
    path = tmp_path / "g.json"
    path.write_text(content)
    result = run_cli("solve", "xor_net", "--given", str(path))
    assert result.returncode == 2 and needle in result.stderr and "Traceback" not in result.stderr


def _independent_loss(g: dict, acts: list[str], loss: str) -> float:
    """The loss of a network written out in plain NumPy, apart from hwgen's engine."""
    f = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0),
         "linear": lambda z: z, "softmax": lambda z: np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)}
    a = g["X"]
    for k, act in enumerate(acts, start=1):
        a = f[act](a @ g[f"W{k}"] + g[f"b{k}"])
    n = len(g["Y"])
    return np.sum((a - g["Y"]) ** 2) / n if loss == "mse" else -np.sum(g["Y"] * np.log(a)) / n


@pytest.mark.parametrize("acts,loss", [(["tanh", "sigmoid", "linear"], "mse"), (["sigmoid", "relu", "softmax"], "cce")])
def test_solve_json_of_a_deeper_network_against_finite_differences(tmp_path, acts, loss):
    one_hot = "Y: {one_of: [[[1, 0], [0, 1], [0, 1]], [[0, 1], [1, 0], [1, 0]]]}" if loss == "cce" else \
        "Y: {min: -1, max: 1, step: 0.5}"
    path = tmp_path / "deep.yaml"
    path.write_text(f"""name: deep
description: a 2-3-2-2 network
samples: 3
network: {{sizes: [2, 3, 2, 2], activations: [{', '.join(acts)}], loss: {loss}, lr: 0.1}}
given:
  X: {{min: -1, max: 1, step: 0.1}}
  {one_hot}
  W1: {{min: -1, max: 1, step: 0.1, nonzero: true}}
  b1: {{min: -1, max: 1, step: 0.1, nonzero: true}}
  W2: {{min: -1, max: 1, step: 0.1, nonzero: true}}
  b2: {{min: -1, max: 1, step: 0.1, nonzero: true}}
  W3: {{min: -1, max: 1, step: 0.1, nonzero: true}}
  b3: {{min: -1, max: 1, step: 0.1, nonzero: true}}
asked: {{L: 1, dW1: 1, dA2: 1, W3_new: 1}}
rounding: {{significant: 4}}
""")
    doc = json.loads(run_cli("solve", str(path), "--seed", "5", "--json", check=True).stdout)
    assert doc["network"]["sizes"] == [2, 3, 2, 2] and set(doc["given"]) == {"X", "Y", "W1", "b1", "W2", "b2", "W3", "b3"}
    assert {"Z3", "A2", "dA2", "dZ3", "dW3", "db3", "W3_new", "b3_new"} <= set(doc["answers"])
    g = {k: np.array(v, dtype=float) for k, v in doc["given"].items()}
    assert doc["answers"]["L"] == pytest.approx(_independent_loss(g, acts, loss), rel=1e-12)
    for name in ("W1", "b2", "W3"):
        numeric = np.zeros_like(g[name])
        for idx in np.ndindex(g[name].shape):
            up, down = ({**g, name: g[name].copy()} for _ in range(2))
            up[name][idx] += 1e-6
            down[name][idx] -= 1e-6
            numeric[idx] = (_independent_loss(up, acts, loss) - _independent_loss(down, acts, loss)) / 2e-6
        np.testing.assert_allclose(doc["answers"][f"d{name}"], numeric, rtol=1e-5, atol=1e-8)
        np.testing.assert_allclose(doc["answers"][f"{name}_new"], g[name] - 0.1 * numeric, rtol=1e-6, atol=1e-8)
    text = run_cli("solve", str(path), "--seed", "5", check=True).stdout
    assert f"Network 2-3-2-2: {acts[0]}, {acts[1]} hidden, {acts[2]} output" in text and "dA2 = " in text
    hw = tmp_path / "hw.yaml"
    hw.write_text(f"title: t\nseed: 1\nproblems:\n  - template: {path}\n")
    assert load_assignment(hw).problems[0].template.network.layers == 3  # assignments take any depth
