"""Helpers for the grader tests: a generated class with release notebooks, and expected points."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Sequence

from hwgen.cli import main as hwgen_main
from hwgen.grade.manifest import ClassManifest, load_manifest

ASSIGNMENT = """\
title: Backprop HW
course: ML 101
due: 2026-12-01
seed: 7
grading: {show_expected: false}
problems:
  - template: xor_net
    points: 10
  - template: bce_net
    points: 6
    asked: [L, dZ2, dW1]
"""


def make_class(root: Path, students: Sequence[tuple[str, str]], assignment: str = ASSIGNMENT) -> tuple[Path, ClassManifest]:
    """`hwgen generate` for a roster of (id, name) into root/class; the folder and its manifest."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "hw.yaml").write_text(assignment, encoding="utf-8")
    with (root / "roster.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student_id", "name", "email"])
        writer.writerows([sid, name, f"{sid}@example.edu"] for sid, name in students)
    folder = root / "class"
    assert hwgen_main(["generate", str(root / "hw.yaml"), "--roster", str(root / "roster.csv"),
                       "--out", str(folder), "--jobs", "1"]) == 0
    return folder, load_manifest(folder)


def points(manifest: ClassManifest, *variables: str) -> float:
    """Points of these answer variables (p1_L, ...)."""
    table = {spec.variable(q): p for spec in manifest.problems for q, p in spec.asked.items()}
    return sum(table[v] for v in variables)
