"""Late work: when each submission was handed in, its due (with extensions) and the late policy's penalty.

The policy is the assignment's `late: {grace_minutes, penalty_per_day, max_penalty}` with its `due`, copied
into manifest.json; `extensions: FILE.csv` (student_id,due) names per-student due dates, read when grading.
A submission's time is nbgrader's `timestamp.txt` beside the notebook (written by `nbgrader collect`, e.g.
"2026-12-01 23:59:59.123456 UTC"), else the notebook file's modification time. Both are the student's to
forge in principle, so the file is read with care (a regular file, not a link, at most a few hundred bytes).
Lateness counts from the due: a submission after due + grace is late by ceil(time after due / 1 day) days,
and loses min(max_penalty, days * penalty_per_day) of its score.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import stat
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import InputFileError
from ..numfmt import counted
from ..yamlfile import line_of
from .manifest import REGENERATE, ClassManifest
from .safetext import clean

if TYPE_CHECKING:
    from .gradebook import Gradebook

TIMESTAMP = "timestamp.txt"  # nbgrader's name, beside the notebook in submitted/<id>/<assignment>/
TIMESTAMP_BYTES = 256  # nbgrader writes about 30
MAX_GRACE_MINUTES = 7 * 24 * 60
DAY = timedelta(days=1)
UTC_NAMES = frozenset({"Z", "UTC", "GMT"})
_WHEN = re.compile(r"(?P<date>\d{4}-\d{2}-\d{2})(?:[T ](?P<time>\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?))?"
                   r"\s*(?P<zone>[+-]\d{2}:?\d{2}|[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*)?")
POLICY_KEYS = {"grace_minutes": (0.0, MAX_GRACE_MINUTES, 0.0), "penalty_per_day": (0.0, 1.0, 0.0),
               "max_penalty": (0.0, 1.0, 1.0)}  # key -> (lowest, highest, default)
WHEN_FIX = ("write a date and time such as 2026-12-01 23:59, optionally with a time zone "
            "(2026-12-01 23:59 +01:00, 2026-12-01T23:59Z or 2026-12-01 23:59 Europe/Berlin; UTC when none)")


def _zone(name: str) -> timezone | ZoneInfo:
    """A time zone from Z/UTC/GMT, +HH:MM / +HHMM, or an IANA name (Europe/Berlin)."""
    if name.upper() in UTC_NAMES:
        return timezone.utc
    if name[0] in "+-":
        hours, minutes = int(name[1:3]), int(name[-2:])
        if hours > 23 or minutes > 59:
            raise ValueError(f"the offset {name} is out of range")
        offset = timedelta(hours=hours, minutes=minutes)
        return timezone(-offset if name[0] == "-" else offset)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def parse_when(text: str, end_of_day: bool = False) -> datetime:
    """A moment in UTC from a date and time with an optional zone (UTC when none), in ISO 8601 or nbgrader's
    timestamp form; a date alone is that day's start, or with `end_of_day` the next day's start."""
    text = text.strip()
    match = _WHEN.fullmatch(text) if len(text) <= 80 else None
    if match is None:
        raise ValueError(f"{text[:80]!r} is not a date and time")
    clock = (match["time"] or "00:00").replace(",", ".")
    if "." in clock:
        clock = clock[:clock.index(".") + 7]  # at most microseconds
    try:
        naive = datetime.fromisoformat(f"{match['date']}T{clock.zfill(5) if len(clock) < 5 else clock}")
        zone = _zone(match["zone"]) if match["zone"] else timezone.utc
        when = naive.replace(tzinfo=zone).astimezone(timezone.utc)
        return when + DAY if end_of_day and match["time"] is None else when
    except OverflowError:
        raise ValueError(f"{text!r} is out of range") from None
    except ValueError as exc:
        raise ValueError(f"{text!r}: {exc}") from None


def iso(when: datetime) -> str:
    """A UTC moment as ISO 8601 to the second."""
    return when.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def check_policy(data: Any, path: Path) -> dict[str, Any] | None:
    """The assignment's `late` policy for manifest.json (due in UTC, the three numbers, the extensions file as
    given), or None without `late:`; any problem names the file, line and fix."""
    late = data.get("late") if isinstance(data, dict) else None
    if late is None:
        if isinstance(data, dict) and data.get("extensions") is not None:
            raise InputFileError(path, line_of(data, ["extensions"]), "`extensions:` needs a late policy",
                                 "add e.g. late: {grace_minutes: 15, penalty_per_day: 0.1} (or remove extensions:)")
        return None
    due = data.get("due")
    if not isinstance(due, str) or not due.strip():
        raise InputFileError(path, line_of(data, ["late"]), "`late:` needs the assignment's `due`", f"add due: ({WHEN_FIX})")
    try:
        when = parse_when(due, end_of_day=True)
    except ValueError as exc:
        raise InputFileError(path, line_of(data, ["due"]), f"due: {exc}", WHEN_FIX) from None
    policy: dict[str, Any] = {"due": iso(when)}
    for key, (low, high, default) in POLICY_KEYS.items():
        value = late.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or not low <= value <= high:
            raise InputFileError(path, line_of(data, ["late", key]), f"late.{key}: {value!r} is not a number from "
                                 f"{low:g} to {high:g}", f"write e.g. {key}: {'15' if key == 'grace_minutes' else '0.1'}")
        policy[key] = float(value)
    extensions = data.get("extensions")
    if extensions is not None:
        file = path.parent / str(extensions)
        read_extensions(file, when, None)  # checked now; read again when grading
        policy["extensions"] = str(file.resolve())
    return policy


def read_extensions(path: Path, due: datetime, students: Mapping[str, Any] | None) -> dict[str, datetime]:
    """Student id -> extended due from a CSV file with columns student_id and due; every bad row names its line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(path, None, f"cannot read the extensions file ({exc})",
                             "create it as UTF-8 CSV with the header student_id,due (or remove `extensions:`)") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in next(reader, [])]
    if "student_id" not in header or "due" not in header:
        raise InputFileError(path, 1, "the header row needs the columns student_id and due",
                             "start the file with: student_id,due")
    sid_col, due_col = header.index("student_id"), header.index("due")
    out: dict[str, datetime] = {}
    lines: dict[str, int] = {}
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        line = reader.line_num
        sid = row[sid_col].strip() if sid_col < len(row) else ""
        if not sid:
            raise InputFileError(path, line, "the student_id is empty", "fill in the student's id or delete the row")
        if sid in out:
            raise InputFileError(path, line, f"student {sid!r} appears twice (first on line {lines[sid]})",
                                 "keep one row per student")
        if students is not None and sid not in students:
            raise InputFileError(path, line, f"student {sid!r} is not in the class's manifest",
                                 "check the id (as in the roster)")
        try:
            when = parse_when(row[due_col] if due_col < len(row) else "", end_of_day=True)
        except ValueError as exc:
            raise InputFileError(path, line, f"due: {exc}", WHEN_FIX) from None
        if when < due:
            raise InputFileError(path, line, f"the extended due {iso(when)} is before the assignment's due {iso(due)}",
                                 "give a later date, or delete the row")
        out[sid], lines[sid] = when, line
    return out


