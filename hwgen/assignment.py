"""An assignment (YAML: title, course, due, seed, problems, instructions, grading) and its roster (CSV)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import bank, questions
from .errors import HwgenError, InputFileError, OverrideError, VariantError
from .grade.late import POLICY_KEYS, check_policy
from .numfmt import points_text
from .problem import OVERRIDES, ProblemSpec, apply_overrides, scale_points
from .sampling import MAX_DRAWS, sample
from .yamlfile import line_of, load_yaml, read_text, validate

MAX_POINTS = 10**6
_QUANTITY = {"type": "string", "pattern": questions.PATTERN}  # the template's own names: apply_overrides
_PROBLEM = {
    "type": "object", "additionalProperties": False, "required": ["template"],
    "properties": {
        "template": {"type": "string", "minLength": 1,
                     "description": "write a template name from `hwgen list` or a path to a template YAML file"},
        "points": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_POINTS, "multipleOf": 0.25,
                   "description": f"write the problem's total points, a multiple of 0.25 of at most {MAX_POINTS}, "
                                  "e.g. 10"},
        "asked": {"description": "write a list of quantities, e.g. [Z1, L, dW1], or a mapping quantity -> points "
                                 "(multiples of 0.25), e.g. {Z1: 1, dW1: 2.5}",
                  "anyOf": [{"type": "array", "minItems": 1, "uniqueItems": True, "items": _QUANTITY},
                            {"type": "object", "minProperties": 1, "propertyNames": _QUANTITY,
                             "additionalProperties": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_POINTS,
                                                      "multipleOf": 0.25}}]},
        "lr": {"type": "number", "exclusiveMinimum": 0, "description": "write a positive learning rate, e.g. 0.5"},
        "significant": {"type": "integer", "minimum": 2, "maximum": 8,
                        "description": "write the significant digits students keep, 2 to 8"},
        "display": bank.DISPLAY_SCHEMA,
        "shared": {"type": "boolean", "description": "write true to give every student the same numbers"},
    },
}
SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["title", "seed", "problems"],
    "properties": {
        "title": {"type": "string", "minLength": 1},
        "course": {"type": "string"},
        "due": {"type": "string", "description": "write a date (2026-12-01), a date and time, or any text"},
        "name": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]*$",
                 "description": "use letters, digits, - and _ (it names the assignment's folders)"},
        "seed": {"type": ["integer", "string"], "description": "write a whole number, e.g. 20261122"},
        "instructions": {"type": "string"},
        "paper": {"enum": ["letter", "a4"]},
        "mode": {"enum": ["homework", "exam"],
                 "description": "write homework (worksheets) or exam (paper exams with answer boxes and QR codes)"},
        "duration": {"type": "string", "description": "write how long the exam lasts, e.g. 90 minutes"},
        "problems": {"type": "array", "minItems": 1, "items": _PROBLEM},
        "grading": bank.GRADING_SCHEMA,
        "late": {"type": "object", "additionalProperties": False,
                 "description": "write e.g. {grace_minutes: 15, penalty_per_day: 0.1, max_penalty: 0.5}",
                 "properties": {key: {"type": "number", "description": f"write a number from {low:g} to {high:g}"}
                                for key, (low, high, _) in POLICY_KEYS.items()}},
        "extensions": {"type": "string", "minLength": 1,
                       "description": "write the CSV file (student_id,due) beside the assignment, e.g. extensions.csv"},
    },
}

MAX_ID_BYTES = 100


@dataclass(frozen=True)
class Student:
    """One roster row: id (also a folder and file name), name and email (may be empty), line in the CSV, and the
    roster's values of Canvas's identity columns (ID, SIS User ID, SIS Login ID, Section), for the export."""

    id: str
    name: str = ""
    email: str = ""
    line: int = 0
    canvas: tuple[tuple[str, str], ...] = ()


class Roster(list):
    """The students of a roster file (a list), with the header of the column their ids came from and the
    delimiter the file uses."""

    id_column: str = "student_id"
    delimiter: str = ","


# Roster columns: what each field may be called in the header (compared ignoring case and spaces at the ends), in
# order of preference: hwgen's own names, then those of a Canvas gradebook export.
ID_COLUMNS = ("student_id", "sis user id", "id")
FIELDS = {"name": ("name", "student"), "email": ("email",)}
CANVAS = {"ID": ("id",), "SIS User ID": ("sis user id",), "SIS Login ID": ("sis login id",), "Section": ("section",)}
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
CANVAS_ROWS = ("Points Possible", "Student, Test")  # a Canvas export's rows that are no students (without ids)


@dataclass(frozen=True, eq=False)
class Assignment:
    """A validated assignment: its header, its problems p1, p2, ... (overrides applied) and grading options."""

    title: str
    course: str
    due: str  # ISO date (or date-time) when the file gave a YAML date, else the text as written
    seed: int | str
    name: str  # safe for folder names
    instructions: str
    problems: tuple[ProblemSpec, ...]
    grading: dict[str, Any] = field(default_factory=dict)
    paper: str = "letter"  # letter or a4
    mode: str = "homework"  # or exam (generate.MODES)
    duration: str = ""  # an exam's, as written
    path: Path = Path("assignment.yaml")
    late: dict[str, Any] | None = None  # the late policy (grade.late.check_policy), None without `late:`

    def to_manifest(self) -> dict[str, Any]:
        """The `assignment` object of manifest.json."""
        return {"title": self.title, "course": self.course, "due": self.due, "seed": self.seed, "name": self.name,
                "instructions": self.instructions, "grading": self.grading, **({"late": self.late} if self.late else {})}

    @property
    def due_text(self) -> str:
        """The due date as a person reads it: Tuesday 1 December 2026 (23:59)."""
        try:
            when = dt.datetime.fromisoformat(self.due)
        except ValueError:
            return self.due
        day = f"{when:%A} {when.day} {when:%B %Y}"
        return day if len(self.due) <= 10 else f"{day}, {when:%H:%M}"


def _plain(data: Any) -> Any:
    """YAML data with line-number containers turned into plain dicts and lists (JSON- and pickle-friendly)."""
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    return data


def _safe_name(stem: str) -> str:
    """A folder-safe assignment name from a file name: 'HW 3 (backprop)' -> 'HW_3_backprop'."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_-") or "assignment"


