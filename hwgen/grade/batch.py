"""`hwgen grade`: each student's notebook run in the sandbox, checked, recorded at once.

The pipeline: this process finds and reads each notebook; threads hand it to the sandbox workers
(sandbox.py); the plain values that come back are checked (checks.py) and matched against classmates'
variants (copies.py) in checker processes forked from this one, which see nothing but those values;
each student's results are then written here in one gradebook transaction.

Students come from manifest.json (a roster student without a notebook gets `missing` items and 0
points, and appears in the gradebook and exports) plus any extra folder in the submissions folder
(an `unknown` student: recorded with a flag, never graded, left out of exports). A student whose
notebook file and manifest entries are unchanged since the last run is skipped, so re-running is
cheap and a killed run resumes where it stopped; `regrade` grades everyone again.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from tqdm import tqdm

from .. import __version__
from ..errors import InputFileError
from .checks import grade_problem
from .copies import CopyIndex
from .gradebook import GRADEBOOK, Gradebook, Submission
from .manifest import ClassManifest, load_manifest
from .result import Item
from .sandbox import Limits, Run, Sandbox, default_jobs
from .submission import Notebook, Unreadable, file_sha256, locate, read_notebook
from .worker import prctl

MAX_CELL_FLAGS = 3
PR_SET_PDEATHSIG = 1  # prctl(2): the checker processes die with the grader, even after kill -9


@dataclass
class GradeOptions:
    """How `hwgen grade` runs."""

    submissions: Path | None = None  # default DIR/submitted
    jobs: int = 0  # default: one worker per core
    student: str | None = None
    regrade: bool = False
    limits: Limits = field(default_factory=Limits)
    isolation: str = "auto"
    progress: bool = True


@dataclass
class Summary:
    """What one `hwgen grade` run did."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("graded", "unchanged", "missing", "invalid", "unknown"), 0))
    students: list[str] = field(default_factory=list)
    isolation: str = ""
    seconds: float = 0.0

    def line(self) -> str:
        """One line for the end of the run."""
        parts = [f"{n} {what}" for what, n in self.counts.items() if n]
        rate = self.counts["graded"] / self.seconds if self.seconds else 0.0
        return f"{len(self.students)} students: " + ", ".join(parts or ["nothing to do"]) + \
            f" in {self.seconds:.1f} s ({rate:.0f} notebooks/s)"


@dataclass
class _Pending:
    """A notebook to run, with what the grader already knows about its student."""

    sub: Submission
    notebook: Notebook


def roster_and_folders(manifest: ClassManifest, submissions: Path) -> list[str]:
    """Roster students in manifest order, then folders in the submissions folder that match none of them."""
    roster = list(manifest.students)
    known = set(roster)
    extra = sorted(p.name for p in submissions.iterdir() if p.is_dir() and p.name not in known
                   and not p.name.startswith((".", "__"))) if submissions.is_dir() else []
    return roster + extra


def _empty_items(manifest: ClassManifest, status: str, message: str) -> list[Item]:
    """Every asked quantity with 0 points and the same status and message."""
    return [Item(spec.key, q, 0.0, float(p), status, message) for spec in manifest.problems for q, p in spec.asked.items()]


def _prepare(manifest: ClassManifest, submissions: Path, sid: str, book: Gradebook, regrade: bool,
             ) -> tuple[Submission, list[Item]] | _Pending | None:
    """A student's outcome if it needs no sandbox (missing, unreadable, unknown), a notebook to run, or
    None if neither the notebook nor the student's manifest entries changed since the last run."""
    known = sid in manifest.students
    variant = manifest.variant_hash(sid) if known else None
    path, notes = locate(submissions / sid, manifest.name)
    sha = file_sha256(path) if path else None
    if not regrade and book.fingerprint(sid) == (sha, variant):
        return None
    sub = Submission(sid, "graded", str(path.relative_to(submissions)) if path else None, sha, variant,
                     max_score=manifest.max_points if known else 0.0, hwgen_version=__version__)
    if not known:
        sub.status = "unknown"
        sub.flags = [f"the folder {submissions.name}/{sid} matches no student id in manifest.json, so it was not "
                     "graded (a typo in the folder name, or a student added after `hwgen generate`?)"] + notes
        return sub, []
    if path is None:
        expected = f"{submissions.name}/{sid}/{manifest.name}/{manifest.name}.ipynb"
        sub.status, sub.flags = "missing", [f"no submission: expected {expected}"]
        return sub, _empty_items(manifest, "missing", f"No submission was found (expected {expected}).")
    try:
        notebook = read_notebook(path)
    except (Unreadable, OSError) as exc:
        reason = str(exc) if isinstance(exc, Unreadable) else f"the file cannot be read ({exc.strerror})"
        sub.status, sub.flags = "invalid", notes + [reason]
        return sub, _empty_items(manifest, "invalid", f"Your notebook could not be graded: {reason}")
    sub.flags = notes + notebook.notes
    return _Pending(sub, notebook)


