"""Rounding-aware tolerance against simulated students, per template (run from the repo root):

    python bench/rounding.py [SEEDS]

For each bundled template and d = 4 (the stated rounding) and d = 3, students who round every step's
inputs and result to d significant digits and carry their own rounded values forward (tests/gradehelp.py)
are checked with the tolerances for the stated 4 digits, and with `rounding_digits: d`. Prints the entry
furthest from the exact answer (relative), the tolerance at that entry, the largest deviation/tolerance
ratio over all entries (<= 1 means full marks), and how many students got full marks.
"""

from __future__ import annotations

import sys

import numpy as np

from hwgen.grade.tolerance import tolerances
from hwgen.rounding import close
from tests.gradehelp import TEMPLATES, problem, record, rounding_student


def main(seeds: int) -> None:
    """Print the table."""
    print(f"{'template':20s} d  worst rel. dev (quantity)  tol there  max dev/tol  "
          f"full marks: stated tol / rounding_digits=d  (of {seeds})")
    for name in TEMPLATES:
        spec = problem(name)
        recs = [record(spec, seed) for seed in range(seeds)]
        for d in (4, 3):
            tols = [tolerances(spec, r) for r in recs]
            own = [tolerances(spec, r, {"rounding_digits": d}) for r in recs]
            worst, ratio, full, full_own = (0.0, "", 0.0), 0.0, 0, 0
            for rec, tol, tol_d in zip(recs, tols, own):
                student = rounding_student(spec, rec, d)
                ok = ok_d = True
                for q in spec.asked:
                    b = np.asarray(rec["answers"][q], dtype=float)
                    dev, allowed = np.abs(student[q] - b), tol[q][1] + tol[q][0] * np.abs(b)
                    rel = np.where(np.abs(b) >= 1e-3 * np.abs(b).max(), dev / np.maximum(np.abs(b), 1e-300), 0)
                    i = np.unravel_index(np.argmax(rel), rel.shape)
                    if rel[i] > worst[0]:
                        worst = (float(rel[i]), q, float(allowed[i] / abs(b[i])))
                    ratio = max(ratio, float(np.max(dev / allowed)))
                    ok &= bool(close(student[q], b, tol[q]).all())
                    ok_d &= bool(close(student[q], b, tol_d[q]).all())
                full, full_own = full + ok, full_own + ok_d
            print(f"{name:20s} {d}  {worst[0]:8.3g} ({worst[1]:6s})        {worst[2]:8.3g}  {ratio:10.3g}  "
                  f"{full:5d} / {full_own:5d}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
