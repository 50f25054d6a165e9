"""The gradebook: SQLite in WAL mode, one transaction per student, so a killed grader loses nothing recorded.

Tables: `submissions` (one row per student: the file and its hash, the manifest fingerprint it was
graded against, status, flags, score, timings, isolation) and `items` (one row per student, problem and
asked quantity: points, max points, status, misconception, message, the student's value, time).
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

from .result import Item

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


class Gradebook:
    """DIR/gradebook.db opened for reading and writing (created on first use)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # a commit survives the grader being killed
        self.db.execute("PRAGMA busy_timeout=10000")
        self.db.executescript(SCHEMA)
        self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fingerprint(self, student: str) -> tuple[str | None, str | None] | None:
        """(file hash, manifest fingerprint) the student was last graded with, or None if never."""
        row = self.db.execute("SELECT sha256, variant_sha256 FROM submissions WHERE student = ?", (student,)).fetchone()
        return (row[0], row[1]) if row else None

    def record(self, sub: Submission, items: Sequence[Item], answers: dict[tuple[str, str], Any],
               copies: Sequence[dict[str, Any]] = ()) -> None:
        """Replace one student's results (and copied-work flags, CopyIndex.flags), all in one transaction."""
        sub.graded_at = sub.graded_at or now()
        rows = [(sub.student, i, it.problem, it.quantity, it.points, it.max_points, it.status, it.misconception,
                 it.message, json.dumps(answers[(it.problem, it.quantity)]) if (it.problem, it.quantity) in answers
                 else None, sub.graded_at) for i, it in enumerate(items)]
        with self._transaction():
            self.db.execute("DELETE FROM items WHERE student = ?", (sub.student,))
            self.db.executemany("INSERT INTO items VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
            self.db.execute("DELETE FROM copies WHERE student = ?", (sub.student,))
            self.db.executemany("INSERT OR REPLACE INTO copies VALUES (?,?,?,?)", [
                (sub.student, c["problem"], c["other"], json.dumps(c["quantities"])) for c in copies])
            self.db.execute("INSERT OR REPLACE INTO submissions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                            (sub.student, sub.status, sub.path, sub.sha256, sub.variant_sha256, sub.score,
                             sub.max_score, json.dumps(list(sub.flags)), sub.isolation, sub.attempts,
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

    def submissions(self) -> dict[str, Submission]:
        """Every student's submission row, by student id."""
        cur = self.db.execute("SELECT * FROM submissions ORDER BY student")
        names = [d[0] for d in cur.description]
        out = {}
        for row in cur:
            sub = Submission(**dict(zip(names, row)))
            sub.flags = json.loads(sub.flags)
            out[sub.student] = sub
        return out

    def items(self, student: str) -> Iterator[tuple[Item, Any, str]]:
        """A student's items in assignment order, each with the student's value (or None) and its time."""
        for row in self.db.execute("SELECT problem, quantity, points, max_points, status, message, misconception, "
                                   "answer, graded_at FROM items WHERE student = ? ORDER BY position", (student,)):
            yield Item(*row[:7]), (json.loads(row[7]) if row[7] is not None else None), row[8]

    def copied_from(self) -> dict[str, list[str]]:
        """Student -> the classmates whose numbers their answers carry (copied work), in problem order."""
        out: dict[str, list[str]] = {}
        for student, other in self.db.execute("SELECT student, other FROM copies ORDER BY student, problem, other"):
            if other not in out.setdefault(student, []):
                out[student].append(other)
        return out

    def misconception_counts(self) -> list[tuple[str, str, str, int]]:
        """(problem, quantity, misconception key, number of students), most frequent first."""
        return self.db.execute("SELECT problem, quantity, misconception, COUNT(*) FROM items WHERE misconception "
                               "IS NOT NULL GROUP BY problem, quantity, misconception "
                               "ORDER BY COUNT(*) DESC, problem, quantity, misconception").fetchall()

    def report(self, students: Sequence[str] | None = None) -> dict[str, Any]:
        """The `--json` report: {student: {score, max, items: [...], flags: [...]}}."""
        subs = self.submissions()
        out = {}
        for sid in (students if students is not None else list(subs)):
            if sid not in subs:
                continue
            out[sid] = {"score": round(subs[sid].score, 6), "max": round(subs[sid].max_score, 6),
                        "items": [item.to_json() for item, _, _ in self.items(sid)], "flags": list(subs[sid].flags)}
        return out
