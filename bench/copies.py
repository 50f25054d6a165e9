"""Copy index scaling (run from the repo root): python bench/copies.py [N ...]

Builds an in-memory class of N students with one xor_net problem, a CopyIndex over it, and queries every
student once (every 50th hands in the next student's rounded answers). Time per query should stay flat as
N grows (the index narrows by binary search; it never compares all pairs).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from hwgen.grade.copies import CopyIndex
from hwgen.numfmt import round_sig
from tests.gradehelp import manifest


def main(sizes: list[int]) -> None:
    """Print build and query times per class size."""
    for n in sizes:
        m = manifest({"p1": "xor_net"}, n)
        t0 = time.perf_counter()
        index = CopyIndex(m)
        t1 = time.perf_counter()
        ids, asked, found = list(m["students"]), m["problems"][0]["asked"], 0
        for i, sid in enumerate(ids):
            source = ids[(i + 1) % n] if i % 50 == 0 else sid
            rec = m["students"][source]["problems"]["p1"]
            values = {"p1": {q: round_sig(np.asarray(rec["answers"][q]), 4).tolist() for q in asked}}
            found += any(f["other"] == source for f in index.flags(sid, values)) if source != sid else 0
        t2 = time.perf_counter()
        print(f"N={n:6d}: build {t1 - t0:6.2f} s, {n} queries {t2 - t1:6.2f} s "
              f"({1e3 * (t2 - t1) / n:.2f} ms each), copiers found {found}/{len(range(0, n, 50))}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 2000, 4000])
