"""manifest.json as the grader reads it: problems, grading options, and each student's entry on demand.

The manifest of a class of 10,000 is some 30 MB of JSON, several times that as Python objects, and a grader
needs one student's entry at a time. `load_manifest` reads the file once, keeps the header (assignment,
problems) and, per student, only where their entry lies in the file: `ClassManifest.students` is a
read-only mapping (`Students`) that parses an entry when it is asked for. The file stays open while the
manifest is in use, so a manifest.json replaced meanwhile (a new `hwgen generate`) does not mix two classes:
entries are read from the file as it was when it was opened.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import weakref
from dataclasses import dataclass
from functools import cached_property
from json.decoder import JSONDecodeError, scanstring  # type: ignore[attr-defined]  # there at runtime, not in typeshed
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

import numpy as np

from ..engine import solve
from ..errors import HwgenError, InputFileError
from ..problem import ProblemSpec

MANIFEST = "manifest.json"
FORMAT_PREFIX = "hwgen-manifest/"
REGENERATE = "regenerate it with `hwgen generate`; do not edit it by hand"
MAX_NUMBER = 1e300  # a number in a manifest is at most this large

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def _finite(x: Any) -> bool:
    """Whether x is a finite number (a float that is not nan or inf, or an int of at most MAX_NUMBER)."""
    return type(x) is float and x - x == 0.0 or type(x) is int and -MAX_NUMBER < x < MAX_NUMBER


def _shape(value: Any) -> tuple[int, ...] | None:
    """The shape of a finite number or a rectangular nested list of them; None if `value` is not one."""
    if type(value) is not list:
        return () if _finite(value) else None
    if not value:
        return None
    if type(value[0]) is not list:
        return (len(value),) if all(map(_finite, value)) else None
    inner = _shape(value[0])
    return None if inner is None or any(_shape(v) != inner for v in value[1:]) else (len(value), *inner)


@dataclass(frozen=True)
class EntryCheck:
    """What every student's entry must hold: problem key -> the given arrays' shapes, and the answers' shapes."""

    given: dict[str, dict[str, tuple[int, ...]]]
    answers: dict[str, dict[str, tuple[int, ...]]]

    def problem(self, entry: Any) -> str | None:
        """What is wrong with a student's entry (the first thing found), or None."""
        problems = entry.get("problems") if isinstance(entry, dict) else None
        if not isinstance(problems, dict):
            return "`problems` is missing or not an object"
        for key, shapes in (("given", self.given), ("answers", self.answers)):
            for problem, names in shapes.items():
                record = problems.get(problem)
                arrays = record.get(key) if isinstance(record, dict) else None
                if not isinstance(arrays, dict):
                    return f"problems.{problem}.{key} is missing or not an object"
                for name, shape in names.items():
                    try:
                        found = _shape(arrays.get(name))
                    except RecursionError:
                        found = None
                    if found != shape:
                        return f"problems.{problem}.{key}.{name} is not " + (
                            f"an array of shape {shape} of finite numbers" if shape else "a finite number")
        return None


