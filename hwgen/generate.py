"""A class set: for every student and problem a variant, the files the writers make of it, and manifest.json.

The work per student is `build_student(assignment, student, salts)`: a pure, picklable function that
returns the student's files and manifest record, so chunks of students can run in processes (or on a
cluster, hwgen.executor). The driver (`generate`) records every file in the output folder before a chunk is
handed out, and streams the manifest to disk in roster order, holding only small fingerprints of earlier
students' numbers, never the class. Local worker processes write their students' files themselves (sending
them back would cost as much as writing them); a cluster's workers send them back and the driver writes them.

A writer makes one file per student from its StudentWork; WRITERS lists them (docs/architecture.md, "Writers").
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterator, Mapping, Sequence

from tqdm import tqdm

from . import __version__
from .assignment import Assignment, Student
from .errors import VariantError
from .exam import paper
from .executor import Executor, executor_for
from .numfmt import counted
from .outdir import Output, create, prepare
from .render import latex
from .render.notebook import writers as notebooks
from .sampling import derive_seed, sample
from .variant import Variant

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "hwgen-manifest/1"
MAX_SALT = 200  # re-derivations tried before a problem is declared too small for the class
CHUNK = 16  # students per task at most when students are built in several processes (or on a cluster)
TASKS_PER_WORKER = 8  # smaller chunks for small classes, so that every worker has work until the end


@dataclass
class StudentWork:
    """One student's solved variants (p1, p2, ... -> Variant), and what several writers build from them.

    `shared(make)` returns make(assignment, student, variants), made once per student however many writers
    ask (the LaTeX context of worksheet and key, the instructor notebook the student notebook derives from).
    """

    assignment: Assignment
    student: Student
    variants: Mapping[str, Variant]
    _made: dict[Callable, Any] = field(default_factory=dict, repr=False)

    def shared(self, make: Callable[[Assignment, Student, Mapping[str, Variant]], Any]) -> Any:
        """make(assignment, student, variants), computed on first use; callers must not change it."""
        if make not in self._made:
            self._made[make] = make(self.assignment, self.student, self.variants)
        return self._made[make]


@dataclass(frozen=True)
class Writer:
    """Makes one kind of per-student file: its text render(work: StudentWork) at path(assignment, student), a
    relative path under `folder` (a top-level folder of the output), e.g. worksheets/<id>.tex."""

    name: str
    folder: str
    path: Callable[[Assignment, Student], str]
    render: Callable[[StudentWork], str]


def _worksheet_path(assignment: Assignment, student: Student) -> str:
    """worksheets/<id>.tex."""
    return f"worksheets/{student.id}.tex"


def _worksheet(work: StudentWork) -> str:
    """The student's worksheet."""
    return latex.render("worksheet.tex.j2", work.shared(latex.context))


def _key_path(assignment: Assignment, student: Student) -> str:
    """keys/<id>.tex."""
    return f"keys/{student.id}.tex"


def _key(work: StudentWork) -> str:
    """The student's answer key."""
    return latex.render("key.tex.j2", work.shared(latex.context))


WRITERS: dict[str, Writer] = {
    "worksheet": Writer("worksheet", "worksheets", _worksheet_path, _worksheet),
    "key": Writer("key", "keys", _key_path, _key),
    "notebook": Writer("notebook", "release", notebooks.release_path, notebooks.release_text),
    "instructor_notebook": Writer("instructor_notebook", "source", notebooks.source_path, notebooks.source_text),
    "exam": Writer("exam", "exams", paper.path, paper.text),
}
MODES: dict[str, tuple[str, ...]] = {  # the writers of an assignment's `mode:`
    "homework": ("worksheet", "key", "notebook", "instructor_notebook"),
    "exam": ("exam", "key", "notebook", "instructor_notebook"),
}


@dataclass(frozen=True)
class StudentOutput:
    """What one student yields: files (relative path -> text; empty once a local worker wrote them), the manifest
    record, a fingerprint of each problem's numbers."""

    student: Student
    files: dict[str, str]
    record: str  # the student's manifest entry as JSON text
    fingerprints: dict[str, int]


