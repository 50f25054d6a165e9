"""`hwgen grade`: each student's notebook run in the sandbox, checked, recorded at once.

This process (the client) finds and reads each notebook and hands chunks of students to grading processes
(hwgen/grade/chunks.py: each runs notebooks in its own sandbox and checks the plain values that come back,
in a trusted process that sees nothing but those values and the class's numbers): `--jobs` local processes
forked from this one, or the workers of a Dask cluster (`--executor dask://HOST:PORT`). Each student's
results are written here, in one gradebook transaction, as soon as they come back (in any order).

Students come from manifest.json (a roster student without a notebook gets `missing` items and 0
points, and appears in the gradebook and exports) plus any extra folder in the submissions folder
(an `unknown` student: recorded with a flag, never graded, left out of exports). A student whose
notebook file and manifest entries are unchanged since the last run is skipped, so re-running is
cheap and a killed run resumes where it stopped; `regrade` grades everyone again.
"""

from __future__ import annotations

import gc
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

from tqdm import tqdm

from .. import __version__
from ..assignment import id_problem
from ..errors import InputFileError
from ..exam.typed import typed_since
from ..executor import Dask, Executor, InProcess, LocalProcesses, executor_for
from ..numfmt import counted
from ..problem import answer_variable
from .chunks import ClassContext, Graded, Task, close_sandboxes, grade_chunk
from .copies import CopyIndex
from .gradebook import GRADEBOOK, Gradebook, Submission
from .late import Policy
from .late import record as record_lateness
from .manifest import ClassManifest, find_id, load_manifest
from .result import Item, Status
from .safetext import clean
from .sandbox import Limits, Run, default_jobs, describe
from .stale import stale_flags
from .submission import Notebook, Unreadable, locate, read_notebook, read_submission
from .trusted import shared_cells

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
    executor: str | None = None  # where chunks of students are graded: local processes (default) or dask://HOST:PORT


