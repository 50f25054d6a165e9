"""Benchmark: per-student PDFs of a class, compiled hwgen's way (many students per pdflatex run, split with
qpdf) against one pdflatex run per file, measured in the same run on the same .tex files.

    python bench/pdf.py                      # 200 students x (xor_net, regression_3hidden, bce_net), 2 jobs
    python bench/pdf.py --students 50 --jobs 1 --single 10

Both ways use --jobs workers. Each student has two PDFs (worksheet and key); rates count PDFs. Besides
wall time it reports the CPU time of pdflatex and qpdf (the child processes), which does not depend on what
else the machine is doing, and the rate that CPU time allows on --jobs idle cores.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from hwgen import pdf
from hwgen.assignment import Student, load_assignment
from hwgen.generate import generate
from hwgen.outdir import Output

FOLDERS = ("worksheets", "keys")


def child_cpu() -> float:
    """CPU seconds used so far by finished child processes (pdflatex, qpdf)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_at_a_time(tex_files: list[Path], build: Path, jobs: int) -> float:
    """Seconds to compile each file in its own pdflatex run, `jobs` at a time."""
    def run(tex: Path) -> None:
        work = build / f"{tex.parent.name}-{tex.stem}"
        work.mkdir(parents=True)
        shutil.copy(tex, work / "doc.tex")
        subprocess.run([*pdf.PDFLATEX, "doc.tex"], cwd=work, stdout=subprocess.DEVNULL, check=True)
    start = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(run, tex_files))
    return time.perf_counter() - start


def main() -> int:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--single", type=int, default=20, help="students compiled one file at a time (default 20)")
    parser.add_argument("--problems", default="xor_net,regression_3hidden,bce_net")
    args = parser.parse_args()
    if pdf.missing_tools():
        print(pdf.install_hint(pdf.missing_tools()), file=sys.stderr)
        return 1
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="hwgen-bench-pdf-") as tmp:
        root = Path(tmp)
        problems = "".join(f"  - template: {name}\n    points: 10\n" for name in args.problems.split(","))
        head = "title: Benchmark\ncourse: Bench 101\ndue: 2026-12-01\nseed: 7\nproblems:\n"
        (root / "hw.yaml").write_text(head + problems, encoding="utf-8")
        assignment = load_assignment(root / "hw.yaml")
        students = [Student(f"s{i:05d}", f"Student {i}") for i in range(args.students)]
        out = root / "out"
        summary = generate(assignment, students, out, jobs=args.jobs, progress=False, writers=("worksheet", "key"))
        ids = [s.id for s in students]
        output = Output(out)
        start, cpu = time.perf_counter(), child_cpu()
        result = pdf.compile_class(out, ids, output, folders=FOLDERS, jobs=args.jobs, progress=False)
        batched, batched_cpu = time.perf_counter() - start, child_cpu() - cpu
        output.close()
        sample = [out / folder / f"{sid}.tex" for sid in ids[:args.single] for folder in FOLDERS]
        cpu = child_cpu()
        single = one_at_a_time(sample, root / "single", args.jobs)
        single_cpu = child_cpu() - cpu
        pages = sum(int(subprocess.run(["qpdf", "--show-npages", str(out / f"{f}.pdf")], capture_output=True,
                                       text=True, check=True).stdout) for f in FOLDERS)
    n_pdfs = len(ids) * len(FOLDERS)
    rate_batched, rate_single = n_pdfs / batched, len(sample) / single
    print(f"hwgen bench/pdf.py: {args.students} students x {len(assignment.problems)} problems "
          f"({args.problems}), {n_pdfs} PDFs ({pages} pages), --jobs {args.jobs}, {os.cpu_count()} CPUs")
    print(f"  generate (.tex + manifest, no notebooks): {summary.seconds:.2f} s")
    idle_batched, idle_single = args.jobs * n_pdfs / batched_cpu, args.jobs * len(sample) / single_cpu
    print(f"  load average before: {load:.2f} (a shared machine: wall times depend on other work, CPU times do not)")
    print(f"  {'method':<44} {'PDFs':>5} {'wall s':>7} {'PDFs/s':>7} {'CPU s':>7} {'CPU ms/PDF':>10} "
          f"{'PDFs/s on ' + str(args.jobs) + ' idle cores':>22}")
    for label, count, wall, cpu_s, idle in (
            ("hwgen: many students per run, split (qpdf)", n_pdfs, batched, batched_cpu, idle_batched),
            ("one pdflatex run per file", len(sample), single, single_cpu, idle_single)):
        print(f"  {label:<44} {count:>5} {wall:>7.2f} {count / wall:>7.1f} {cpu_s:>7.2f} {1000 * cpu_s / count:>10.1f} "
              f"{idle:>22.1f}")
    print(f"  hwgen: {result.runs} pdflatex runs, bundles included. Speed-up: {rate_batched / rate_single:.1f}x wall, "
          f"{idle_batched / idle_single:.1f}x CPU; the whole class one file at a time would take "
          f"{n_pdfs / rate_single:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