def problem_seed(assignment: Assignment, student: Student, key: str, salt: int = 0) -> int:
    """The seed of one student's problem; salt > 0 re-derives it when its numbers repeat an earlier student's.
    A shared problem's seed is the class's: every student gets the same numbers."""
    shared = next(p.shared for p in assignment.problems if p.key == key)
    return derive_seed(assignment.seed, "" if shared else student.id, key if salt == 0 else f"{key}#{salt}")


def fingerprint(variant: Variant) -> int:
    """64 bits of SHA-256 over a variant's given numbers."""
    given = json.dumps(variant.to_json()["given"], separators=(",", ":"))
    return int.from_bytes(hashlib.sha256(given.encode()).digest()[:8], "big")


def build_student(assignment: Assignment, student: Student, salts: Mapping[str, int] | None = None,
                  writers: Sequence[str] | None = None, seeds: Mapping[str, int] | None = None) -> StudentOutput:
    """One student's variants, files (from each writer, default: those of the assignment's mode) and manifest
    record: pure and picklable. `seeds` gives problems' seeds outright (hwgen.reroll), else they are derived."""
    salts, seeds = salts or {}, seeds or {}
    writers = MODES[assignment.mode] if writers is None else writers
    variants = {p.key: sample(p.template, seeds[p.key] if p.key in seeds else
                              problem_seed(assignment, student, p.key, salts.get(p.key, 0)))
                for p in assignment.problems}
    work = StudentWork(assignment, student, variants)
    files = {rel: WRITERS[name].render(work) for name, rel in zip(writers, paths(assignment, student, writers))}
    record = {"name": student.name, "email": student.email, **({"canvas": dict(student.canvas)} if student.canvas else {}),
              "problems": {key: v.record(key) for key, v in variants.items()}}
    return StudentOutput(student, files, json.dumps(record), {key: fingerprint(v) for key, v in variants.items()})


def paths(assignment: Assignment, student: Student, writers: Sequence[str] = MODES["homework"]) -> list[str]:
    """The relative paths of a student's files, one per writer."""
    out = []
    for name in writers:
        rel = WRITERS[name].path(assignment, student)
        if PurePosixPath(rel).parts[0] != WRITERS[name].folder:
            raise ValueError(f"writer {name!r} writes {rel!r}, outside its folder {WRITERS[name].folder!r}")
        out.append(rel)
    return out


def build_chunk(common: tuple[Assignment, tuple[str, ...], Path | None],
                students: Sequence[Student]) -> list[StudentOutput]:
    """build_student for several students: one task of an Executor, common = (assignment, writer names, the
    output folder when this process shares it: the files, recorded there already, are then written here and
    come back empty)."""
    assignment, writers, out = common
    results = []
    for student in students:
        result = build_student(assignment, student, writers=writers)
        if out is not None:
            create(out, result.files)
            result = replace(result, files={})
        results.append(result)
    return results


def chunk_size(students: int, workers: int) -> int:
    """Students per task: TASKS_PER_WORKER tasks per worker at least, CHUNK students per task at most."""
    return max(1, min(CHUNK, math.ceil(students / (workers * TASKS_PER_WORKER))))


class Manifest:
    """manifest.json streamed to disk: the header first, then one student a line, in roster order."""

    def __init__(self, output: Output, assignment: Assignment) -> None:
        self.output, self._first = output, True
        self._partial = output.reserve(MANIFEST + ".partial")
        self._file = open(self._partial, "x", encoding="utf-8")
        head = {"format": MANIFEST_FORMAT, "hwgen_version": __version__, "assignment": assignment.to_manifest(),
                "problems": [p.to_manifest() for p in assignment.problems]}
        try:
            self._file.write("{\n" + "".join(f" {json.dumps(k)}: {json.dumps(v)},\n" for k, v in head.items())
                             + ' "students": {')
        except BaseException:
            self.discard()
            raise

    def add(self, student_id: str, record: str) -> None:
        """Append one student's record (JSON text)."""
        self._file.write(("\n" if self._first else ",\n") + f"  {json.dumps(student_id)}: {record}")
        self._first = False

    def discard(self) -> None:
        """Remove the unfinished file (a run that failed leaves no manifest.json.partial behind)."""
        self._partial.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # what could not be written (a full disk) is gone with the file
            self._file.close()

    def close(self) -> Path:
        """Finish the JSON and move it into place as manifest.json."""
        self._file.write("\n }\n}\n")
        self._file.close()
        final = self.output.reserve(MANIFEST)
        os.replace(self._partial, final)
        return final