@dataclass
class Summary:
    """What one `hwgen grade` run did."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("graded", "unchanged", "missing", "invalid", "unknown"), 0))
    students: list[str] = field(default_factory=list)
    recorded: list[str] = field(default_factory=list)  # students whose results this run wrote (not unchanged)
    isolation: str = ""
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)  # folders of the submissions folder that name no student
    manifest: ClassManifest | None = None  # as read (and each student's entry checked) for this run

    def line(self) -> str:
        """One line for the end of the run."""
        parts = [f"{n} {what}" for what, n in self.counts.items() if n]
        parts += [counted(len(self.skipped), "folder") + " skipped"] if self.skipped else []
        graded = self.counts["graded"]
        rate = f" ({graded / self.seconds:.0f} notebooks/s)" if graded and self.seconds else ""
        return f"{counted(len(self.students), 'student')}: " + ", ".join(parts or ["nothing to do"]) + \
            f" in {self.seconds:.1f} s{rate}"


@dataclass
class _Pending:
    """A notebook to run, with what the grader already knows about its student."""

    sub: Submission
    notebook: Notebook
    record: dict[str, Any]  # the student's manifest entry


def roster_and_folders(manifest: ClassManifest, submissions: Path) -> tuple[list[str], list[str]]:
    """Roster students in manifest order, then folders in the submissions folder that match none of them; and
    why each folder whose name cannot be a student id (not UTF-8, a control character, ...) was skipped."""
    roster = list(manifest.students)
    known = set(roster)
    extra, skipped = [], []
    for name in sorted(p.name for p in submissions.iterdir() if p.is_dir() and p.name not in known
                       and not p.name.startswith((".", "__"))):
        problem = "its name is not valid UTF-8" if _surrogates(name) else id_problem(name)
        if problem:
            skipped.append(f"skipped the folder {clean(name)!r} in {submissions}: {problem}")
        else:
            extra.append(name)
    return roster + extra, skipped


def _surrogates(name: str) -> bool:
    """Whether a file name holds bytes that are not UTF-8 (Python keeps them as lone surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _empty_items(manifest: ClassManifest, status: Status, message: str) -> list[Item]:
    """Every asked quantity with 0 points and the same status and message."""
    return [Item(spec.key, q, 0.0, float(p), status, message) for spec in manifest.problems for q, p in spec.asked.items()]


def _prepare(manifest: ClassManifest, submissions: Path, sid: str, book: Gradebook, regrade: bool,
             ) -> tuple[Submission, list[Item]] | _Pending | None:
    """A student's outcome if it needs no sandbox (missing, unreadable, unknown), a notebook to run, or
    None if neither the notebook nor the student's manifest entries changed since the last run."""
    known = sid in manifest.students
    record = manifest.students[sid] if known else {}
    variant = manifest.variant_hash(sid, record) if known else None
    path, notes = locate(submissions / sid, manifest.name)
    sha, raw, refused = None, b"", None
    if path is not None and known:
        try:
            sha, raw = read_submission(submissions, path)
        except Unreadable as exc:
            sha, refused = exc.fingerprint, exc
        except OSError as exc:
            refused = Unreadable(f"the file cannot be read ({exc.strerror})")
    if not regrade and (book.fingerprint(sid) == (sha, variant) or typed_since(book, sid, path)):
        return None  # unchanged, or graded since from answers typed from paper
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
        if refused is not None:
            raise refused
        notebook = read_notebook(path, raw)
    except Unreadable as exc:
        reason = str(exc)
        sub.status, sub.flags = "invalid", notes + [reason]
        return sub, _empty_items(manifest, "invalid", f"Your notebook could not be graded: {reason}")
    sub.flags = notes + notebook.notes + stale_flags(record, notebook.cells)
    return _Pending(sub, notebook, record)


def _explain_missing(item: Item, variable: str, notebook: Notebook, run: Run) -> Item:
    """A `missing` item's message, extended with what happened to the cells that should have set it."""
    cells = notebook.mentioning(variable)
    if not cells:
        extra = f"No code cell mentions {variable}: was its answer cell deleted or renamed?"
    else:
        failed = [i for i in cells if i in run.cell_errors and not notebook.is_check(i)]
        if not failed:
            return item
        i = failed[-1]
        extra = f"{notebook.label(i)[0].upper()}{notebook.label(i)[1:]}, which mentions it: {run.cell_errors[i]}."
    return Item(item.problem, item.quantity, item.points, item.max_points, item.status,
                f"{item.message} {extra}", item.misconception)


def _finish(manifest: ClassManifest, pending: _Pending, run: Run, items: list[Item]) -> list[Item]:
    """Complete a graded submission here: messages of missing items, flags, timings."""
    sub, notebook = pending.sub, pending.notebook
    items = [_explain_missing(i, answer_variable(i.problem, i.quantity), notebook, run) if i.status == "missing" else i
             for i in items]
    failed = sorted(i for i in run.cell_errors if not notebook.is_check(i))
    cell_flags = [f"{notebook.label(i)}: {run.cell_errors[i]}" for i in failed[:MAX_CELL_FLAGS]]
    if len(failed) > MAX_CELL_FLAGS:
        cell_flags.append(f"{len(failed) - MAX_CELL_FLAGS} more code cells raised errors")
    sub.flags = list(sub.flags) + run.notes + cell_flags
    if run.malformed:  # the run's report was forged or damaged: nothing of it was used
        sub.status = "invalid"
    sub.attempts, sub.run_seconds, sub.cpu_seconds = run.attempts, round(run.wall, 4), round(run.cpu, 4)
    return items


# Students per chunk: in this process (--jobs 1) each is recorded as soon as it is graded; local processes
# take a few at a time (a notebook that hangs holds up only its chunk); a cluster more, as each task costs a
# round trip to the scheduler.
CHUNK: dict[type, int] = {InProcess: 1, LocalProcesses: 8, Dask: 16}


def grade_class(folder: Path, options: GradeOptions) -> Summary:
    """Grade every student of the class in `folder` (or only `options.student`) into DIR/gradebook.db."""
    start = time.monotonic()
    manifest = load_manifest(folder)
    submissions = Path(options.submissions or Path(folder) / "submitted")
    if not submissions.is_dir():
        raise InputFileError(submissions, None, "no submissions folder here",
                             "collect the notebooks as <student id>/<assignment>/<assignment>.ipynb (nbgrader's "
                             "layout) in DIR/submitted, or give --submissions PATH")
    students, skipped = roster_and_folders(manifest, submissions)
    if options.student is not None:
        found = find_id(options.student, students)
        if found is None:
            raise InputFileError(manifest.path, None, f"no student {options.student!r} in the manifest or in "
                                 f"{submissions}", "check the student id (as in the roster)")
        students = [found]
    policy = Policy.of(manifest)
    summary = Summary(students=students, skipped=skipped, manifest=manifest)
    tqdm.monitor_interval = 0  # no monitor thread: the grading processes are forked from this one
    pending: dict[str, _Pending] = {}
    levels: set[str] = set()
    with executor_for(options.executor, options.jobs or default_jobs()) as executor, \
            Gradebook(Path(folder) / GRADEBOOK) as book, \
            tqdm(total=len(students), desc="grading", unit="nb", disable=not options.progress,
                 file=sys.stderr, dynamic_ncols=True) as bar:

        def done(sub: Submission | None, items: Sequence[Item] = (), answers: dict | None = None,
                 copies: Sequence[dict] = (), flags: Sequence[dict] = ()) -> None:
            what = sub.status if sub is not None else "unchanged"
            if sub is not None:
                sub.score = round(sum(i.points for i in items), 6)
                book.record(sub, items, answers or {}, copies, flags)
                summary.recorded.append(sub.student)
            summary.counts[what] += 1
            bar.set_postfix_str(", ".join(f"{k} {v}" for k, v in summary.counts.items() if v), refresh=False)
            bar.update()

        def chunks() -> Iterator[list[Task]]:
            """Chunks of students to run; the others are recorded on the way."""
            size = CHUNK.get(type(executor), 8)
            chunk: list[Task] = []
            for sid in students:
                prepared = _prepare(manifest, submissions, sid, book, options.regrade)
                if isinstance(prepared, _Pending):
                    pending[sid] = prepared
                    chunk.append(Task(sid, prepared.record["problems"], prepared.notebook.cells))
                    prepared.record = {}
                    if len(chunk) == size:
                        yield chunk
                        chunk = []
                else:
                    done(*(prepared or (None,)))
            if chunk:
                yield chunk

        context = ClassContext(manifest.grading, CopyIndex(manifest.data), options.limits,
                               options.isolation, (str(Path(folder).resolve()), str(submissions.resolve())),
                               shared_cells(manifest))
        for graded in _graded(executor, context, chunks()):
            for g in graded:
                if g.isolation not in levels:
                    levels.add(g.isolation)
                    _announce(g, options.limits, bar)
                item = pending.pop(g.student)
                item.sub.flags = list(item.sub.flags) + [c["message"] for c in g.copies + g.changed]
                item.sub.isolation = g.isolation
                done(item.sub, _finish(manifest, item, g.run, g.items), g.answers, g.copies, g.changed)
        record_lateness(book, policy, submissions, students)
    summary.isolation = "+".join(sorted(levels))
    summary.seconds = time.monotonic() - start
    return summary


def _graded(executor: Executor, context: ClassContext, chunks: Iterator[list[Task]]) -> Iterator[list[Graded]]:
    """The chunks graded by the executor's processes, as they finish; their sandboxes stopped at the end."""
    gc.freeze()  # forked local processes share what this one has loaded instead of copying it when they collect
    try:
        yield from executor.map(grade_chunk, context, chunks, ordered=False)
    except BaseException:
        gc.unfreeze()
        try:
            executor.cleanup(close_sandboxes)
        except Exception:  # noqa: BLE001 - best effort: the error that stopped the map is the one to report
            pass
        raise
    gc.unfreeze()
    executor.cleanup(close_sandboxes)


def _announce(graded: Graded, limits: Limits, bar: tqdm) -> None:
    """Say which isolation is in use, loudly if it is not bubblewrap."""
    bar.write(f"hwgen grade: {describe(graded.isolation, limits)}", file=sys.stderr)
    if graded.isolation != "bwrap":
        bar.write("hwgen grade: WARNING: bubblewrap isolation is not available ("
                  + "; ".join(graded.fallbacks) + "); student code runs with weaker isolation", file=sys.stderr)
