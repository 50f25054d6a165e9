"""hwgen grade at class scale, and nbgrader autograde on the same notebooks (run from the repo root):

    python bench/grade.py [--sizes 250,500,1000,2000] [--nbgrader 10] [--jobs 2] [--profile] [--keep DIR]

Builds ONE class of max(--sizes) students with `hwgen generate` (xor_net and bce_net, the bank's two
most-asked problems) and hands in every student's notebook with hwgen/grade/simulate.py, in a fixed,
realistic mix (MIX: exact answers, rounded to the digits asked, rounded to one digit fewer, a slip carried
forward, named misconceptions, one wrong answer, blank, a copier, a damaged file, an np.allclose attack, a
memory bomb, a cell that kills its worker, no submission). For each size N it grades a class of the first N
students (the same manifest cut to those students, the same submission files) with the installed CLI,
`python -m hwgen grade DIR --jobs J` (isolation `auto`: bubblewrap where it works; the isolation used is
printed), in a fresh process, end to end, and reports:

- notebooks/s of wall time, start-up included, and once running (the grader's own summary line);
- CPU seconds of the whole process tree by role: the grader process (reading notebooks, writing the
  gradebook), the checker processes (the trusted checks) and the sandbox (bubblewrap, the workers and the
  forked child that runs each notebook), sampled every 50 ms with psutil;
- peak memory of the whole process tree: the sum of every process's resident set (an upper bound: forked
  processes share pages) and of its proportional set (shared pages divided among their users), sampled
  likewise; and the largest single process.

nbgrader: `nbgrader autograde` over the first --nbgrader ordinary notebooks of the same class (no damaged
files or attacks, which make it stop with an error), end to end, in one
invocation (its fastest path). nbgrader holds one source notebook per assignment, so every submission is
autograded against the first student's source: the time is representative, the other students' nbgrader
scores are not (see README, Notebooks). `generate_assignment` is not timed. The ratio is hwgen's rate at the
largest size over nbgrader's. --profile then runs cProfile over the grader's process and over the checks
(in this process, on the values the sandbox returned) and prints where each spends its time.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hwgen.grade.gradebook import GRADEBOOK, Gradebook  # noqa: E402
from hwgen.grade.manifest import MANIFEST, ClassManifest, load_manifest  # noqa: E402
from hwgen.grade.simulate import Sim, code_cell, submit, text  # noqa: E402

ASSIGNMENT = """\
title: Grading benchmark
course: Bench 101
due: 2026-12-01
seed: 7
problems:
  - template: xor_net
    points: 10
  - template: bce_net
    points: 6
    asked: [L, dZ2, dW1]