def _explain_missing(item: Item, variable: str, notebook: Notebook, run: Run) -> Item:
    """A `missing` item's message, extended with what happened to the cells that should have set it."""
    cells = notebook.mentioning(variable)
    if not cells:
        extra = f"No code cell mentions {variable}: was its answer cell deleted or renamed?"
    else:
        failed = [i for i in cells if i in run.cell_errors]
        if not failed:
            return item
        i = failed[-1]
        extra = f"{notebook.label(i)[0].upper()}{notebook.label(i)[1:]}, which mentions it: {run.cell_errors[i]}."
    return Item(item.problem, item.quantity, item.points, item.max_points, item.status,
                f"{item.message} {extra}", item.misconception)


_CLASS: ClassManifest | None = None  # the class being graded; set before the checker processes are forked
_COPIES: CopyIndex | None = None  # its copied-work index, likewise


def _checked(student: str, values: dict[str, Any], reasons: dict[str, str]) -> tuple[list[Item], dict, list[dict]]:
    """In a checker process: the trusted checks of one student's plain values (by variable) -> items, the
    student's values by (problem, quantity), copied-work flags (a flagged problem carries no error forward)."""
    manifest = _CLASS
    record = manifest.students[student]["problems"]
    by_problem = {spec.key: {q: values[spec.variable(q)] for q in spec.asked if spec.variable(q) in values}
                  for spec in manifest.problems}
    copies = _COPIES.flags(student, by_problem)
    copied = {c["problem"] for c in copies}
    items: list[Item] = []
    for spec in manifest.problems:
        errors = {q: reasons[spec.variable(q)] for q in spec.asked if spec.variable(q) in reasons}
        items += grade_problem(spec, record[spec.key], by_problem[spec.key], errors, manifest.grading,
                               copied=spec.key in copied)
    answers = {(key, q): v for key, mine in by_problem.items() for q, v in mine.items()}
    return items, answers, copies


def _finish(manifest: ClassManifest, pending: _Pending, run: Run, items: list[Item]) -> list[Item]:
    """Complete a graded submission here: messages of missing items, flags, timings."""
    sub, notebook = pending.sub, pending.notebook
    specs = {spec.key: spec for spec in manifest.problems}
    items = [_explain_missing(i, specs[i.problem].variable(i.quantity), notebook, run) if i.status == "missing" else i
             for i in items]
    failed = sorted(run.cell_errors)
    cell_flags = [f"{notebook.label(i)}: {run.cell_errors[i]}" for i in failed[:MAX_CELL_FLAGS]]
    if len(failed) > MAX_CELL_FLAGS:
        cell_flags.append(f"{len(failed) - MAX_CELL_FLAGS} more code cells raised errors")
    sub.flags = list(sub.flags) + run.notes + cell_flags
    sub.attempts, sub.run_seconds, sub.cpu_seconds = run.attempts, round(run.wall, 4), round(run.cpu, 4)
    return items