def _template_path(ref: str, base: Path, path: Path, line: int | None) -> Path:
    """A problem's template: a bank name, or a path relative to the assignment file."""
    if ref.endswith((".yaml", ".yml")) or "/" in ref or "\\" in ref:
        candidate = (base / ref) if not Path(ref).is_absolute() else Path(ref)
        if not candidate.is_file():
            raise InputFileError(path, line, f"template file {ref!r} not found (looked at {candidate})",
                                 "give a path relative to the assignment file, or a name from `hwgen list`")
        return candidate
    candidate = bank.bank_dir() / f"{ref}.yaml"
    if not candidate.is_file():
        names = ", ".join(p.stem for p in bank.template_paths())
        raise InputFileError(path, line, f"no template {ref!r} in the problem bank",
                             f"use one of: {names} (or a path to a template YAML file)")
    return candidate


def _problem(raw: dict, index: int, data: Any, path: Path) -> ProblemSpec:
    """Problem p<index+1>: its template with the assignment's overrides and points."""
    where = ("problems", index)
    base = bank.load(_template_path(raw["template"], path.parent, path, line_of(data, (*where, "template"))))
    overrides = {k: _plain(raw[k]) for k in OVERRIDES if k in raw}
    try:
        template = apply_overrides(base, overrides)
    except HwgenError as exc:
        line = line_of(data, (*where, exc.key) if isinstance(exc, OverrideError) else where)
        raise InputFileError(path, line, f"problems.{index}: {exc}",
                             "fix the problem's asked/lr/significant/display") from None
    try:  # one draw now, so that a problem no variant of which passes the checks names its line here
        sample(template, 0)
    except VariantError as exc:
        fix = ("use more significant digits (rounding to fewer swamps the small gradients), " if
               template.significant < base.significant else "")
        raise InputFileError(path, line_of(data, where), f"problems.{index} ({raw['template']}): no variant passes "
                             f"hwgen's checks in {MAX_DRAWS} draws; the last was rejected: {exc.reason}",
                             fix + "ask fewer quantities (`asked:`), or choose another lr or template") from None
    return ProblemSpec(f"p{index + 1}", template, _points(raw, index, template, data, path), overrides,
                       bool(raw.get("shared", False)))


def _points(raw: dict, index: int, template: bank.Template, data: Any, path: Path) -> dict[str, float]:
    """Problem p<index+1>'s points per asked quantity: a mapping's as written (they must add up to `points`),
    else the template's weights scaled to `points` on the half (or quarter) point grid."""
    total = raw.get("points")
    if isinstance(raw.get("asked"), dict) and total is not None and template.points != total:
        raise InputFileError(path, line_of(data, ("problems", index, "points")),
                             f"problems.{index}: the points in `asked` add up to {points_text(template.points)}, "
                             f"not to `points: {points_text(total)}`",
                             f"make the points in `asked` add up to {points_text(total)}, or delete `points:` "
                             "(the total is then their sum)")
    try:
        return scale_points(template.asked, total)
    except HwgenError as exc:
        raise InputFileError(path, line_of(data, ("problems", index, "points" if total is not None else "template")),
                             f"problems.{index}: {exc}", "give the problem more points (`points:`), or ask fewer "
                             "quantities (`asked:`)") from None


