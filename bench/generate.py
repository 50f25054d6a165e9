"""Benchmark: `hwgen generate` for classes of 10, 100, 1,000 and 10,000 students x 3 problems.

    python bench/generate.py                          # all four sizes, --jobs 2
    python bench/generate.py --sizes 1000,10000
    python bench/generate.py --executor dask://127.0.0.1:8786
    python bench/generate.py --peer-python /path/to/python3.12   # an interpreter with quizgenerator==0.31.2

Each size runs the installed CLI (`python -m hwgen generate`, worksheets, keys, both notebooks and the
manifest) in a fresh process and reports its wall time (start-up included), milliseconds per problem variant
and per student, the CPU time of the whole process tree, and peak memory two ways: the largest single
process (wait4's ru_maxrss over the tree) and the sum over the tree sampled every 20 ms (psutil, if
installed; an upper bound, since forked workers share pages). Outputs go to a temporary folder, deleted
after each size. Numbers depend on what else the machine is doing: the load average is printed.

The peer is QuizGenerator 0.31.2 (the one public randomized backprop question generator): with
--peer-python, its BackpropGradientQuestion is instantiated and rendered to LaTeX (question and worked
explanation) in that interpreter and timed per variant; without it, its published figures are quoted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PROBLEMS = ("xor_net", "regression_3hidden", "bce_net")
PEER_PUBLISHED = "170-210 ms per question variant, 0.93 s per student PDF (published figures, not measured here)"
PEER_SNIPPET = """
import sys, time
from QuizGenerator.generation.question import QuestionRegistry
QuestionRegistry.load_premade_questions()
q = QuestionRegistry.create("backpropgradientquestion", name="bp", points_value=10)
def one(seed):
    inst = q.instantiate(rng_seed=seed)
    return inst.body.render("latex") + inst.explanation.render("latex")
one(10**6)  # warm-up: imports and caches
n = int(sys.argv[1])
start = time.perf_counter()
for seed in range(n):
    one(seed)
print((time.perf_counter() - start) / n * 1000)
"""


def write_inputs(root: Path, students: int, problems: tuple[str, ...]) -> tuple[Path, Path]:
    """An assignment of the problems (10 points each) and a roster of `students`."""
    hw = root / "hw.yaml"
    hw.write_text("title: Benchmark\ncourse: Bench 101\ndue: 2026-12-01\nseed: 7\nproblems:\n"
                  + "".join(f"  - template: {p}\n    points: 10\n" for p in problems), encoding="utf-8")
    roster = root / "roster.csv"
    roster.write_text("student_id,name,email\n" + "".join(f"s{i:05d},Student Number {i},s{i:05d}@example.org\n"
                                                          for i in range(students)), encoding="utf-8")
    return hw, roster


def _tree_rss(pid: int, stop: threading.Event, peak: list[int]) -> None:
    """Sample the summed RSS of `pid` and its descendants every 20 ms into peak[0] (bytes)."""
    import psutil
    try:
        root = psutil.Process(pid)
    except psutil.Error:
        return
    while not stop.is_set():
        total = 0
        try:
            for proc in [root, *root.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    pass
        except psutil.Error:
            return
        peak[0] = max(peak[0], total)
        stop.wait(0.02)


def run_generate(hw: Path, roster: Path, out: Path, jobs: int, executor: str | None) -> dict[str, float]:
    """Run `python -m hwgen generate` once: wall s, tree CPU s, largest-process and sampled tree-sum peak MB."""
    cmd = [sys.executable, "-m", "hwgen", "generate", str(hw), "--roster", str(roster), "--out", str(out),
           "--jobs", str(jobs), *(["--executor", executor] if executor else [])]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stop, tree = threading.Event(), [0]
    sampler = None
    try:
        import psutil  # noqa: F401
        sampler = threading.Thread(target=_tree_rss, args=(proc.pid, stop, tree), daemon=True)
        sampler.start()
    except ImportError:
        pass
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stop.set()
    if sampler:
        sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    stdout, stderr = proc.stdout.read().decode(), proc.stderr.read().decode()
    proc.stdout.close(), proc.stderr.close()
    if proc.returncode:
        raise SystemExit(f"hwgen generate failed ({proc.returncode}):\n{stdout}{stderr}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "max_mb": usage.ru_maxrss / 1024,
            "tree_mb": tree[0] / 2**20 if sampler else float("nan")}


def peer(python: str, variants: int) -> str:
    """QuizGenerator's ms per variant, measured with `python`, or its published figures."""
    if not python:
        return f"QuizGenerator 0.31.2: {PEER_PUBLISHED}"
    done = subprocess.run([python, "-c", PEER_SNIPPET, str(variants)], capture_output=True, text=True)
    if done.returncode:
        return f"QuizGenerator could not be run with {python} ({done.stderr.strip().splitlines()[-1:]}); {PEER_PUBLISHED}"
    ms = float(done.stdout.split()[-1])
    return (f"QuizGenerator 0.31.2 measured now: {ms:.0f} ms per BackpropGradientQuestion variant (instantiate, "
            f"LaTeX question + explanation; {variants} variants; published: {PEER_PUBLISHED.split(',')[0]})")


def main() -> int:
    """Run the sizes asked for and print a table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,100,1000,10000", help="class sizes, comma-separated")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument("--executor", help="passed to hwgen generate --executor (default: local processes)")
    parser.add_argument("--peer-python", default="", help="a Python with quizgenerator==0.31.2 installed")
    parser.add_argument("--peer-variants", type=int, default=20)
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args()
    problems = tuple(args.problems.split(","))
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"hwgen generate: {len(problems)} problems ({', '.join(problems)}), --jobs {args.jobs}"
          f"{', --executor ' + args.executor if args.executor else ''}; load average {os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} CPUs")
    print(f"{'students':>9} {'files':>7} {'wall s':>7} {'ms/variant':>10} {'ms/student':>10} {'CPU ms/student':>14} "
          f"{'peak MB (largest)':>17} {'peak MB (tree)':>14}")
    rows = []
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="hwgen-bench-generate-") as tmp:
            root = Path(tmp)
            hw, roster = write_inputs(root, n, problems)
            r = run_generate(hw, roster, root / "out", args.jobs, args.executor)
            files = sum(1 for _ in (root / "out").rglob("*") if _.is_file())
            shutil.rmtree(root / "out")
        row = {"students": n, "files": files, **r, "ms_variant": r["wall"] * 1000 / (n * len(problems)),
               "ms_student": r["wall"] * 1000 / n, "cpu_ms_student": r["cpu"] * 1000 / n}
        rows.append(row)
        print(f"{n:>9} {files:>7} {r['wall']:>7.2f} {row['ms_variant']:>10.2f} {row['ms_student']:>10.2f} "
              f"{row['cpu_ms_student']:>14.2f} {r['max_mb']:>17.0f} {r['tree_mb']:>14.0f}", flush=True)
    if len(rows) > 1:
        a, b = rows[-2], rows[-1]
        print(f"per-student wall at {b['students']} / at {a['students']}: {b['ms_student'] / a['ms_student']:.2f}")
    print(peer(args.peer_python, args.peer_variants))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