class Students(Mapping[str, dict]):
    """Student id -> the student's manifest entry (name, email, problems), parsed from the file when asked and
    checked (EntryCheck) the first time; in roster (file) order. Nothing but the position of each entry (and
    which were checked) is held in memory."""

    def __init__(self, path: Path, index: dict[str, tuple[int, int]], fd: int, check: EntryCheck | None = None) -> None:
        self.path, self._index, self._fd, self.check = path, index, fd, check
        self._checked: set[str] = set()
        weakref.finalize(self, os.close, fd)

    def __getitem__(self, student: str) -> dict[str, Any]:
        offset, size = self._index[student]
        data = os.pread(self._fd, size, offset)
        try:
            entry = json.loads(data) if len(data) == size else None
        except (ValueError, RecursionError):
            entry = None
        if not isinstance(entry, dict):
            raise InputFileError(self.path, None, f"the entry of student {student!r} cannot be read: the file was "
                                 "changed while it was in use", "run the command again") from None
        if self.check is not None and student not in self._checked:
            problem = self.check.problem(entry)
            if problem:
                line = os.pread(self._fd, offset, 0).count(b"\n") + 1
                raise InputFileError(self.path, line, f"the entry of student {student!r}: {problem}", REGENERATE)
            self._checked.add(student)
        return entry

    def __contains__(self, student: object) -> bool:
        return student in self._index

    def where(self, student: str) -> tuple[int, int]:
        """(byte offset, byte length) of the student's entry in the file."""
        return self._index[student]

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled as the path, the index and the check: the file is opened again where it is unpickled."""
        return {"path": self.path, "index": self._index, "check": self.check}

    def __setstate__(self, state: dict[str, Any]) -> None:
        fd = os.open(state["path"], os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        Students.__init__(self, state["path"], state["index"], fd, state["check"])


@dataclass(frozen=True)
class ClassManifest:
    """A generated class: its assignment, problems (ProblemSpec) and students with their variants.
    `data` is the manifest's JSON object, its `students` a `Students` mapping."""

    path: Path
    data: dict[str, Any]
    problems: list[ProblemSpec]

    @property
    def assignment(self) -> dict[str, Any]:
        """The `assignment` object (title, name, seed, grading, ...)."""
        return self.data["assignment"]

    @property
    def name(self) -> str:
        """The assignment's safe name: the folder and notebook name students submit."""
        return str(self.assignment.get("name") or "assignment")

    @property
    def title(self) -> str:
        """The assignment's title for people."""
        return str(self.assignment.get("title") or self.name)

    @property
    def grading(self) -> dict[str, Any]:
        """Grading options (`ecf_credit`, `show_expected`, ...)."""
        return dict(self.assignment.get("grading") or {})

    @property
    def students(self) -> Mapping[str, dict[str, Any]]:
        """Student id -> record (name, email, problems), each parsed when it is asked for."""
        return self.data["students"]

    @property
    def max_points(self) -> float:
        """Points of the whole assignment."""
        return sum(p.points for p in self.problems)

    @cached_property
    def _common_digest(self) -> str:
        text = json.dumps({"problems": self.data["problems"], "grading": self.grading}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def variant_hash(self, student: str, record: Mapping[str, Any] | None = None) -> str:
        """Fingerprint of everything a student's grade depends on in the manifest (their variant, the
        problems, the grading options): unchanged means an unchanged submission needs no regrading.
        `record`: the student's entry, if it has been read already."""
        record = self.students[student] if record is None else record
        text = json.dumps(record.get("problems", {}), sort_keys=True)
        return hashlib.sha256((self._common_digest + text).encode()).hexdigest()


def find_id(wanted: str, ids: Iterable[str]) -> str | None:
    """The id among `ids` that `wanted` names: itself, else the one equal ignoring letter case (as the roster
    compares ids); None if none is."""
    folded = None
    for sid in ids:
        if sid == wanted:
            return sid
        if folded is None and sid.casefold() == wanted.casefold():
            folded = sid
    return folded


def _skip(text: str, pos: int) -> int:
    """The position of the next non-blank character at or after `pos`."""
    blank = _WS.match(text, pos)
    assert blank is not None  # the pattern matches the empty string too
    return blank.end()


def _walk(text: str, pos: int, member: Callable[[str, int], int]) -> int:
    """Walk the JSON object whose '{' is at `pos`: member(key, where its value starts) reads the value and
    returns where it ends. Returns the position just after the object's '}'."""
    pos = _skip(text, pos + 1)
    if text.startswith("}", pos):
        return pos + 1
    while True:
        if not text.startswith('"', pos):
            raise JSONDecodeError("Expecting property name enclosed in double quotes", text, pos)
        key, pos = scanstring(text, pos + 1)
        pos = _skip(text, pos)
        if not text.startswith(":", pos):
            raise JSONDecodeError("Expecting ':' delimiter", text, pos)
        pos = _skip(text, member(key, _skip(text, pos + 1)))
        if text.startswith("}", pos):
            return pos + 1
        if not text.startswith(",", pos):
            raise JSONDecodeError("Expecting ',' delimiter", text, pos)
        pos = _skip(text, pos + 1)


def _scan(path: Path, text: str) -> tuple[dict[str, Any], dict[str, tuple[int, int]] | None]:
    """The manifest's JSON object without its students, and where each student's entry lies in the file
    (byte offset, byte length; None if `students` is no object). Every entry is parsed once here, so a
    damaged one is reported now."""
    header: dict[str, Any] = {}
    index: dict[str, tuple[int, int]] = {}
    ascii_only = text.isascii()
    seen = [0, 0]  # characters and bytes before the last position converted

    def byte(pos: int) -> int:
        """The byte offset of character `pos` (positions only grow)."""
        if ascii_only:
            return pos
        seen[1] += len(text[seen[0]:pos].encode("utf-8"))
        seen[0] = pos
        return seen[1]

    def student(sid: str, start: int) -> int:
        record, end = _DECODER.raw_decode(text, start)
        if sid in index or not isinstance(record, dict):
            what = f"student {sid!r} appears twice" if sid in index else f"the entry of student {sid!r} is not an object"
            raise InputFileError(path, text.count("\n", 0, start) + 1, what, REGENERATE)
        first = byte(start)
        index[sid] = (first, byte(end) - first)
        return end

    def member(key: str, start: int) -> int:
        if key == "students" and text.startswith("{", start):
            header[key] = index
            return _walk(text, start, student)
        header[key], end = _DECODER.raw_decode(text, start)
        return end

    pos = _skip(text, 0)
    if not text.startswith("{", pos):
        raise InputFileError(path, 1, f"not an hwgen manifest (format should be {FORMAT_PREFIX}1)",
                             "run `hwgen generate` for this class first, or give the folder it wrote")
    end = _skip(text, _walk(text, pos, member))
    if end != len(text):
        raise JSONDecodeError("Extra data", text, end)
    return header, (index if header.get("students") is index else None)


def load_manifest(folder: str | Path) -> ClassManifest:
    """Read DIR/manifest.json; any problem names the file and how to fix it."""
    path = Path(folder) / MANIFEST
    fix = "run `hwgen generate` for this class first, or give the folder it wrote"
    if not Path(folder).is_dir():
        raise InputFileError(folder, None, "no such folder", fix)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputFileError(path, None, "no manifest.json in this folder", fix) from None
    except OSError as exc:
        raise InputFileError(path, None, f"cannot read the file ({exc})", fix) from None
    try:
        with open(fd, "rb", closefd=False) as f:
            text = f.read().decode("utf-8")
        data, index = _scan(path, text)
    except (OSError, UnicodeDecodeError) as exc:
        os.close(fd)
        raise InputFileError(path, None, f"cannot read the file ({exc})", fix) from None
    except JSONDecodeError as exc:
        os.close(fd)
        raise InputFileError(path, exc.lineno, f"not valid JSON: {exc.msg}", REGENERATE) from None
    except (ValueError, RecursionError) as exc:  # a number of thousands of digits, nesting past Python's limit
        os.close(fd)
        what = "nested too deeply" if isinstance(exc, RecursionError) else f"a value cannot be read ({exc})"
        raise InputFileError(path, None, f"not a usable manifest: {what}", REGENERATE) from None
    except BaseException:
        os.close(fd)
        raise
    if index is not None:
        data["students"] = Students(path, index, fd)
    else:
        os.close(fd)
    if not str(data.get("format", "")).startswith(FORMAT_PREFIX):
        raise InputFileError(path, 1, f"not an hwgen manifest (format should be {FORMAT_PREFIX}1)", fix)
    for key, kind in (("assignment", dict), ("problems", list), ("students", Students)):
        if not isinstance(data.get(key), kind):
            raise InputFileError(path, None, f"`{key}` is missing or not a{'n object' if kind is not list else ' list'}",
                                 "regenerate it with `hwgen generate`")
    if not isinstance(data["assignment"].get("grading", {}), dict):
        raise InputFileError(path, None, "`assignment.grading` is not an object", REGENERATE)
    try:
        problems = [ProblemSpec.from_manifest(entry) for entry in data["problems"]]
        data["students"].check = _entry_check(problems)
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError, HwgenError) as exc:
        raise InputFileError(path, None, f"a problem entry cannot be read ({str(exc)[:200]})", REGENERATE) from None
    bad = next((p.key for p in problems if not all(0 <= v <= MAX_NUMBER for v in p.asked.values())), None)
    if bad:
        raise InputFileError(path, None, f"problem {bad}'s points are not finite numbers of at least 0", REGENERATE)
    return ClassManifest(path, data, problems)


def _entry_check(problems: list[ProblemSpec]) -> EntryCheck:
    """The shapes every student's given arrays and answers have: the template's own, solved once on zeros."""
    answers = {}
    for spec in problems:
        problem = spec.template.problem
        with np.errstate(all="ignore"):
            trace = solve(problem, {k: np.zeros(shape) for k, shape in problem.given.items()}, 0.5)
        answers[spec.key] = {q: np.shape(trace[q]) for q in problem.answers}
    return EntryCheck({spec.key: dict(spec.template.problem.given) for spec in problems}, answers)