def load_assignment(path: str | Path) -> Assignment:
    """Load and validate an assignment file; every problem names the file, the line and the fix."""
    path = Path(path)
    data = load_yaml(path)
    if isinstance(data, dict) and isinstance(data.get("due"), (dt.date, dt.datetime)):
        data["due"] = data["due"].isoformat()  # a YAML date; the line stays recorded in data.lines
    validate(data, SCHEMA, path)
    problems = tuple(_problem(raw, i, data, path) for i, raw in enumerate(data["problems"]))
    return Assignment(
        title=data["title"].strip(), course=data.get("course", "").strip(), due=str(data.get("due", "")).strip(),
        seed=data["seed"], name=data.get("name") or _safe_name(path.stem),
        instructions=data.get("instructions", "").strip(), problems=problems,
        grading=_plain(data.get("grading", {})), paper=data.get("paper", "letter"), mode=data.get("mode", "homework"),
        duration=data.get("duration", "").strip(), path=path, late=check_policy(data, path))


def id_problem(student_id: str) -> str | None:
    """Why a student id cannot name a folder and a file, or None if it can."""
    if not student_id:
        return "the student_id is empty"
    if student_id in (".", ".."):
        return f"the student id {student_id!r} is not a usable folder name"
    if "/" in student_id or "\\" in student_id:
        return f"the student id {student_id!r} contains a slash, which would make it a path"
    if any(unicodedata.category(c).startswith("C") for c in student_id):
        return f"the student id {student_id!r} contains a control or invisible character"
    if len(student_id.encode("utf-8")) > MAX_ID_BYTES:
        return f"the student id is longer than {MAX_ID_BYTES} bytes"
    return None


def load_roster(path: str | Path) -> Roster:
    """Read a roster CSV (student_id, optional name and email; or a Canvas gradebook export), comma-, semicolon- or
    tab-separated; bad, duplicate or unsafe ids name their line."""
    path = Path(path)
    text = read_text(path, encoding="utf-8-sig")
    header = text.split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=lambda d: (header.count(d), d == ","))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        students, roster_id = _students(path, reader)
        roster = Roster(students)
        roster.id_column, roster.delimiter = roster_id, delimiter
        return roster
    except csv.Error as exc:
        raise InputFileError(path, reader.line_num, f"this row cannot be read as CSV ({exc})",
                             "fields hold at most 128 KiB and no NUL bytes: save the roster again as a UTF-8 CSV "
                             "with one row per student") from None


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    """The index of the first of `names` in the (casefolded) header, or None."""
    return next((header.index(n) for n in names if n in header), None)


def _students(path: Path, reader: Any) -> tuple[list[Student], str]:
    """The roster's students from its CSV reader (load_roster), and the header of the column their ids came from."""
    written = [h.strip() for h in next(reader, [])]
    header = [h.casefold() for h in written]
    rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    cell = lambda row, i: row[i].strip() if i is not None and i < len(row) else ""  # noqa: E731
    present = [header.index(n) for n in ID_COLUMNS if n in header]
    if not present:
        raise InputFileError(path, 1, "the header row has no student_id column (nor a Canvas export's SIS User ID or "
                                      "ID)", "start the file with a header row such as: student_id,name,email")
    name_at = _column(header, FIELDS["name"])
    people = [row for _, row in rows if cell(row, name_at) not in CANVAS_ROWS]
    id_at = next((i for i in present if any(cell(row, i) for row in people)), present[0])  # an empty SIS column: next
    rows = [(line, row) for line, row in rows if cell(row, id_at) or cell(row, name_at) not in CANVAS_ROWS]
    col = {"student_id": id_at, "name": name_at, "email": _column(header, FIELDS["email"])}
    col = {k: i for k, i in col.items() if i is not None}
    canvas = {column: i for column, names in CANVAS.items() if (i := _column(header, names)) is not None}
    students: list[Student] = []
    seen: dict[str, Student] = {}
    for line, row in rows:
        cells = {name: cell(row, i) for name, i in col.items()}
        sid = cells["student_id"]
        problem = id_problem(sid) or next((f"the {name} contains a control character" for name, text in cells.items()
                                           if any(unicodedata.category(c) == "Cc" for c in text)), None)
        if problem:
            raise InputFileError(path, line, problem, "fill in an id made of letters, digits, - _ . or @ (no slashes), "
                                                      "remove control characters, or delete the row")
        first = seen.get(sid.casefold())
        if first:
            what = (f"student id {sid!r} appears twice (first on line {first.line})" if first.id == sid else
                    f"student id {sid!r} differs from {first.id!r} (line {first.line}) only in letter case, "
                    "so their files would collide on macOS and Windows")
            raise InputFileError(path, line, what, "give every student a unique id, or delete the repeated row")
        student = Student(sid, cells.get("name", ""), cells.get("email", ""), line,
                          tuple((c, cell(row, i)) for c, i in canvas.items() if cell(row, i)))
        seen[sid.casefold()] = student
        students.append(student)
    if not students:
        raise InputFileError(path, None, "the roster lists no students", "add one row per student under the header")
    return students, written[id_at]
