"""`hwgen grade`, `hwgen export` and `hwgen feedback`: submitted notebooks -> gradebook -> CSV and pages."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import HwgenError, InputFileError
from ..exam import typed
from ..grade.batch import GradeOptions, grade_class
from ..grade.export import FORMATS, MISSING, csv_text, table_text
from ..grade.feedback import FEEDBACK, write_pages
from ..grade.gradebook import GRADEBOOK, Gradebook
from ..grade.insight import items_text
from ..grade.isolation import LEVELS
from ..grade.manifest import ClassManifest, find_id, load_manifest
from ..grade.sandbox import Limits, default_jobs
from ..numfmt import counted
from ..outdir import add_to_record, writing_into
from . import bounded

MAX_JOBS = 256  # processes, each with its own sandbox worker
MAX_SECONDS = 86_400.0  # one run of one notebook
MAX_MEMORY_MB = 2**20  # 1 TiB


def register(sub: argparse._SubParsersAction) -> None:
    """Add `grade`, `export` and `feedback`."""
    p = sub.add_parser("grade", help="grade submitted notebooks into DIR/gradebook.db",
                       description="Run every submitted notebook in a sandbox, check its answers against "
                                   "DIR/manifest.json and record the results in DIR/gradebook.db. Students "
                                   "whose notebook and variant are unchanged since the last run are skipped.")
    p.add_argument("dir", metavar="DIR", type=Path, help="the class folder written by `hwgen generate`")
    p.add_argument("--submissions", metavar="PATH", type=Path,
                   help="the submissions folder, <student id>/<assignment>/<assignment>.ipynb (default DIR/submitted)")
    p.add_argument("--jobs", metavar="N", type=bounded(int, 0, MAX_JOBS, "4"), default=0,
                   help=f"processes running and checking notebooks at once, each with its own sandbox worker "
                        f"(default: the number of cores, {default_jobs()})")
    p.add_argument("--student", metavar="ID", help="grade only this student")
    p.add_argument("--regrade", action="store_true", help="grade again even if nothing changed")
    p.add_argument("--json", metavar="OUT.json", type=Path,
                   help="also write every graded student's score, items and flags as JSON")
    p.add_argument("--timeout", metavar="SECONDS", type=bounded(float, 0, MAX_SECONDS, "10"), default=Limits.wall,
                   help=f"wall time (and CPU time) one run of a notebook may take (default {Limits.wall:g})")
    p.add_argument("--memory", metavar="MB", type=bounded(int, 1, MAX_MEMORY_MB, "1024"), default=Limits.memory_mb,
                   help=f"memory a notebook may allocate (default {Limits.memory_mb})")
    p.add_argument("--isolation", choices=("auto", *LEVELS), default="auto",
                   help="how student code is isolated (default auto: bwrap if it works, else unshare, else none)")
    p.add_argument("--executor", metavar="WHERE", default="local",
                   help="where notebooks are run and checked: `local` (default: --jobs processes on this machine) or "
                        "dask://HOST:PORT, a Dask scheduler whose workers have the same hwgen and bubblewrap installed "
                        "(pip install 'hwgen[dask]'); the gradebook is still written here")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--answers", metavar="SHEET.csv", type=Path,
                   help="grade the paper answers typed into this sheet (from `hwgen answers DIR --csv SHEET.csv`) "
                        "instead of notebooks, with the same checks, into the same gradebook")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("export", help="write the gradebook as a CSV file for Canvas or Moodle",
                       description="One row per roster student: identity columns, the points of every problem, "
                                   "the total and hwgen's notes (flags), in the import format of Canvas (default: "
                                   "with a Points Possible row) or Moodle (the maximum in each header).")
    p.add_argument("dir", metavar="DIR", type=Path, help="the class folder")
    p.add_argument("--csv", metavar="FILE.csv", type=Path, help="where to write (default DIR/grades.csv)")
    p.add_argument("--format", choices=sorted(FORMATS), default="canvas", help="the LMS to import into (default canvas)")
    p.add_argument("--missing", choices=MISSING, default=MISSING[0],
                   help=f"what a student who handed in nothing gets: 0 points (default, {MISSING[0]}) or empty cells "
                        "(blank: the LMS keeps the grade unset)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("feedback", help="write one HTML feedback page per graded student",
                       description="For every graded roster student, DIR/feedback/<id>.html: every answer with "
                                   "its points and a message; the expected values only if the assignment's "
                                   "grading options say show_expected: true.")
    p.add_argument("dir", metavar="DIR", type=Path, help="the class folder")
    p.add_argument("--out", metavar="FOLDER", type=Path, help="where to write the pages (default DIR/feedback)")
    p.add_argument("--student", metavar="ID", help="only this student")
    p.set_defaults(func=cmd_feedback)


def cmd_grade(args: argparse.Namespace) -> int:
    """Grade, print a summary line, optionally write the JSON report."""
    if args.json and (args.json.is_dir() or not args.json.parent.is_dir()):
        raise HwgenError(f"--json {args.json} is a folder, or its folder does not exist\n  fix: give the name of a "
                         "file to write in an existing folder, e.g. grades.json")
    manifest = None
    if args.answers:
        students = recorded = grade_typed(args)
    else:
        limits = Limits(wall=args.timeout, cpu=args.timeout, memory_mb=args.memory)
        options = GradeOptions(args.submissions, args.jobs, args.student, args.regrade, limits, args.isolation,
                               progress=not args.quiet, executor=args.executor)
        summary = grade_class(args.dir, options)
        for why in summary.skipped:
            print(f"hwgen grade: warning: {why}", file=sys.stderr)
        print(f"hwgen grade: {summary.line()}; gradebook: {args.dir / GRADEBOOK}", file=sys.stderr)
        students, recorded, manifest = summary.students, summary.recorded, summary.manifest
    manifest = manifest or load_manifest(args.dir)  # the run's own: every entry read again, but checked only once
    with Gradebook(args.dir / GRADEBOOK, readonly=True) as book:
        sys.stdout.write(table_text(manifest, book, only=set(students)) + "\n" + items_text(manifest, book))
        report = book.report(students) if args.json else None
    if args.json:
        with writing_into(args.json, "--json"):
            args.json.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    pages = args.dir / FEEDBACK
    if recorded and pages.is_dir():  # pages written before must not show a grade that has changed
        with Gradebook(args.dir / GRADEBOOK) as book, writing_into(pages, "class folder"):
            written = write_pages(manifest, book, pages, recorded)
        add_to_record(args.dir, [f"{FEEDBACK}/{p.name}" for p in written])
        print(f"hwgen grade: wrote {counted(len(written), 'feedback page')} again in {pages}", file=sys.stderr)
    return 0


def grade_typed(args: argparse.Namespace) -> list[str]:
    """--answers: grade the typed sheet's rows, reporting every cell, student and column it could not use."""
    manifest = load_manifest(args.dir)
    sheet = typed.read_answers(args.answers, manifest)
    if args.student is not None:
        sheet.rows = [row for row in sheet.rows if row.student == find_id(args.student, manifest.students)]
    for line in sheet.problems:
        print(f"hwgen grade: {line}", file=sys.stderr)
    with writing_into(args.dir):
        summary = typed.grade_answers(args.dir, args.answers, manifest, sheet, args.regrade)
    replaced = f" ({summary.replaced_notebooks} replacing a notebook grade)" if summary.replaced_notebooks else ""
    print(f"hwgen grade: {counted(len(sheet.rows), 'typed row')}: {summary.graded} graded{replaced}, "
          f"{summary.unchanged} unchanged, {counted(len(sheet.problems), 'problem')} reported; gradebook: "
          f"{args.dir / GRADEBOOK}", file=sys.stderr)
    return summary.students


