"""The gradebook: SQLite in WAL mode, one transaction per student, so a killed grader loses nothing recorded.

Tables: `submissions` (one row per student: the file and its hash, the manifest fingerprint it was
graded against, status, flags, score, timings, isolation) and `items` (one row per student, problem and
asked quantity: points, max points, status, misconception, message, the student's value, time), and
beside them `copies`, `late` (each submission's lateness and penalty) and `overrides` (manual grades):
`score` in `submissions` is the checks' sum; grade.totals puts the overrides and the penalty in.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence, TypeVar

from ..errors import InputFileError
from .result import Item
from .safetext import clean
from .totals import class_totals

GRADEBOOK = "gradebook.db"
SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    student TEXT PRIMARY KEY,
    status TEXT NOT NULL,            -- graded | missing | invalid | unknown
    path TEXT,                       -- the notebook graded, relative to the submissions folder
    sha256 TEXT,                     -- of the notebook file
    variant_sha256 TEXT,             -- of the manifest entries the grade depends on
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    flags TEXT NOT NULL,             -- JSON list of strings
    isolation TEXT,
    attempts INTEGER NOT NULL,
    run_seconds REAL NOT NULL,
    cpu_seconds REAL NOT NULL,
    graded_at TEXT NOT NULL,
    hwgen_version TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    student TEXT NOT NULL,
    position INTEGER NOT NULL,       -- order within the assignment
    problem TEXT NOT NULL,
    quantity TEXT NOT NULL,
    points REAL NOT NULL,
    max_points REAL NOT NULL,
    status TEXT NOT NULL,
    misconception TEXT,
    message TEXT NOT NULL,
    answer TEXT,                     -- the student's value as JSON, if one was read
    graded_at TEXT NOT NULL,
    PRIMARY KEY (student, problem, quantity)
);
CREATE TABLE IF NOT EXISTS copies (  -- copied work: a problem's answers match a classmate's variant (grade.copies)
    student TEXT NOT NULL,
    problem TEXT NOT NULL,
    other TEXT NOT NULL,             -- the classmate whose numbers were handed in
    quantities TEXT NOT NULL,        -- JSON list of the quantities that match
    PRIMARY KEY (student, problem, other)
);
CREATE TABLE IF NOT EXISTS problem_flags (  -- other flags of one problem by kind, e.g. numbers_changed
    student TEXT NOT NULL,
    problem TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,            -- JSON object: the flag as the JSON report shows it
    PRIMARY KEY (student, problem, kind)
);
CREATE TABLE IF NOT EXISTS late (    -- when a submission came in and its late penalty (grade.late), a line of its own
    student TEXT PRIMARY KEY,
    submitted_at TEXT NOT NULL,      -- ISO 8601, UTC
    source TEXT NOT NULL,            -- timestamp.txt | file time
    due TEXT NOT NULL,               -- the student's due, extension included, UTC
    extended INTEGER NOT NULL,       -- 1 if extensions.csv gave the student another due
    days INTEGER NOT NULL,           -- started days after the due (0: on time, grace included)
    penalty REAL NOT NULL,           -- the fraction of the score taken off
    note TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS overrides (  -- manual grades (grade.overrides); grading never changes them
    student TEXT NOT NULL,
    problem TEXT NOT NULL,           -- '' for the whole assignment
    quantity TEXT NOT NULL,          -- '' for the whole problem
    points REAL NOT NULL,
    reason TEXT NOT NULL,
    author TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (student, problem, quantity)
);
"""


@dataclass
class Submission:
    """One student's row of `submissions`."""

    student: str
    status: str
    path: str | None = None
    sha256: str | None = None
    variant_sha256: str | None = None
    score: float = 0.0
    max_score: float = 0.0
    flags: Sequence[str] = ()
    isolation: str | None = None
    attempts: int = 0
    run_seconds: float = 0.0
    cpu_seconds: float = 0.0
    graded_at: str = ""
    hwgen_version: str = ""


