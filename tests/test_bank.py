"""Problem templates: the bundled bank loads, and broken files name the file, the line and the fix."""

from __future__ import annotations

import pytest
import yaml

from hwgen import bank
from hwgen.errors import TemplateError

from .conftest import run_cli

REQUIRED = {"xor_net", "regression_3hidden", "bce_net", "relu_sigmoid", "batch_vectorized"}


def test_bank_has_the_seed_templates(templates):
    assert REQUIRED <= set(templates)
    xor = templates["xor_net"]
    assert xor.network.sizes == (2, 2, 1) and xor.network.loss == "mse_half" and xor.samples == 4
    assert templates["regression_3hidden"].network.activations == ("sigmoid", "linear")
    assert templates["regression_3hidden"].network.loss == "sse" and templates["regression_3hidden"].samples == 3
    assert templates["bce_net"].network.sizes == (3, 2, 1) and templates["bce_net"].samples == 1
    assert templates["relu_sigmoid"].network.activations == ("relu", "sigmoid")
    assert templates["batch_vectorized"].network.sizes == (4, 2, 1)


def test_templates_state_points_rounding_and_notation(templates):
    for t in templates.values():
        assert t.asked and all(p > 0 for p in t.asked.values())
        assert 2 <= t.significant <= 8
        assert t.display.layout in ("rows", "columns")
    assert templates["xor_net"].display.layout == "columns"
    assert templates["bce_net"].display.bias == "folded"


def _write(tmp_path, text: str):
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    return path


XOR = (bank.bank_dir() / "xor_net.yaml").read_text()


@pytest.mark.parametrize("old,new,line_word,fix_word", [
    ("loss: mse_half", "loss: mse_halve", "loss", "use one of"),
    ("sizes: [2, 2, 1]", "sizes: [2, 2]", "sizes", "[inputs, hidden, outputs]"),
    ("  dW1: 2\n", "  dW3: 2\n", "dW3", "use one of"),
    ("  lr: 0.5\n", "  lr: 0.5\n  momentum: 0.9\n", "momentum", "remove or rename"),
    ("b2: {min: -1, max: 1, step: 0.1, nonzero: true}", "b2: {min: -1, max: 1, step: 0.001}", "b2", "0.01"),
    ("X: [[0, 0], [0, 1], [1, 0], [1, 1]]", "X: [[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1]]", "X", "canonical"),
    ("  W2: {min", "  W2: {min: 1, max: -1, step: 0.1}\n  W9: {min", "W9", "remove or rename"),
    ("W2: {min: -1, max: 1,", "W2: {min: 1, max: -1,", "W2", "swap min and max"),
])
def test_broken_template_names_file_line_and_fix(tmp_path, old, new, line_word, fix_word):
    assert old in XOR
    path = _write(tmp_path, XOR.replace(old, new, 1))
    with pytest.raises(TemplateError) as info:
        bank.load(path)
    err = info.value
    assert err.path == str(path) and err.line is not None
    line = path.read_text().splitlines()[err.line - 1]
    assert line_word in line, (err, line)
    assert fix_word in str(err)


def test_a_schema_error_without_a_hint_points_to_hwgen_list_and_the_installed_bank(tmp_path):
    """A pip user has no problem_bank/ folder of their own: the fix names `hwgen list` and where the bundled
    templates are installed."""
    path = _write(tmp_path, XOR.replace("  lr: 0.5", "  lr: -0.5"))
    with pytest.raises(TemplateError) as info:
        bank.load(path)
    assert "`hwgen list`" in info.value.fix and str(bank.bank_dir()) in info.value.fix
    assert "see the example files in problem_bank/" not in str(info.value)


def test_yaml_syntax_error_and_duplicate_key(tmp_path):
    path = _write(tmp_path, XOR.replace("  loss: mse_half", "  loss: [mse_half"))
    with pytest.raises(TemplateError, match=r"broken.yaml:\d+: not valid YAML"):
        bank.load(path)
    path = _write(tmp_path, XOR.replace("  lr: 0.5", "  lr: 0.5\n  lr: 0.1"))
    with pytest.raises(TemplateError, match="duplicate key 'lr'") as info:
        bank.load(path)
    assert "lr: 0.1" in path.read_text().splitlines()[info.value.line - 1]


def test_unknown_template_name_lists_the_bank():
    with pytest.raises(TemplateError, match="xor_net"):
        bank.load("no_such_template")


def test_cli_reports_broken_template_without_traceback(tmp_path):
    path = _write(tmp_path, XOR.replace("loss: mse_half", "loss: l2"))
    result = run_cli("solve", str(path), "--seed", "1")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{path}:" in result.stderr and "fix: use one of" in result.stderr


def test_template_file_is_plain_yaml_others_can_read():
    for path in bank.template_paths():
        data = yaml.safe_load(path.read_text())
        assert data["name"] == path.stem


DEEP = XOR.replace("sizes: [2, 2, 1]", "sizes: [2, 3, 2, 1]").replace("activations: [sigmoid, sigmoid]",
                                                                    "activations: [tanh, sigmoid, sigmoid]")
DEEP = DEEP.replace("  b2: {min: -1, max: 1, step: 0.1, nonzero: true}\n",
                    "  b2: {min: -1, max: 1, step: 0.1, nonzero: true}\n  W3: {min: -1, max: 1, step: 0.1}\n"
                    "  b3: {min: -1, max: 1, step: 0.1}\n")


def test_a_network_of_any_depth_loads_with_its_canonical_names(tmp_path):
    t = bank.load(_write(tmp_path, DEEP.replace("  b2_new: 1\n", "  b2_new: 1\n  dA2: 1\n  W3_new: 1\n")))
    assert list(t.problem.given) == ["X", "Y", "W1", "b1", "W2", "b2", "W3", "b3"]
    assert t.shape("W2") == (3, 2) and t.shape("W3") == (2, 1) and t.shape("b3") == (1,)
    assert {"Z3", "A2", "dA2", "dZ3", "dW3", "W3_new"} <= set(t.problem.answers) and "dA2" in t.asked


@pytest.mark.parametrize("old,new,line_word,what", [
    ("activations: [tanh, sigmoid, sigmoid]", "activations: [tanh, sigmoid]", "activations", "one per weight layer"),
    ("activations: [tanh, sigmoid, sigmoid]", "activations: [softmax, tanh, sigmoid]", "activations", "last layer"),
    ("loss: mse_half", "loss: cce", "loss", "softmax output"),
    ("loss: mse_half", "loss: mse_half\n  weight_decay: -0.1", "weight_decay", "minimum"),
    ("activations: [tanh, sigmoid, sigmoid]", "activations: [tanh, sigmoid, softmax]", "loss", "cce"),
    ("  W3: {min: -1, max: 1, step: 0.1}\n", "", "given", "W3 is missing"),
    ("  dW1: 2\n", "  dA3: 2\n", "dA3", "dA2"),
])
def test_network_rules_name_line_and_fix(tmp_path, old, new, line_word, what):
    assert old in DEEP
    path = _write(tmp_path, DEEP.replace(old, new, 1))
    with pytest.raises(TemplateError) as info:
        bank.load(path)
    line = path.read_text().splitlines()[info.value.line - 1]
    assert line_word in line and what in str(info.value), (str(info.value), line)
