"""A small graded class with everything issue 15 is about: a late policy with timestamps, an extension, a
submission without timestamp.txt, an override. Built once per test session (conftest.course)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from hwgen.cli import main as hwgen_main
from hwgen.grade.manifest import ClassManifest
from hwgen.grade.simulate import submit

from .grade_support import make_class, points

DUE = datetime(2026, 12, 1, 22, 59, tzinfo=timezone.utc)  # 23:59 in Berlin, as the assignment writes it
ASSIGNMENT = """\
title: Course HW
due: 2026-12-01 23:59 Europe/Berlin
seed: 11
late: {grace_minutes: 15, penalty_per_day: 0.1, max_penalty: 0.5}
extensions: extensions.csv
problems:
  - template: xor_net
    points: 10
  - template: bce_net
    points: 6
    asked: [L, dZ2, dW1]
"""
EXTENSIONS = "student_id,due\neve,2026-12-05 12:00\n"
# id -> (behaviour, timestamp.txt content or None for none)
STUDENTS: dict[str, tuple[str, str | None]] = {
    "ada": ("correct", "2026-12-01 22:50:00.123456 UTC"),  # on time
    "bob": ("correct", "2026-12-01 23:10:00.000000 UTC"),  # 11 minutes after the due: within the grace
    "cy": ("correct", "2026-12-03 10:00:00.000000 UTC"),  # 1 day 11 h late: 2 started days, 20 %
    "dee": ("correct", None),  # no timestamp: the file time, 10 days late, capped at 50 %
    "eve": ("correct", "2026-12-04 09:00:00.000000 UTC"),  # late but before her extension
    "fay": ("one_wrong", "2026-12-02T08:00:00-05:00"),  # 13:00 UTC, 14 h late: 1 day, 10 %; p1 L overridden to full
    "gus": ("misconceptions", "2026-12-01 20:00:00 UTC"),
    "hal": ("rounded", "2026-12-01 20:00:00 UTC"),
    "ivy": ("blank", "2026-12-01 20:00:00 UTC"),
    "jon": ("absent", None),
}
LATE_FRACTION = {"ada": 0.0, "bob": 0.0, "cy": 0.2, "dee": 0.5, "eve": 0.0, "fay": 0.1, "gus": 0.0, "hal": 0.0,
                 "ivy": 0.0}


@dataclass
class Course:
    """The graded class: its folder, manifest and JSON report."""

    folder: Path
    manifest: ClassManifest
    report: dict


def build_course(root: Path) -> Course:
    """Generate, hand in, grade, override fay's p1 L; the JSON report written after the override."""
    (root).mkdir(parents=True, exist_ok=True)
    (root / "extensions.csv").write_text(EXTENSIONS, encoding="utf-8")
    folder, manifest = make_class(root, [(sid, sid.title()) for sid in STUDENTS], ASSIGNMENT)
    for sid, (behaviour, stamp) in STUDENTS.items():
        path = submit(folder, manifest, sid, behaviour)
        if stamp is not None:
            (path.parent / "timestamp.txt").write_text(stamp + "\n", encoding="utf-8")
        elif path is not None:
            late = DUE.timestamp() + 10 * 86400 - 60
            os.utime(path, (late, late))
    assert hwgen_main(["grade", str(folder), "--quiet", "--jobs", "2"]) == 0
    assert hwgen_main(["override", str(folder), "--student", "fay", "--problem", "p1", "--quantity", "L",
                       "--points", repr(points(manifest, "p1_L")), "--reason", "showed the 1/2 on paper",
                       "--by", "TA Kim"]) == 0
    assert hwgen_main(["grade", str(folder), "--quiet", "--json", str(folder / "report.json")]) == 0
    return Course(folder, manifest, json.loads((folder / "report.json").read_text(encoding="utf-8")))