def open_class(folder: Path, readonly: bool = True) -> tuple[ClassManifest, Gradebook]:
    """The class's manifest and its existing gradebook (read-only unless `readonly` is False)."""
    manifest = load_manifest(folder)
    if not (folder / GRADEBOOK).exists():
        raise InputFileError(folder / GRADEBOOK, None, "no gradebook yet", f"run `hwgen grade {folder}` first")
    return manifest, Gradebook(folder / GRADEBOOK, readonly=readonly)


def cmd_export(args: argparse.Namespace) -> int:
    """Write the CSV."""
    manifest, book = open_class(args.dir)
    out = args.csv or args.dir / "grades.csv"
    with book, writing_into(out, "--csv"):
        out.write_text(csv_text(manifest, book, args.format, args.missing), encoding="utf-8", newline="")
    print(f"hwgen export: {counted(len(manifest.students), 'student')} -> {out} ({args.format} format)", file=sys.stderr)
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    """Write the HTML pages."""
    manifest, book = open_class(args.dir)
    student = find_id(args.student, manifest.students) or args.student if args.student else None
    with book, writing_into(args.out or args.dir / FEEDBACK, "--out"):
        pages = write_pages(manifest, book, args.out or args.dir / FEEDBACK, [student] if student else None)
    if args.out is None:  # in the class folder: the next `generate --force` deletes them with the run they grade
        add_to_record(args.dir, [f"{FEEDBACK}/{p.name}" for p in pages])
    if args.student and not pages:
        raise InputFileError(args.dir / GRADEBOOK, None, f"student {args.student!r} has not been graded",
                             f"check the id, or run `hwgen grade {args.dir} --student {args.student}`")
    print(f"hwgen feedback: {counted(len(pages), 'page')} -> {args.out or args.dir / FEEDBACK}", file=sys.stderr)
    return 0