@dataclass(frozen=True)
class Policy:
    """A class's late policy: due (UTC), grace, penalty per started day, cap, and per-student extensions."""

    due: datetime
    grace: timedelta
    per_day: float
    max_penalty: float
    extensions: Mapping[str, datetime]

    @classmethod
    def of(cls, manifest: ClassManifest) -> Policy | None:
        """The policy recorded in the manifest (None if it has none), its extensions file read and checked now."""
        raw = manifest.assignment.get("late")
        if raw is None:
            return None
        try:
            due = parse_when(raw["due"])
            grace, per_day, most = (float(raw[key]) for key in POLICY_KEYS)
            path = raw.get("extensions")
        except (KeyError, TypeError, ValueError):
            raise InputFileError(manifest.path, None, "the assignment's `late` policy cannot be read", REGENERATE) from None
        extensions = read_extensions(Path(path), due, manifest.students) if path else {}
        return cls(due, timedelta(minutes=grace), per_day, most, extensions)

    def lateness(self, student: str, submitted: datetime) -> tuple[datetime, int, float]:
        """(the student's due, whole days late counting a started day, fraction of the score lost)."""
        due = self.extensions.get(student, self.due)
        if submitted <= due + self.grace:
            return due, 0, 0.0
        days = math.ceil((submitted - due) / DAY)
        return due, days, min(self.max_penalty, round(days * self.per_day, 12))


