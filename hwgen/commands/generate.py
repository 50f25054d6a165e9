"""`hwgen generate`: worksheets, answer keys and manifest.json for a class (and PDFs with --pdf)."""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
import time
from pathlib import Path
from typing import Sequence

from .. import pdf
from ..assignment import DELIMITERS, SCHEMA, Assignment, Student, load_assignment, load_roster
from ..errors import HwgenError
from ..exam import keys
from ..generate import MODES, WRITERS, class_executor, generate
from ..grade.gradebook import GRADEBOOK
from ..grade.manifest import load_manifest
from ..numfmt import counted
from ..outdir import Output, recorded, writing_into
from ..reroll import reroll
from . import bounded
from .grade import MAX_JOBS

PDF_WRITERS = ("worksheet", "exam", "key")  # the writers whose .tex files --pdf compiles, in this order


def register(sub: argparse._SubParsersAction) -> None:
    """Add `generate`."""
    p = sub.add_parser(
        "generate", help="write every student's worksheet, answer key and the class manifest",
        description="For every student of the roster and every problem of the assignment, draw the student's own "
                    "variant and write DIR/worksheets/<id>.tex, DIR/keys/<id>.tex, the nbgrader-format notebooks "
                    "DIR/release/<id>/<name>/<name>.ipynb (student) and DIR/source/<id>/<name>/<name>.ipynb "
                    "(instructor), and DIR/manifest.json (the grader's source of truth). "
                    "The same inputs give byte-identical files.")
    p.add_argument("assignment", metavar="ASSIGNMENT.yaml", help="the assignment file (title, course, due, seed, problems)")
    p.add_argument("--roster", required=True, metavar="ROSTER.csv",
                   help="CSV with a student_id column (name, email optional)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created; an earlier run there needs --force)")
    p.add_argument("--pdf", action="store_true", help="also compile every .tex to PDF and write the class bundles "
                                                     "DIR/worksheets.pdf and DIR/keys.pdf (needs pdflatex and qpdf)")
    p.add_argument("--exam", action="store_true",
                   help="paper exams (as `mode: exam` in the assignment): DIR/exams/<id>.tex with answer boxes and a QR "
                        "code on every page instead of worksheets, plus DIR/keys/answers.csv and DIR/keys/compact.tex "
                        "for the graders")
    p.add_argument("--jobs", type=bounded(int, 0, MAX_JOBS, "4"), default=os.cpu_count() or 1, metavar="N",
                   help="processes to use (default: the number of CPUs)")
    p.add_argument("--executor", metavar="WHERE", default="local",
                   help="where students are built: `local` (default: --jobs processes on this machine) or "
                        "dask://HOST:PORT, a Dask scheduler whose workers have the same hwgen installed "
                        "(pip install 'hwgen[dask]'); files and manifest are still written here")
    p.add_argument("--name", metavar="NAME",
                   help="the assignment's name: the notebooks' folder and file name, and nbgrader's assignment id "
                        "(default: `name:` in the assignment file, else its file name made safe: hw 3.yaml -> hw_3)")
    p.add_argument("--force", action="store_true",
                   help="replace an earlier hwgen run in DIR (only the files hwgen wrote there are deleted)")
    p.add_argument("--reroll", metavar="ID",
                   help="give only this student new numbers in DIR, generated before from the same assignment: their "
                        "worksheet, key and notebooks are written again and their manifest entry replaced; every other "
                        "file stays byte-identical (e.g. after a suspected leak)")
    p.add_argument("--problem", metavar="P", help="with --reroll: only this problem (p1, p2, ...)")
    p.set_defaults(func=cmd_generate)


def cmd_generate(args: argparse.Namespace) -> int:
    """Generate the class set; compile it with --pdf."""
    assignment = load_assignment(args.assignment)
    if args.name is not None:
        assignment = renamed(assignment, args.name)
    if args.exam:
        assignment = dataclasses.replace(assignment, mode="exam")
    students = load_roster(args.roster)
    print(f"roster: {counted(len(students), 'student')}, ids from the column {students.id_column!r} "
          f"({DELIMITERS[students.delimiter]}-separated)")
    exam = assignment.mode == "exam"
    if exam:
        keys.check_ids(students, Path(args.roster))
    out = Path(args.out)
    if args.reroll is not None or args.problem is not None:
        return cmd_reroll(args, assignment, students, out)
    jobs = max(1, args.jobs)
    with writing_into(out), class_executor(args.executor, jobs, len(students)) as executor:
        summary = generate(assignment, students, out, force=args.force, progress=sys.stderr.isatty(), executor=executor)
    print(f"wrote {counted(summary.files, 'file')} for {counted(summary.students, 'student')} x "
          f"{counted(summary.problems, 'problem')} and "
          f"{out / 'manifest.json'} in {summary.seconds:.1f} s")
    if summary.rederived:
        print(f"re-derived {len(summary.rederived)} problem(s) whose numbers repeated an earlier student's: "
              + ", ".join(summary.rederived[:5]) + (" ..." if len(summary.rederived) > 5 else ""))
    with writing_into(out):
        extra = write_exam_keys(out, assignment.paper) if exam else []
        status = 0
        if args.pdf:
            folders = tuple(WRITERS[w].folder for w in MODES[assignment.mode] if w in PDF_WRITERS)
            status = compile_pdfs(out, [s.id for s in students], jobs, folders, extra)
    if summary.removed:
        print(replaced_text(out, summary.removed))
    return status


