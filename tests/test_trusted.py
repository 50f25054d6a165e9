"""The instructor's cells the sandbox's workers compile once: exactly those every student's notebook shares."""

from __future__ import annotations

import json

from hwgen.grade.submission import read_notebook
from hwgen.grade.trusted import shared_cells

from .grade_support import make_class


def _release_cells(folder, manifest, sid):
    path = folder / "release" / sid / manifest.name / f"{manifest.name}.ipynb"
    return read_notebook(path, path.read_bytes()).cells


def test_shared_cells_are_every_students_checks_and_stubs_and_nothing_of_a_students_own(tmp_path):
    folder, manifest = make_class(tmp_path, [("s1", "Ada"), ("s2", "Bob")])
    shared = set(shared_cells(manifest))
    one, two = (_release_cells(folder, manifest, sid) for sid in ("s1", "s2"))
    common = set(one) & set(two)
    assert shared == common  # every cell both notebooks hold, and no other
    assert len(shared) == 2 * sum(len(spec.asked) for spec in manifest.problems)  # a stub and a check per answer
    secrets = [json.dumps(manifest.students[sid]["problems"][key]["answers"][q])[:12]
               for sid in ("s1", "s2") for key in ("p1", "p2") for q in manifest.students[sid]["problems"][key]["answers"]]
    assert not [s for s in secrets if any(s in cell for cell in shared)]


CALCULUS = """\
title: Calculus HW
course: ML 101
due: 2026-12-01
seed: 7
problems:
  - template: chain_rule
    points: 4
  - template: xor_net
    points: 6
    asked: [Z1, dW1]
"""


def test_a_calculus_problem_shares_no_students_numbers(tmp_path):
    folder, manifest = make_class(tmp_path, [("s1", "Ada"), ("s2", "Bob"), ("s3", "Cy")], CALCULUS)
    shared = set(shared_cells(manifest))
    common = set.intersection(*(set(_release_cells(folder, manifest, sid)) for sid in ("s1", "s2", "s3")))
    assert shared and shared <= common  # never a cell one of them does not hold
