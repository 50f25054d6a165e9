"""`hwgen grade`: each student's notebook run in the sandbox, checked in this process, recorded at once.

Students come from manifest.json (a roster student without a notebook gets `missing` items and 0
points, and appears in the gradebook and exports) plus any extra folder in the submissions folder
(an `unknown` student: recorded with a flag, never graded, left out of exports). A student whose
notebook file and manifest entries are unchanged since the last run is skipped, so re-running is
cheap and a killed run resumes where it stopped; `regrade` grades everyone again.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .. import __version__
from ..errors import InputFileError
from .checks import grade_problem
from .gradebook import GRADEBOOK, Gradebook, Submission
from .manifest import ClassManifest, load_manifest
from .result import Item
from .sandbox import Limits, Run, Sandbox
from .submission import Notebook, Unreadable, file_sha256, locate, read_notebook

MAX_CELL_FLAGS = 3


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


def _check(manifest: ClassManifest, pending: _Pending, run: Run) -> tuple[Submission, list[Item], dict]:
    """Grade one run in this (trusted) process: the checks on the plain values, flags, score."""
    sub, notebook = pending.sub, pending.notebook
    record = manifest.students[sub.student]["problems"]
    items: list[Item] = []
    answers: dict[tuple[str, str], Any] = {}
    for spec in manifest.problems:
        variables = {q: spec.variable(q) for q in spec.asked}
        values = {q: run.values[v] for q, v in variables.items() if v in run.values}
        errors = {q: run.reasons[v] for q, v in variables.items() if v in run.reasons}
        answers.update({(spec.key, q): v for q, v in values.items()})
        for item in grade_problem(spec, record[spec.key], values, errors, manifest.grading):
            if item.status == "missing":
                item = _explain_missing(item, variables[item.quantity], notebook, run)
            items.append(item)
    failed = sorted(run.cell_errors)
    cell_flags = [f"{notebook.label(i)}: {run.cell_errors[i]}" for i in failed[:MAX_CELL_FLAGS]]
    if len(failed) > MAX_CELL_FLAGS:
        cell_flags.append(f"{len(failed) - MAX_CELL_FLAGS} more code cells raised errors")
    sub.flags = list(sub.flags) + run.notes + cell_flags
    sub.attempts, sub.run_seconds, sub.cpu_seconds = run.attempts, round(run.wall, 4), round(run.cpu, 4)
    return sub, items, answers


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
    sandbox: Sandbox | None = None
    with Gradebook(Path(folder) / GRADEBOOK) as book, \
            tqdm(total=len(students), desc="grading", unit="nb", disable=not options.progress,
                 file=sys.stderr, dynamic_ncols=True) as bar:

        def done(what: str, sub: Submission | None = None, items: list[Item] = (), answers: dict | None = None) -> None:
            if sub is not None:
                sub.score = round(sum(i.points for i in items), 6)
                sub.isolation = sandbox.level if sandbox and what == "graded" else None
                book.record(sub, items, answers or {})
            summary.counts[what] += 1
            bar.set_postfix_str(", ".join(f"{k} {v}" for k, v in summary.counts.items() if v), refresh=False)
            bar.update()

        pool: ThreadPoolExecutor | None = None
        running: dict[Future, _Pending] = {}
        try:
            for sid in students:
                prepared = _prepare(manifest, submissions, sid, book, options.regrade)
                if prepared is None:
                    done("unchanged")
                elif isinstance(prepared, tuple):
                    done(prepared[0].status, *prepared)
                else:
                    if sandbox is None:
                        sandbox = Sandbox(options.jobs, options.limits, [Path(folder), submissions], options.isolation)
                        pool = ThreadPoolExecutor(sandbox.jobs)
                        _announce(sandbox, bar)
                    running[pool.submit(sandbox.run, prepared.notebook.cells, manifest.variables())] = prepared
                    while len(running) >= 2 * sandbox.jobs:
                        _collect(running, manifest, done, FIRST_COMPLETED)
            while running:
                _collect(running, manifest, done, FIRST_COMPLETED)
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
            if sandbox is not None:
                sandbox.close()
    summary.isolation = sandbox.level if sandbox else ""
    summary.seconds = time.monotonic() - start
    return summary


def _collect(running: dict[Future, _Pending], manifest: ClassManifest, done: Any, how: str) -> None:
    """Record the runs that have finished."""
    finished, _ = wait(list(running), return_when=how)
    for future in finished:
        pending = running.pop(future)
        done("graded", *_check(manifest, pending, future.result()))


def _announce(sandbox: Sandbox, bar: tqdm) -> None:
    """Say which isolation is in use, loudly if it is not bubblewrap."""
    bar.write(f"hwgen grade: {sandbox.describe()}", file=sys.stderr)
    if sandbox.level != "bwrap":
        bar.write("hwgen grade: WARNING: bubblewrap isolation is not available ("
                  + "; ".join(sandbox.fallbacks) + "); student code runs with weaker isolation", file=sys.stderr)