def now() -> str:
    """The current time, UTC, ISO 8601 to the second."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


MAX_FLAGS = 50  # flags kept per student
MAX_ANSWER_CHARS = 2**20  # a student's value kept as JSON; a larger one is not kept
FIX = "move it away (mv {path} {path}.broken) and run `hwgen grade` again: every student is graded again"

READ_ONLY = "cannot be written: it, its folder or its disk is read-only"
WRITABLE = "make it writable, or copy the class folder to a writable disk and work there"
# what SQLite says (or _disk) -> what it means for the gradebook, and the fix ({path}: the file)
_SQLITE_ERRORS: dict[str, tuple[str, str]] = {
    "not a database": ("not an SQLite database (damaged, or another kind of file)", FIX),
    "malformed": ("the database is damaged (truncated or overwritten)", FIX),
    "read-only": (READ_ONLY, WRITABLE),
    "readonly": (READ_ONLY, WRITABLE),
    "full": ("the disk is full", "free some space and run again (what was already recorded is kept)"),
    "unable to open": ("cannot be opened (missing permissions, or a read-only folder)",
                       "check the file and its folder (ls -l), or work in a copy of the class folder"),
    "locked": ("is in use by another hwgen", "wait for the other `hwgen grade` to finish, then run again"),
}


def _disk(path: Path) -> str:
    """What SQLite would call the state of the file system holding `path`: 'read-only', 'full' or ''."""
    try:
        info = os.statvfs(path.parent)
    except OSError:
        return ""
    return "read-only" if info.f_flag & os.ST_RDONLY else "full" if info.f_bavail == 0 else ""


def _error(path: Path, exc: sqlite3.Error) -> InputFileError:
    """The error for an SQLite failure on the gradebook at `path`: what it means and the fix (a read-only or
    full disk is asked of the file system, as SQLite often reports either as a plain I/O error)."""
    text = _disk(path) or str(exc)
    what, fix = next(((what, fix) for key, (what, fix) in _SQLITE_ERRORS.items() if key in text),
                     (f"the database cannot be used ({exc})", FIX))
    return InputFileError(path, None, what, fix.format(path=path))


F = TypeVar("F", bound=Callable[..., Any])


def _guarded(method: F) -> F:
    """A Gradebook method whose SQLite errors become one InputFileError naming the file."""

    @functools.wraps(method)
    def run(self: Gradebook, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise _error(self.path, exc) from None

    return run  # type: ignore[return-value]


@functools.lru_cache(maxsize=1)
def _columns() -> dict[str, list[str]]:
    """Table -> its columns, as SCHEMA creates them."""
    db = sqlite3.connect(":memory:")
    db.executescript(SCHEMA)
    return {t: [c[1] for c in db.execute(f"PRAGMA table_info({t})")] for (t,) in
            db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


class Gradebook:
    """DIR/gradebook.db opened for reading and writing (created on first use), or only for reading."""

    def __init__(self, path: str | Path, readonly: bool = False) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_file():
            raise InputFileError(self.path, None, "not a file (a folder?)", FIX.format(path=self.path))
        try:
            # on a read-only disk nothing can change the file, and SQLite can only read it as immutable
            mode = ("ro&immutable=1" if _disk(self.path) == "read-only" else "ro") if readonly else "rwc"
            self.db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode={mode}", uri=True, isolation_level=None)
        except sqlite3.Error as exc:
            raise _error(self.path, exc) from None
        self.db.text_factory = lambda b: b.decode("utf-8", "replace")  # a damaged or foreign text never raises
        try:
            self._open(readonly)
        except BaseException:
            self.db.close()
            raise

    @_guarded
    def _open(self, readonly: bool) -> None:
        """Set the connection up, create the tables if writing, and check they are hwgen's."""
        self.db.execute("PRAGMA busy_timeout=10000")
        if not readonly:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")  # a commit survives the grader being killed
            self.db.executescript(SCHEMA)
            self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        for table, columns in _columns().items():
            if [c[1] for c in self.db.execute(f"PRAGMA table_info({table})")] != columns:
                raise InputFileError(self.path, None, f"not an hwgen gradebook (its table {table!r} is missing or "
                                     "different: another program's database, or another hwgen version's)",
                                     FIX.format(path=self.path))

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @_guarded
    def fingerprint(self, student: str) -> tuple[str | None, str | None] | None:
        """(file hash, manifest fingerprint) the student was last graded with, or None if never."""
        row = self.db.execute("SELECT sha256, variant_sha256 FROM submissions WHERE student = ?", (student,)).fetchone()
        return (row[0], row[1]) if row else None

    @_guarded
    def source(self, student: str) -> tuple[str | None, str] | None:
        """(isolation, graded_at) of the student's grade: isolation `typed` for answers typed from paper."""
        row = self.db.execute("SELECT isolation, graded_at FROM submissions WHERE student = ?", (student,)).fetchone()
        return (row[0], row[1]) if row else None

    @_guarded
    def record(self, sub: Submission, items: Sequence[Item], answers: dict[tuple[str, str], Any],
               copies: Sequence[dict[str, Any]] = (), problem_flags: Sequence[dict[str, Any]] = ()) -> None:
        """Replace one student's results (and copied-work flags, CopyIndex.flags, and other flags of a problem,
        {"kind", "problem", ...}), all in one transaction; text that came from the student is cleaned
        (safetext.clean) on the way in."""
        sub.graded_at = sub.graded_at or now()
        rows = [(sub.student, i, it.problem, it.quantity, it.points, it.max_points, it.status,
                 None if it.misconception is None else clean(it.misconception), clean(it.message),
                 _json(answers.get((it.problem, it.quantity))), sub.graded_at) for i, it in enumerate(items)]
        flags = [clean(f) for f in list(sub.flags)[:MAX_FLAGS]]
        if len(sub.flags) > MAX_FLAGS:
            flags.append(f"{len(sub.flags) - MAX_FLAGS} more flags were left out")
        with self._transaction():
            self.db.execute("DELETE FROM items WHERE student = ?", (sub.student,))
            self.db.executemany("INSERT INTO items VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
            self.db.execute("DELETE FROM copies WHERE student = ?", (sub.student,))
            self.db.executemany("INSERT OR REPLACE INTO copies VALUES (?,?,?,?)", [
                (sub.student, c["problem"], c["other"], json.dumps(c["quantities"])) for c in copies])
            self.db.execute("DELETE FROM problem_flags WHERE student = ?", (sub.student,))
            self.db.executemany("INSERT OR REPLACE INTO problem_flags VALUES (?,?,?,?)", [
                (sub.student, f["problem"], f["kind"], json.dumps(f)) for f in problem_flags])
            self.db.execute("INSERT OR REPLACE INTO submissions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                            (sub.student, sub.status, None if sub.path is None else clean(sub.path), sub.sha256,
                             sub.variant_sha256, sub.score, sub.max_score, json.dumps(flags), sub.isolation, sub.attempts,
                             sub.run_seconds, sub.cpu_seconds, sub.graded_at, sub.hwgen_version))

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """BEGIN ... COMMIT, or ROLLBACK on any error."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @_guarded
    def submissions(self) -> dict[str, Submission]:
        """Every student's submission row, by student id."""
        cur = self.db.execute("SELECT * FROM submissions ORDER BY student")
        names = [d[0] for d in cur.description]
        out = {}
        for row in cur:
            fields = dict(zip(names, row))
            flags = _loads(fields["flags"])  # JSON text in the database
            fields["flags"] = [str(f) for f in flags] if isinstance(flags, list) else [str(fields["flags"])]
            sub = Submission(**fields)
            out[sub.student] = sub
        return out

    @_guarded
    def all_items(self) -> dict[str, list[Item]]:
        """Every student's items in assignment order, without the values (one query for the whole class)."""
        out: dict[str, list[Item]] = {}
        for row in self.db.execute("SELECT student, problem, quantity, points, max_points, status, message, "
                                   "misconception FROM items ORDER BY student, position"):
            out.setdefault(row[0], []).append(Item(*row[1:]))
        return out

    @_guarded
    def items(self, student: str) -> list[tuple[Item, Any, str]]:
        """A student's items in assignment order, each with the student's value (or None) and its time."""
        return [(Item(*row[:7]), _loads(row[7]), row[8]) for row in self.db.execute(
            "SELECT problem, quantity, points, max_points, status, message, misconception, answer, graded_at "
            "FROM items WHERE student = ? ORDER BY position", (student,))]

    @_guarded
    def copied_from(self) -> dict[str, list[str]]:
        """Student -> the classmates whose numbers their answers carry (copied work), in problem order."""
        out: dict[str, list[str]] = {}
        for student, other in self.db.execute("SELECT student, other FROM copies ORDER BY student, problem, other"):
            if other not in out.setdefault(student, []):
                out[student].append(other)
        return out

    @_guarded
    def misconception_counts(self) -> list[tuple[str, str, str, int]]:
        """(problem, quantity, misconception key, number of students), most frequent first."""
        return self.db.execute("SELECT problem, quantity, misconception, COUNT(*) FROM items WHERE misconception "
                               "IS NOT NULL GROUP BY problem, quantity, misconception "
                               "ORDER BY COUNT(*) DESC, problem, quantity, misconception").fetchall()

    @_guarded
    def status_counts(self) -> list[tuple[str, str, str, int]]:
        """(problem, quantity, status, number of students) over the submissions that were graded (not missing,
        invalid or unknown), in assignment order."""
        return self.db.execute("SELECT i.problem, i.quantity, i.status, COUNT(*) FROM items i JOIN submissions s "
                               "ON s.student = i.student WHERE s.status = 'graded' GROUP BY i.problem, i.quantity, "
                               "i.status ORDER BY MIN(i.position), i.status").fetchall()

    @_guarded
    def flagged(self, student: str) -> list[dict[str, Any]]:
        """A student's flags by kind, in problem order: copied_work (with `other` and `quantities`) and the
        problem_flags (numbers_changed with `variables`), each with `kind` and `problem`."""
        copies = [{"kind": "copied_work", "problem": p, "other": o, "quantities": json.loads(q)} for p, o, q in
                  self.db.execute("SELECT problem, other, quantities FROM copies WHERE student = ?", (student,))]
        others = [json.loads(d) for (d,) in self.db.execute("SELECT detail FROM problem_flags WHERE student = ?",
                                                            (student,))]
        return sorted(copies + others, key=lambda f: (f["problem"], f["kind"]))

    @_guarded
    def report(self, students: Sequence[str] | None = None) -> dict[str, Any]:
        """The `--json` report: {student: {score (after the late penalty), raw_score (before it, overrides put
        in), max, late, overrides, items: [...], flags: [...] (text), flagged: [...] (by kind, Gradebook.flagged)}}."""
        subs, totals = self.submissions(), class_totals(self)
        out = {}
        for sid in (students if students is not None else list(subs)):
            if sid not in subs:
                continue
            t = totals[sid]
            out[sid] = {"score": round(t.score, 6), "raw_score": round(t.raw, 6), "max": round(subs[sid].max_score, 6),
                        "late": t.late.to_json(t.penalty_points) if t.late else None,
                        "overrides": [o.to_json() for o in t.overrides],
                        "items": [item.to_json() for item, _, _ in self.items(sid)], "flags": list(subs[sid].flags),
                        "flagged": self.flagged(sid)}
        return out


def _json(value: Any) -> str | None:
    """A student's value as JSON text, or None if there is none or it cannot be kept (too large or deep)."""
    if value is None:
        return None
    try:
        text = json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        return None
    return text if len(text) <= MAX_ANSWER_CHARS else None


def _loads(text: str | None) -> Any:
    """JSON text read back (None if there is none or it is damaged)."""
    try:
        return None if text is None else json.loads(text)
    except (ValueError, RecursionError):
        return None
