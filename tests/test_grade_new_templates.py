"""The new templates end to end: `hwgen generate` writes every student's notebook, simulated students fill them in
(exact, rounded to the digits asked, a slip early in every problem, planted misconceptions) and `hwgen grade` grades
them in the sandbox: full marks, full credit carried forward for the slips' consequences, every mistake named."""

from __future__ import annotations

import json

import pytest

from hwgen.grade.simulate import mistakes, slipped, submit

from .conftest import run_cli
from .grade_support import make_class

TEMPLATES = ("mlp_2hidden", "softmax_classifier", "l2_regression", "circuit_basic", "sigmoid_neuron_graph",
             "regression_graph_002", "mazur_222")
ASSIGNMENT = "title: New shapes\ncourse: ML 101\ndue: 2026-12-01\nseed: 12\nproblems:\n" + "".join(
    f"  - template: {name}\n" + ("    shared: true\n" if name == "mazur_222" else "") for name in TEMPLATES)
# Two students with one planted mistake in every problem (problem index -> catalogue key): each is named on every
# variant of these templates (tests/test_simulated_students.py plants every key on several variants).
PLANTED = {
    "m1": {0: "forgot_activation_derivative", 1: "missing_1_over_n", 2: "forgot_weight_decay", 3: "local_derivative_sign",
           4: "local_derivative_sign", 5: "product_operand", 6: "transposed_gradient"},
    "m2": {0: "other_activation_derivative", 1: "softmax_diagonal", 2: "update_sign", 3: "product_operand",
           4: "forgot_activation_derivative", 5: "other_function_derivative", 6: "dropped_half"},
}
BEHAVIOURS = {"exact": "correct", "rounded": "rounded", "slips": "slips"} | {
    sid: mistakes(keys) for sid, keys in PLANTED.items()}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class generated, submitted and graded once: (manifest, JSON report)."""
    root = tmp_path_factory.mktemp("new")
    folder, manifest = make_class(root, [(sid, sid.title()) for sid in BEHAVIOURS], ASSIGNMENT)
    for sid, behaviour in BEHAVIOURS.items():
        submit(folder, manifest, sid, behaviour)
    result = run_cli("grade", str(folder), "--json", str(root / "report.json"), "--quiet")
    assert result.returncode == 0, result.stderr
    return manifest, json.loads((root / "report.json").read_text())


def _items(report, sid):
    """(problem, quantity) -> item of one student's report."""
    return {(i["problem"], i["quantity"]): i for i in report[sid]["items"]}


@pytest.mark.parametrize("sid", ["exact", "rounded"])
def test_exact_and_rounded_work_gets_full_marks(graded, sid):
    manifest, report = graded
    total = sum(spec.points for spec in manifest.problems)
    assert {i["status"] for i in report[sid]["items"]} == {"correct"}
    assert report[sid]["score"] == pytest.approx(total)


def test_each_slip_costs_only_its_own_points(graded):
    """A slip in every problem's first asked step: that item is wrong, everything after it earns full credit carried
    forward (correct_ecf), and no mistake is named."""
    manifest, report = graded
    items = _items(report, "slips")
    slipped_items = {(spec.key, slipped(spec).name) for spec in manifest.problems}
    for key, item in items.items():
        assert item["status"] == ("wrong" if key in slipped_items else item["status"])
        assert item["status"] in ("correct", "correct_ecf", "wrong") and not item.get("misconception"), item
        assert (item["status"] == "wrong") == (key in slipped_items), item
    for spec in manifest.problems:
        assert any(i["status"] == "correct_ecf" for (p, _), i in items.items() if p == spec.key), spec.key
    lost = sum(spec.asked[q] for spec in manifest.problems for p, q in slipped_items if p == spec.key)
    assert report["slips"]["score"] == pytest.approx(sum(spec.points for spec in manifest.problems) - lost)


@pytest.mark.parametrize("sid", list(PLANTED))
def test_every_planted_mistake_is_named(graded, sid):
    manifest, report = graded
    named = {}
    for item in report[sid]["items"]:
        if item.get("misconception"):
            named.setdefault(item["problem"], set()).add(item["misconception"])
    for index, key in PLANTED[sid].items():
        spec = manifest.problems[index]
        assert key in named.get(spec.key, set()), (spec.template.name, key, named.get(spec.key))