"""


def _with_cells(*cells: str):
    """Exact answers, then extra code cells (an attack that must change nothing)."""
    return lambda sim: text(sim.answered(sim.exact(), cells))


def _broken_cells(sim: Sim) -> str:
    """Exact answers, but a cell that raises between them (a student's leftover experiment)."""
    nb = sim.answered(sim.exact())
    nb["cells"].insert(len(nb["cells"]) // 2, code_cell("result = undefined_name + 1"))
    return text(nb)


# Per 100 students: (name, simulate.py behaviour or a function, how many, full marks? None: depends on the
# variant). Hanging notebooks are left out on purpose: each costs --timeout seconds of one worker, which
# measures the timeout, not the grader.
MIX: list[tuple[str, object, int, bool | None]] = [
    ("correct", "correct", 30, True),
    ("rounded", "rounded", 20, True),
    ("rounded_3", "rounded_3", 8, None),
    ("slip", "slip", 8, False),
    ("misconceptions", "misconceptions", 6, False),
    ("one_wrong", "one_wrong", 8, False),
    ("cell_error", _broken_cells, 6, True),
    ("blank", "blank", 5, False),
    ("copier", "copier", 2, False),
    ("broken", "broken", 2, False),
    ("allclose_attack", "allclose_attack", 2, False),
    ("memory_bomb", _with_cells("import numpy as np\nx = np.ones((100_000, 100_000))"), 1, True),
    ("kills_worker", _with_cells("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"), 1, True),
    ("absent", "absent", 2, False),
]
ORDINARY = {"correct", "rounded", "rounded_3", "slip", "misconceptions", "one_wrong", "cell_error", "blank"}  # for nbgrader
PATTERN = [i for i, (_, _, count, _) in enumerate(MIX) for _ in range(count)]  # 100 entries


def kind(i: int) -> int:
    """The MIX entry of the i-th student (spread evenly: every prefix of the class has the same mix)."""
    return PATTERN[(i * 37) % len(PATTERN)]


def build(root: Path, students: int, jobs: int) -> tuple[Path, ClassManifest]:
    """The class of `students` and every student's submission."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "hw.yaml").write_text(ASSIGNMENT, encoding="utf-8")
    (root / "roster.csv").write_text("student_id,name,email\n" + "".join(
        f"s{i:05d},Student {i},s{i:05d}@example.edu\n" for i in range(students)), encoding="utf-8")
    folder = root / "class"
    run([sys.executable, "-m", "hwgen", "generate", str(root / "hw.yaml"), "--roster", str(root / "roster.csv"),
         "--out", str(folder), "--jobs", str(jobs)])
    manifest = load_manifest(folder)
    for i, sid in enumerate(manifest.students):
        submit(folder, manifest, sid, MIX[kind(i)][1])
    return folder, manifest


def cut(folder: Path, manifest: ClassManifest, size: int, out: Path) -> Path:
    """A class folder of the first `size` students: the manifest cut to them, their submissions copied (the grader
    refuses hard links)."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    keep = list(manifest.students)[:size]
    data = dict(manifest.data, students={sid: manifest.students[sid] for sid in keep})
    (out / MANIFEST).write_text(json.dumps(data), encoding="utf-8")
    for sid in keep:
        if (folder / "submitted" / sid).is_dir():
            shutil.copytree(folder / "submitted" / sid, out / "submitted" / sid)
    (out / "submitted").mkdir(exist_ok=True)
    return out


def run(cmd: list[str], **kw) -> tuple[float, subprocess.CompletedProcess]:
    """(wall seconds, result) of one command; it must succeed."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd[:4]))} failed:\n{proc.stdout}\n{proc.stderr}")
    return seconds, proc


ROLES = ("grader", "checks", "sandbox")
ROLE_OF = {"grader": "grader", "checks": "checks", "worker": "sandbox", "wrapper": "sandbox"}


@dataclass
class Tree:
    """What a sampler saw of one process tree: CPU seconds by role (last sample of each process), peaks."""

    cpu: dict[int, tuple[str, float]] = field(default_factory=dict)  # pid -> (role, CPU seconds incl. reaped children)
    rss: int = 0
    pss: int = 0
    largest: int = 0

    def by_role(self) -> dict[str, float]:
        """CPU seconds per role."""
        out = dict.fromkeys(ROLES, 0.0)
        for role, seconds in self.cpu.values():
            out[role] += seconds
        return out


def _role(proc, parents: dict[int, list[str]], root_pid: int) -> str | None:
    """The role of one process of the grader's tree: grader, checks (forked from it: same command line),
    worker (a sandbox worker: `python -c`), wrapper (bubblewrap, unshare); None for a copy forked by a
    sandbox process (a notebook's child, whose CPU time its worker's counters hold once it is reaped)."""
    if proc.pid == root_pid:
        return "grader"
    cmdline, parent = proc.cmdline(), proc.ppid()
    if cmdline == parents.get(parent):
        return "checks" if parent == root_pid else None
    return "worker" if "-c" in cmdline else "wrapper"


def sample(pid: int, stop: threading.Event, tree: Tree, every: float = 0.05) -> None:
    """Sample the process tree of `pid` until `stop`: CPU by role, summed RSS and PSS, largest RSS (zeros
    without psutil, which comes with the test dependencies)."""
    try:
        import psutil
    except ImportError:
        return
    try:
        root = psutil.Process(pid)
    except psutil.Error:
        return
    roles: dict[int, str | None] = {}
    cmdlines: dict[int, list[str]] = {}
    while not stop.is_set():
        rss = pss = 0
        try:
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return
        for proc in procs:
            try:
                if proc.pid not in roles:
                    cmdlines[proc.pid] = proc.cmdline()
                    roles[proc.pid] = _role(proc, cmdlines, pid)
                mem = proc.memory_full_info()
                times = proc.cpu_times()
            except psutil.Error:
                continue
            rss, pss = rss + mem.rss, pss + mem.pss
            tree.largest = max(tree.largest, mem.rss)
            if roles[proc.pid] is not None:  # reaped children count only for a worker: its notebooks' runs
                runs = times.children_user + times.children_system if roles[proc.pid] == "worker" else 0.0
                tree.cpu[proc.pid] = (ROLE_OF[roles[proc.pid]], times.user + times.system + runs)
        tree.rss, tree.pss = max(tree.rss, rss), max(tree.pss, pss)
        stop.wait(every)


@dataclass
class Result:
    """One graded size."""

    size: int
    wall: float
    running: float  # seconds the grader itself reports (after start-up)
    graded: int
    isolation: str
    tree: Tree
    full: dict[str, bool]  # student -> full marks


def grade(folder: Path, jobs: int, env: dict[str, str]) -> Result:
    """`python -m hwgen grade` on one class folder, sampled."""
    cmd = [sys.executable, "-m", "hwgen", "grade", str(folder), "--jobs", str(jobs), "--quiet"]
    tree, stop = Tree(), threading.Event()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    sampler = threading.Thread(target=sample, args=(proc.pid, stop, tree), daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        sys.exit(f"hwgen grade failed:\n{out}\n{err}")
    summary = err.strip().splitlines()[-1]  # "... 1000 graded in 4.1 s (244 notebooks/s); gradebook: ..."
    running = float(re.search(r" in ([0-9.]+) s\b", summary).group(1))  # type: ignore[union-attr]
    graded = int(summary.split(" graded")[0].split()[-1]) if " graded" in summary else 0
    isolation = next((line.split("isolation: ")[1].split(" ")[0] for line in err.splitlines()
                      if "isolation: " in line), "?")
    with Gradebook(folder / GRADEBOOK) as book:
        full = {sid: abs(s.score - s.max_score) < 1e-6 for sid, s in book.submissions().items()}
    return Result(len(full), wall, running, graded, isolation, tree, full)


def check(result: Result, students: list[str]) -> str:
    """Whether every student whose kind fixes the outcome has full marks exactly when expected."""
    wrong = [f"{sid} ({MIX[kind(i)][0]})" for i, sid in enumerate(students)
             if MIX[kind(i)][3] is not None and result.full.get(sid) != MIX[kind(i)][3]]
    return (f"check: {sum(result.full.values())} of {result.size} students have full marks; "
            + (f"NOT AS EXPECTED: {', '.join(wrong[:5])}" if wrong else "each kind of student scored as expected"))


def nbgrader_rate(root: Path, folder: Path, manifest: ClassManifest, count: int, env: dict[str, str]) -> float:
    """nbgrader autograde's notebooks per second over the first `count` submissions (against one source)."""
    course, name = root / "nbgrader", manifest.name
    shutil.rmtree(course, ignore_errors=True)
    (course / "source").mkdir(parents=True)
    shutil.copytree(folder / "source" / next(iter(manifest.students)) / name, course / "source" / name)
    (course / "nbgrader_config.py").write_text(f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\n")
    ids = [sid for i, sid in enumerate(manifest.students) if MIX[kind(i)][0] in ORDINARY][:count]
    for sid in ids:
        shutil.copytree(folder / "submitted" / sid, course / "submitted" / sid)
    run([sys.executable, "-m", "nbgrader", "generate_assignment", name, "--force"], cwd=course, env=env)
    seconds, _ = run([sys.executable, "-m", "nbgrader", "autograde", name, "--create"], cwd=course, env=env)
    return len(ids) / seconds


def profile(folder: Path, jobs: int) -> None:
    """cProfile of the grader's own process (an in-process run), then of the checks alone."""
    from hwgen.grade.batch import GradeOptions, grade_class
    from hwgen.grade.chunks import ClassContext, check_student
    from hwgen.grade.copies import CopyIndex
    from hwgen.grade.sandbox import Limits

    prof = cProfile.Profile()
    prof.enable()
    summary = grade_class(folder, GradeOptions(jobs=jobs, regrade=True, progress=False))
    prof.disable()
    print(f"\nprofile of the grader's process (in-process run: {summary.line()}), by own time:")
    pstats.Stats(prof).sort_stats("tottime").print_stats(12)

    manifest = load_manifest(folder)
    specs = {spec.key: spec for spec in manifest.problems}
    values: dict[str, dict] = {}
    with Gradebook(folder / GRADEBOOK) as book:
        for sid, problem, quantity, answer in book.db.execute("SELECT student, problem, quantity, answer FROM items"):
            if answer is not None:
                values.setdefault(sid, {})[specs[problem].variable(quantity)] = json.loads(answer)
    context = ClassContext(manifest.grading, CopyIndex(manifest.data), Limits(), "auto")
    prof = cProfile.Profile()
    start = time.perf_counter()
    prof.enable()
    for sid in values:
        check_student(context, sid, manifest.students[sid]["problems"], values[sid], {})
    prof.disable()
    per = (time.perf_counter() - start) / max(len(values), 1) * 1e3
    print(f"\nprofile of the checks alone ({len(values)} students, {per:.2f} ms each under cProfile), cumulative:")
    pstats.Stats(prof).sort_stats("cumulative").print_stats(25)


def table(results: list[Result], nbgrader: float) -> None:
    """One line per size: notebooks run, wall time, rates (and hwgen's over nbgrader's), CPU by role, memory
    of the process tree."""
    print(f"{'students':>8} {'notebooks':>9} {'wall s':>7} {'nb/s':>6} {'nb/s running':>12} {'x nbgrader':>10}"
          + "".join(f"{'CPU ' + r:>13}" for r in ROLES) + f" {'tree RSS MB':>11} {'tree PSS MB':>11} {'largest MB':>10}")
    for r in results:
        cpu, rate = r.tree.by_role(), r.graded / r.wall
        print(f"{r.size:>8} {r.graded:>9} {r.wall:>7.2f} {rate:>6.0f} {r.graded / r.running:>12.0f} "
              + (f"{rate / nbgrader:>10.0f}" if nbgrader else f"{'-':>10}")
              + "".join(f"{cpu[role]:>13.2f}" for role in ROLES)
              + f" {r.tree.rss / 2**20:>11.0f} {r.tree.pss / 2**20:>11.0f} {r.tree.largest / 2**20:>10.0f}")
    print("(notebooks: those run in the sandbox; nb/s: notebooks per second of wall time, start-up included, and "
          "once running as the grader reports it; x nbgrader: nb/s over nbgrader autograde's)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="250,500,1000,2000", help="class sizes to grade (default 250,500,1000,2000)")
    parser.add_argument("--nbgrader", type=int, default=10, help="notebooks nbgrader grades (default 10; 0: skip)")
    parser.add_argument("--jobs", type=int, default=2, help="hwgen grade --jobs (default 2)")
    parser.add_argument("--profile", action="store_true", help="also profile the grader and the checks (largest size)")
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it, or reuse the class built there "
                        "by an earlier run (default: a temporary folder)")
    args = parser.parse_args()
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    root = args.keep or Path(tempfile.mkdtemp(prefix="hwgen-bench-"))
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    try:
        start = time.perf_counter()
        folder = root / "full" / "class"
        manifest = load_manifest(folder) if (folder / MANIFEST).is_file() else None
        what = "reused"  # --keep DIR of an earlier run
        if manifest is None or len(manifest.students) < sizes[-1]:
            shutil.rmtree(root / "full", ignore_errors=True)
            folder, manifest = build(root / "full", sizes[-1], args.jobs)
            what = "built"
        print(f"{what} a class of {sizes[-1]} students and their submissions in {time.perf_counter() - start:.1f} s "
              f"({root}); load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
        results = []
        for size in sizes:
            results.append(grade(cut(folder, manifest, size, root / f"class{size}"), args.jobs, env))
            print(f"  graded {size} ...", flush=True)
        nb_rate = nbgrader_rate(root, folder, manifest, args.nbgrader, env) if args.nbgrader else 0.0

        print(f"\nhwgen grade --jobs {args.jobs}, isolation {results[-1].isolation}; load average "
              f"{os.getloadavg()[0]:.2f} (a shared machine: other work slows every number)")
        table(results, nb_rate)
        last = results[-1]
        print(check(last, list(manifest.students)[:last.size]))
        if nb_rate:
            print(f"nbgrader autograde: {args.nbgrader} notebooks at {nb_rate:.2f} notebooks/s (end to end, start-up "
                  f"included); hwgen at {last.size} students: {last.graded / last.wall / nb_rate:.0f}x as many")
        if args.profile:
            profile(root / f"class{sizes[-1]}", args.jobs)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
