"""`hwgen list` and `hwgen solve` from the outside, as an instructor runs them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hwgen.engine import ANSWER_NAMES

from .conftest import run_cli


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
    assert "Z1 = X W1 + b1" in out and "dW1 = Xᵀ dZ1" in out
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