class _Pipeline:
    """Notebooks flow from the sandbox (threads driving the sandboxed workers) to the checks (forked,
    trusted processes that see only plain values) to the gradebook (written here, one transaction each)."""

    def __init__(self, folder: Path, submissions: Path, manifest: ClassManifest, options: GradeOptions,
                 record: Callable[[Submission, list[Item], dict, list[dict]], None]) -> None:
        self.folder, self.submissions, self.manifest, self.options, self.record = \
            folder, submissions, manifest, options, record
        self.sandbox: Sandbox | None = None
        self.threads: ThreadPoolExecutor | None = None
        self.checker: ProcessPoolExecutor | None = None
        self.runs: dict[Future, _Pending] = {}
        self.checks: dict[Future, tuple[_Pending, Run]] = {}

    def _start(self, bar: tqdm) -> None:
        """Fork the checkers (before any thread exists), then start the sandbox."""
        global _CLASS, _COPIES
        _CLASS, _COPIES = self.manifest, CopyIndex(self.manifest.data)
        jobs = self.options.jobs or default_jobs()
        self.checker = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"),
                                           initializer=prctl, initargs=(PR_SET_PDEATHSIG, signal.SIGKILL))
        self.checker.submit(int).result()  # with fork, every checker process starts at the first task
        self.sandbox = Sandbox(jobs, self.options.limits, [self.folder, self.submissions], self.options.isolation)
        self.threads = ThreadPoolExecutor(jobs)
        _announce(self.sandbox, bar)

    def add(self, pending: _Pending, bar: tqdm) -> None:
        """Send one notebook into the sandbox; record what has finished meanwhile."""
        if self.sandbox is None:
            self._start(bar)
        self.runs[self.threads.submit(self.sandbox.run, pending.notebook.cells, self.manifest.variables())] = pending
        self.drain(4 * self.sandbox.jobs)

    def drain(self, limit: int = 0) -> None:
        """Move finished runs on to the checks and record finished checks, until at most `limit` are in flight."""
        while len(self.runs) + len(self.checks) > limit:
            finished, _ = wait([*self.runs, *self.checks], return_when=FIRST_COMPLETED)
            for future in finished:
                if future in self.runs:
                    pending, run = self.runs.pop(future), future.result()
                    task = self.checker.submit(_checked, pending.sub.student, run.values, run.reasons)
                    self.checks[task] = (pending, run)
                else:
                    (pending, run), (items, answers, copies) = self.checks.pop(future), future.result()
                    pending.sub.flags = list(pending.sub.flags) + [c["message"] for c in copies]
                    self.record(pending.sub, _finish(self.manifest, pending, run, items), answers, copies)

    def close(self) -> None:
        """Stop the threads, the checkers and the sandbox."""
        for pool in (self.threads, self.checker):
            if pool is not None:
                pool.shutdown(cancel_futures=True)
        if self.sandbox is not None:
            self.sandbox.close()


def grade_class(folder: Path, options: GradeOptions) -> Summary:
    """Grade every student of the class in `folder` (or only `options.student`) into DIR/gradebook.db."""
    start = time.monotonic()
    manifest = load_manifest(folder)
    submissions = Path(options.submissions or Path(folder) / "submitted")
    if not submissions.is_dir():
        raise InputFileError(submissions, None, "no submissions folder here",
                             "collect the notebooks as <student id>/<assignment>/<assignment>.ipynb (nbgrader's "
                             "layout) in DIR/submitted, or give --submissions PATH")
    students = roster_and_folders(manifest, submissions)
    if options.student is not None:
        if options.student not in students:
            raise InputFileError(manifest.path, None, f"no student {options.student!r} in the manifest or in "
                                 f"{submissions}", "check the student id (as in the roster)")
        students = [options.student]
    summary = Summary(students=students)
    tqdm.monitor_interval = 0  # no monitor thread: the checker processes are forked from this process
    with Gradebook(Path(folder) / GRADEBOOK) as book, \
            tqdm(total=len(students), desc="grading", unit="nb", disable=not options.progress,
                 file=sys.stderr, dynamic_ncols=True) as bar:

        def done(sub: Submission | None, items: list[Item] = (), answers: dict | None = None,
                 copies: list[dict] = ()) -> None:
            what = sub.status if sub is not None else "unchanged"
            if sub is not None:
                sub.score = round(sum(i.points for i in items), 6)
                sub.isolation = pipeline.sandbox.level if what == "graded" else None
                book.record(sub, items, answers or {}, copies)
            summary.counts[what] += 1
            bar.set_postfix_str(", ".join(f"{k} {v}" for k, v in summary.counts.items() if v), refresh=False)
            bar.update()

        pipeline = _Pipeline(Path(folder), submissions, manifest, options, done)
        try:
            for sid in students:
                prepared = _prepare(manifest, submissions, sid, book, options.regrade)
                if isinstance(prepared, _Pending):
                    pipeline.add(prepared, bar)
                else:
                    done(*(prepared or (None,)))
            pipeline.drain()
        finally:
            pipeline.close()
    summary.isolation = pipeline.sandbox.level if pipeline.sandbox else ""
    summary.seconds = time.monotonic() - start
    return summary


def _announce(sandbox: Sandbox, bar: tqdm) -> None:
    """Say which isolation is in use, loudly if it is not bubblewrap."""
    bar.write(f"hwgen grade: {sandbox.describe()}", file=sys.stderr)
    if sandbox.level != "bwrap":
        bar.write("hwgen grade: WARNING: bubblewrap isolation is not available ("
                  + "; ".join(sandbox.fallbacks) + "); student code runs with weaker isolation", file=sys.stderr)