def replaced_text(out: Path, removed: list[str]) -> str:
    """What --force did to the earlier run: the files it deleted that this run did not write again (PDFs without
    --pdf, feedback pages, students no longer on the roster), and what grading keeps."""
    again = set(recorded(out))
    gone = [rel for rel in removed if rel not in again]
    text = (f"deleted the earlier run's {counted(len(removed), 'file')}; {len(gone)} of them this run does not write "
            "again" + (": " + ", ".join(gone[:5]) + (" ..." if len(gone) > 5 else "") if gone else ""))
    kept = [name for name in (GRADEBOOK, "submitted") if (out / name).exists()]
    if kept:
        text += (f"\nkept {' and '.join(kept)}: `hwgen grade {out}` grades every student again against the new "
                 "numbers and flags notebooks that hold the old ones (numbers_changed)")
    return text


def cmd_reroll(args: argparse.Namespace, assignment: Assignment, students: list[Student], out: Path) -> int:
    """--reroll ID [--problem P]: one student's new numbers."""
    if args.reroll is None or args.force or args.pdf:
        raise HwgenError("--problem goes with --reroll ID, and --reroll with neither --force nor --pdf (a reroll "
                         "rewrites the student's .tex files and notebooks only)\n  fix: reroll without them; compile "
                         "the student's worksheets/ID.tex and keys/ID.tex with pdflatex if you hand out PDFs")
    with writing_into(out):
        done = reroll(assignment, students, out, args.reroll, args.problem)
    print(f"rerolled {done.student}: new numbers for {', '.join(done.problems)}; rewrote {', '.join(done.files)} "
          f"and their entry in {out / 'manifest.json'}")
    return 0


def write_exam_keys(out: Path, paper: str) -> list[Path]:
    """An exam's keys/answers.csv and keys/compact.tex; the .tex files among them (for --pdf)."""
    output = Output(out)
    try:
        written = keys.write(load_manifest(out), output, paper)
    finally:
        output.close()
    print(f"wrote {' and '.join(map(str, written))}")
    return [path for path in written if path.suffix == ".tex"]


def compile_pdfs(out: Path, student_ids: list[str], jobs: int, folders: tuple[str, ...],
                 extra: Sequence[Path] = ()) -> int:
    """--pdf: every worksheet (or exam) and key as PDF plus the class bundles, and the `extra` class documents;
    without TeX, say what to install."""
    missing = pdf.missing_tools()
    if missing:
        print(f"hwgen: warning: {pdf.install_hint(missing)}", file=sys.stderr)
        return 0
    start = time.perf_counter()
    output = Output(out)
    try:
        summary = pdf.compile_class(out, student_ids, output, folders=folders,
                                    jobs=jobs, progress=sys.stderr.isatty())
        for tex in extra:
            pdf.compile_one(tex, output.reserve(str(tex.with_suffix(".pdf").relative_to(out))))
            summary.bundles.append(tex.with_suffix(".pdf"))
    finally:
        output.close()
    print(f"compiled {summary.pdfs} PDFs in {summary.runs} pdflatex runs and wrote "
          f"{' and '.join(map(str, summary.bundles))} in {time.perf_counter() - start:.1f} s")
    return 0


def renamed(assignment: Assignment, name: str) -> Assignment:
    """The assignment under another name, which must be safe for folder and file names."""
    if not re.fullmatch(SCHEMA["properties"]["name"]["pattern"], name):
        raise HwgenError(f"--name {name!r} cannot name folders and files\n  fix: "
                         + SCHEMA["properties"]["name"]["description"] + ", starting with a letter or digit (e.g. hw3)")
    return dataclasses.replace(assignment, name=name)