@dataclass(frozen=True)
class HandedIn:
    """When a submission was handed in, where that came from, and anything odd about it."""

    when: datetime
    source: str  # "timestamp.txt" or "file time"
    note: str = ""


def handed_in(notebook: Path) -> HandedIn:
    """The submission's time: timestamp.txt beside the notebook if it holds one, else the notebook's mtime."""
    stamp = notebook.parent / TIMESTAMP
    note = ""
    try:
        fd = os.open(stamp, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        fd = -1
    except OSError as exc:
        fd, note = -1, f"{TIMESTAMP} cannot be read ({'it is a link' if os.path.islink(stamp) else exc.strerror})"
    if fd >= 0:
        try:
            text = os.read(fd, TIMESTAMP_BYTES + 1) if stat.S_ISREG(os.fstat(fd).st_mode) else None
        finally:
            os.close(fd)
        try:
            if text is None:
                raise ValueError("it is not a regular file")
            if len(text) > TIMESTAMP_BYTES:
                raise ValueError(f"it is longer than {TIMESTAMP_BYTES} bytes")
            if text.strip():
                return HandedIn(parse_when(text.decode("utf-8")), TIMESTAMP)
            note = f"{TIMESTAMP} is empty"
        except (ValueError, UnicodeDecodeError) as exc:
            note = f"{TIMESTAMP} holds no time ({exc})"
    note += ("; " if note else "") + "the notebook's modification time was used"
    try:
        return HandedIn(datetime.fromtimestamp(os.lstat(notebook).st_mtime, timezone.utc), "file time", note)
    except (OverflowError, OSError, ValueError):
        return HandedIn(datetime.now(timezone.utc), "grading time", f"{note}, but it is out of range: the time of "
                        "grading was used")


HANDED_IN = ("graded", "invalid")  # submission statuses that have a file, hence a time


@dataclass(frozen=True)
class Late:
    """A student's row of the gradebook's `late` table."""

    student: str
    submitted: str  # ISO 8601, UTC
    source: str
    due: str
    extended: bool
    days: int
    penalty: float  # fraction of the score taken off
    note: str

    def sentence(self, points: float) -> str:
        """The lateness and its penalty for people; `points` is the penalty in points."""
        when = f"handed in {self.submitted} ({self.source}), due {self.due}" + (" (extended)" if self.extended else "")
        if not self.days:
            return f"{when}: on time"
        return f"{when}: {counted(self.days, 'day')} late, {self.penalty:.0%} off: -{counted(points, 'point')}"

    def to_json(self, points: float) -> dict[str, Any]:
        """The `late` object of the JSON report; `points` is the penalty in points."""
        return {"days": self.days, "penalty": self.penalty, "penalty_points": round(points, 6),
                "submitted": self.submitted, "source": self.source, "due": self.due, "extended": self.extended,
                "note": self.note}


def record(book: Gradebook, policy: Policy | None, submissions: Path, students: Sequence[str]) -> None:
    """Work out and store (or clear, without a policy) the lateness of these students' recorded submissions."""
    subs = book.submissions()
    rows = []
    for sid in students:
        sub = subs.get(sid)
        if policy is None or sub is None or sub.status not in HANDED_IN or not sub.path:
            continue
        got = handed_in(submissions / sub.path)
        due, days, fraction = policy.lateness(sid, got.when)
        rows.append((sid, iso(got.when), got.source, iso(due), int(sid in policy.extensions), days, fraction,
                     clean(got.note)))
    with book._transaction():
        book.db.executemany("DELETE FROM late WHERE student = ?", [(sid,) for sid in students])
        book.db.executemany("INSERT INTO late VALUES (?,?,?,?,?,?,?,?)", rows)


def recorded(book: Gradebook, student: str | None = None) -> dict[str, Late]:
    """Every student's recorded lateness (only `student`'s if given), by student id."""
    where = ("WHERE student = ?", (student,)) if student is not None else ("", ())
    return {row[0]: Late(row[0], row[1], row[2], row[3], bool(row[4]), row[5], row[6], row[7])
            for row in book.db.execute(f"SELECT * FROM late {where[0]}", where[1])}
