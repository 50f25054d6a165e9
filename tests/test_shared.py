"""A problem the class shares (`shared: true`): the same numbers for everyone, never flagged as copying; and
sampled inputs never repeat a sample."""

from __future__ import annotations

import json

import numpy as np

from hwgen import bank
from hwgen import generate as gen
from hwgen.assignment import Student, load_assignment
from hwgen.grade.copies import CopyIndex
from hwgen.numfmt import round_sig
from hwgen.sampling import sample

FIXED = """\
name: textbook
title: "A textbook network"
description: "xor_net with every number fixed, as a textbook prints it"
network: {sizes: [2, 2, 1], activations: [sigmoid, sigmoid], loss: mse_half, lr: 0.5}
given:
  X: [[0, 0], [0, 1], [1, 0], [1, 1]]
  Y: [[0], [1], [1], [1]]
  W1: [[0.1, -0.2], [0.3, 0.4]]
  b1: [0.1, -0.1]
  W2: [[0.5], [-0.6]]
  b2: [0.2]
asked: {Z1: 1, L: 1, dZ2: 1, dW2: 1, dW1: 1}
rounding: {significant: 4}
"""
ASSIGNMENT = """\
title: Shared
seed: 7
problems:
  - template: textbook.yaml
    shared: true
  - template: xor_net
"""


def _class(tmp_path, students=6):
    (tmp_path / "textbook.yaml").write_text(FIXED, encoding="utf-8")
    (tmp_path / "hw.yaml").write_text(ASSIGNMENT, encoding="utf-8")
    assignment = load_assignment(tmp_path / "hw.yaml")
    roster = [Student(f"s{i}", f"Student {i}") for i in range(students)]
    gen.generate(assignment, roster, tmp_path / "out", progress=False, writers=("notebook",))
    return assignment, json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))


def test_a_shared_problem_with_fixed_numbers_is_the_same_for_everyone(tmp_path):
    assignment, m = _class(tmp_path)
    assert assignment.problems[0].shared and not assignment.problems[1].shared
    p1 = [s["problems"]["p1"] for s in m["students"].values()]
    p2 = [s["problems"]["p2"] for s in m["students"].values()]
    assert all(r["given"] == p1[0]["given"] and r["answers"] == p1[0]["answers"] for r in p1)
    assert len({json.dumps(r["given"]) for r in p2}) == len(p2)  # the other problem stays personal
    assert m["problems"][0]["shared"] is True


def test_a_shared_sampled_problem_is_the_same_for_everyone(tmp_path):
    (tmp_path / "hw.yaml").write_text("title: S\nseed: 3\nproblems:\n  - template: relu_sigmoid\n    shared: true\n",
                                      encoding="utf-8")
    assignment = load_assignment(tmp_path / "hw.yaml")
    roster = [Student(f"s{i}") for i in range(5)]
    records = [json.loads(gen.build_student(assignment, s, writers=()).record)["problems"]["p1"] for s in roster]
    assert all(r["given"] == records[0]["given"] for r in records)


def test_shared_problems_are_never_flagged_as_copied(tmp_path):
    _, m = _class(tmp_path)
    index = CopyIndex(m)
    asked = m["problems"][0]["asked"]
    own = m["students"]["s1"]["problems"]["p1"]["answers"]
    values = {"p1": {q: round_sig(np.asarray(own[q]), 4).tolist() for q in asked}}
    assert index.flags("s2", values) == []
    # The personal problem is still watched: s2 handing in s1's p2 is flagged.
    other = m["students"]["s1"]["problems"]["p2"]["answers"]
    copied = {"p2": {q: round_sig(np.asarray(other[q]), 4).tolist() for q in m["problems"][1]["asked"]}}
    assert [f["other"] for f in index.flags("s2", copied)] == ["s1"]


def test_sampled_inputs_never_repeat_a_sample():
    for name in ("relu_sigmoid", "batch_vectorized", "regression_3hidden"):
        template = bank.load(bank.bank_dir() / f"{name}.yaml")
        for seed in range(150):
            x = sample(template, seed).given["X"]
            assert len(np.unique(x, axis=0)) == len(x), (name, seed, x)
