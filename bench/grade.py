"""hwgen grade vs nbgrader autograde on the same notebooks (run from the repo root, nbgrader installed):

    python bench/grade.py [--students 400] [--nbgrader 10] [--jobs 2] [--profile] [--keep DIR]

Generates a class with `hwgen generate` (xor_net and bce_net, the bank's two most-asked problems), hands
in every student's notebook (a mix of correct, rounded-by-hand, one-wrong and blank), and times:

- hwgen: `python -m hwgen grade DIR --jobs N` over all notebooks, end to end (interpreter start-up,
  sandbox start, isolation as chosen by `auto`, gradebook writes included);
- nbgrader: `nbgrader autograde` over the first --nbgrader of the same notebook files, end to end, in one
  invocation (its fastest path). nbgrader holds one source notebook per assignment, so every submission
  is autograded against the first student's source: the time is representative, the other students'
  nbgrader scores are not (see README, Notebooks). `generate_assignment` is not timed.

Both rates are notebooks per second of wall time; the ratio is hwgen's over nbgrader's. --profile grades
the class once more in this process under cProfile and prints where the grader's own process spends time.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hwgen.grade.batch import GradeOptions, grade_class  # noqa: E402
from hwgen.grade.gradebook import GRADEBOOK, Gradebook  # noqa: E402
from hwgen.grade.simulate import submit  # noqa: E402
from tests.grade_support import make_class  # noqa: E402

KINDS = ("correct", "rounded", "one_wrong", "correct", "blank")


def build(root: Path, students: int) -> tuple[Path, object]:
    """The class and every student's submission."""
    folder, manifest = make_class(root, [(f"s{i:04d}", f"Student {i}") for i in range(students)])
    for i, sid in enumerate(manifest.students):
        submit(folder, manifest, sid, KINDS[i % len(KINDS)])
    return folder, manifest


def timed(cmd: list[str], **kw) -> tuple[float, subprocess.CompletedProcess]:
    """(wall seconds, result) of one command; it must succeed."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd[:4])} failed:\n{proc.stdout}\n{proc.stderr}")
    return seconds, proc


def nbgrader_course(root: Path, folder: Path, manifest, count: int) -> Path:
    """An nbgrader course: the first student's source notebook, the first `count` submissions."""
    course, name = root / "nbgrader", manifest.name
    (course / "source").mkdir(parents=True)
    shutil.copytree(folder / "source" / next(iter(manifest.students)) / name, course / "source" / name)
    (course / "nbgrader_config.py").write_text(f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\n")
    for sid in list(manifest.students)[:count]:
        shutil.copytree(folder / "submitted" / sid, course / "submitted" / sid)
    return course


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=400, help="notebooks hwgen grades (default 400)")
    parser.add_argument("--nbgrader", type=int, default=10, help="of those, notebooks nbgrader grades (default 10)")
    parser.add_argument("--jobs", type=int, default=2, help="hwgen grade --jobs (default 2)")
    parser.add_argument("--profile", action="store_true", help="also profile hwgen's grading in this process")
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it (default: a temporary one)")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="hwgen-bench-"))
    try:
        print(f"building a class of {args.students} students in {root} ...", flush=True)
        folder, manifest = build(root, args.students)
        env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")

        hw_seconds, hw = timed([sys.executable, "-m", "hwgen", "grade", str(folder), "--jobs", str(args.jobs),
                                "--quiet"], env=env)
        isolation = next((line.split("isolation: ")[1].split(" ")[0] for line in hw.stderr.splitlines()
                          if "isolation: " in line), "?")
        with Gradebook(folder / GRADEBOOK) as book:
            subs = book.submissions()
        full = sum(1 for sid, s in subs.items() if abs(s.score - manifest.max_points) < 1e-6)
        print(hw.stderr.strip().splitlines()[-1])

        course = nbgrader_course(root, folder, manifest, args.nbgrader)
        timed([sys.executable, "-m", "nbgrader", "generate_assignment", manifest.name, "--force"], cwd=course, env=env)
        nb_seconds, _ = timed([sys.executable, "-m", "nbgrader", "autograde", manifest.name, "--create"],
                              cwd=course, env=env)

        hw_rate, nb_rate = args.students / hw_seconds, args.nbgrader / nb_seconds
        print(f"\n{'grader':<22}{'notebooks':>10}{'seconds':>10}{'notebooks/s':>13}")
        print(f"{'hwgen grade (' + isolation + ')':<22}{args.students:>10}{hw_seconds:>10.2f}{hw_rate:>13.2f}")
        print(f"{'nbgrader autograde':<22}{args.nbgrader:>10}{nb_seconds:>10.2f}{nb_rate:>13.2f}")
        print(f"\nratio: hwgen grades {hw_rate / nb_rate:.0f}x as many notebooks per second as nbgrader "
              f"(--jobs {args.jobs}, {os.cpu_count()} cores; end to end, start-up included)")
        print(f"check: {full} of {args.students} hwgen grades are full marks "
              f"(expected {sum(1 for i in range(args.students) if KINDS[i % len(KINDS)] in ('correct', 'rounded'))})")

        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            summary = grade_class(folder, GradeOptions(jobs=args.jobs, regrade=True, progress=False))
            profile.disable()
            print(f"\nprofile of the grader's own process (in-process run: {summary.line()}):")
            pstats.Stats(profile).sort_stats("tottime").print_stats(15)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