@dataclass
class Summary:
    """What a run wrote."""

    out: Path
    students: int
    problems: int
    files: int
    seconds: float
    rederived: list[str] = field(default_factory=list)  # "student/problem" whose numbers were re-derived
    removed: list[str] = field(default_factory=list)  # files of the earlier run that --force deleted


BUNDLES = ("worksheets.pdf", "keys.pdf", "exams.pdf")


def class_executor(where: str | None, jobs: int, students: int) -> Executor:
    """Where a class's chunks are built: `where` (hwgen.executor), with `jobs` local processes unless the class
    is one chunk, which this process builds."""
    return executor_for(where, jobs if students > CHUNK else 1)


def generate(assignment: Assignment, students: Sequence[Student], out: Path, *, jobs: int = 1, force: bool = False,
             progress: bool = True, writers: Sequence[str] | None = None, executor: Executor | None = None) -> Summary:
    """Write every student's files (writers: default those of the assignment's mode) and manifest.json into `out`,
    chunks of students built by `executor` (default: `jobs` local processes; this process for jobs <= 1 or a class
    of one chunk)."""
    start = time.perf_counter()
    writers = writers or MODES[assignment.mode]
    removed = prepare(out, (MANIFEST, MANIFEST + ".partial", *BUNDLES), {WRITERS[w].folder for w in writers}, force)
    output = Output(out)
    manifest = Manifest(output, assignment)
    seen: dict[str, set[int]] = {p.key: set() for p in assignment.problems}
    summary = Summary(out, len(students), len(assignment.problems), 0, 0.0, removed=removed)
    if executor is None:
        executor = class_executor(None, jobs, len(students))
    size = chunk_size(len(students), executor.workers)
    local = executor.shares_files  # then the workers write the files; else they come back and are written here
    bar = tqdm(total=len(students), unit="student", desc="generate", delay=0.5, disable=not progress)
    try:
        chunks = _reserved(output, assignment, students, size, writers)
        for chunk in executor.map(build_chunk, (assignment, tuple(writers), out if local else None), chunks):
            for result in chunk:
                unique = _unique(assignment, result, seen, writers, summary)
                create(out, unique.files, replace=local and unique is not result)  # re-derived: written again
                manifest.add(result.student.id, unique.record)
                summary.files += len(writers)
                bar.update()
        manifest.close()
    except BaseException:
        manifest.discard()
        raise
    finally:
        bar.close()
        output.close()
    summary.seconds = time.perf_counter() - start
    return summary


def _reserved(output: Output, assignment: Assignment, students: Sequence[Student], size: int,
              writers: Sequence[str]) -> Iterator[Sequence[Student]]:
    """Consecutive chunks of at most `size` students, each chunk's files recorded in the output folder before
    the chunk is handed out (so that whatever process creates them, every file hwgen made is on the record)."""
    for first in range(0, len(students), size):
        chunk = students[first:first + size]
        for student in chunk:
            for rel in paths(assignment, student, writers):
                output.reserve(rel)
        output.flush()
        yield chunk


def _unique(assignment: Assignment, result: StudentOutput, seen: dict[str, set[int]], writers: Sequence[str],
            summary: Summary) -> StudentOutput:
    """The student's output with every problem's numbers unlike every earlier student's (re-derived if needed);
    a shared problem's numbers are everyone's."""
    shared = {p.key for p in assignment.problems if p.shared}
    salts: dict[str, int] = {}
    while True:
        repeats = [key for key, fp in result.fingerprints.items() if fp in seen[key] and key not in shared]
        if not repeats:
            break
        for key in repeats:
            salts[key] = salts.get(key, 0) + 1
            if salts[key] > MAX_SALT:
                spec = next(p for p in assignment.problems if p.key == key)
                raise VariantError(
                    f"problem {key} (template {spec.template.name}): student {result.student.id!r} cannot get numbers "
                    f"unlike the {counted(len(seen[key]), 'student')} before them in {MAX_SALT} tries; the template has too "
                    "few distinct variants for this class\n  fix: widen the template's value grids, or split the class")
        result = build_student(assignment, result.student, salts, writers)
    summary.rederived += [f"{result.student.id}/{key}" for key in salts]
    for key, fp in result.fingerprints.items():
        seen[key].add(fp)
    return result
