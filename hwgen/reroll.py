"""`hwgen generate --reroll ID`: one student's fresh numbers (e.g. after a suspected leak), nothing else touched.

The student's problems (all, or the ones named) get new seeds, unlike every classmate's numbers and their own
old ones; their four files are written again and their manifest entry is replaced in place, byte for byte
where it lay, so every other file and every other student's entry stay identical. The entry keeps a list
`rerolls` (when, which problems, a hash of each old given-data cell) so that grading a notebook handed in
with the old numbers says so.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from .assignment import Assignment, Student
from .errors import HwgenError, InputFileError
from .generate import MANIFEST, build_student, paths
from .grade.gradebook import now
from .grade.manifest import ClassManifest, Students, load_manifest
from .grade.stale import given_hash
from .outdir import create, recorded
from .sampling import derive_seed

MAX_TRIES = 200  # seeds tried for numbers unlike everyone's


@dataclass(frozen=True)
class Rerolled:
    """What a reroll wrote."""

    student: str
    problems: list[str]
    files: list[str]


def _given_cells(assignment: Assignment, student: Student, seeds: Mapping[str, int], keys: Sequence[str]) -> list[str]:
    """Hashes of these problems' given-data cells in the student notebook of the variants drawn with `seeds`
    (rebuilt, so a notebook moved or edited in DIR does not matter)."""
    text = next(iter(build_student(assignment, student, seeds=seeds, writers=("notebook",)).files.values()))
    ids = {f"{key}_given" for key in keys}
    return [given_hash("".join(c["source"]) if isinstance(c["source"], list) else c["source"])
            for c in json.loads(text)["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") in ids]


def _check_same_class(assignment: Assignment, manifest: ClassManifest) -> None:
    """Refuse an assignment other than the one the folder was generated from."""
    def plain(x: Any) -> Any:
        return json.loads(json.dumps(x))
    if plain(assignment.to_manifest()) != manifest.assignment or \
            plain([p.to_manifest() for p in assignment.problems]) != manifest.data["problems"]:
        raise InputFileError(assignment.path, None, f"this assignment differs from the one {manifest.path.parent} was "
                             "generated from (title, seed, problems, policy, ...)",
                             "reroll with the unchanged assignment file, or generate the class again with --force")


def _fingerprint(given: Any) -> str:
    """A fingerprint of a problem's given numbers as stored in the manifest."""
    return hashlib.sha256(json.dumps(given, separators=(",", ":")).encode()).hexdigest()


def reroll(assignment: Assignment, roster: Sequence[Student], out: Path, student_id: str,
           problem: str | None = None) -> Rerolled:
    """Give one student new numbers for every problem (or `problem`), rewriting only their files and entry."""
    if assignment.mode != "homework":
        raise HwgenError("--reroll is for homework; in an exam the class's answer sheet and compact key "
                         "(keys/answers.csv, keys/compact.tex) list every student\n  fix: generate the exam again")
    manifest = load_manifest(out)
    _check_same_class(assignment, manifest)
    student = next((s for s in roster if s.id == student_id), None)
    if student is None or student_id not in manifest.students:
        raise HwgenError(f"--reroll {student_id!r} is not a student of the roster and of {manifest.path}\n"
                         "  fix: check the id (as in the roster)")
    own = [p.key for p in assignment.problems if not p.shared]
    if problem is not None and problem not in own:
        raise HwgenError(f"--problem {problem!r} is not a problem of this assignment with numbers of its own\n"
                         f"  fix: use one of: {', '.join(own)}")
    keys = [problem] if problem else own
    if not keys:
        raise HwgenError("every problem of this assignment is shared by the class: there is nothing to reroll")
    rels = paths(assignment, student)
    missing = sorted(set(rels) - set(recorded(out)))
    if missing:
        raise HwgenError(f"{out / missing[0]} was not written by hwgen generate here, so it is not replaced\n"
                         "  fix: generate the class into this folder first")
    record = manifest.students[student_id]
    taken = {k: {_fingerprint(manifest.students[s]["problems"][k]["given"]) for s in manifest.students} for k in keys}
    rerolls = list(record.get("rerolls", []))
    seeds = {k: int(record["problems"][k]["seed"]) for k in record["problems"]}
    old_given = _given_cells(assignment, student, seeds, keys)
    for key in keys:
        for attempt in range(MAX_TRIES):
            seeds[key] = derive_seed(assignment.seed, student_id, f"{key}@reroll{len(rerolls) + 1}#{attempt}")
            result = build_student(assignment, student, seeds=seeds, writers=())
            if _fingerprint(json.loads(result.record)["problems"][key]["given"]) not in taken[key]:
                break
        else:
            raise HwgenError(f"problem {key}: no numbers unlike every classmate's in {MAX_TRIES} tries\n"
                             "  fix: widen the template's value grids")
    result = build_student(assignment, student, seeds=seeds)
    entry = json.loads(result.record)
    entry["rerolls"] = rerolls + [{"at": now(), "problems": keys, "old_given": old_given}]
    create(out, result.files, replace=True)
    _replace_entry(manifest, student_id, json.dumps(entry))
    return Rerolled(student_id, keys, list(result.files))


def _replace_entry(manifest: ClassManifest, student_id: str, text: str) -> None:
    """manifest.json with one student's entry replaced where it lies; every other byte the same."""
    assert isinstance(manifest.students, Students)
    offset, size = manifest.students.where(student_id)
    data = manifest.path.read_bytes()
    partial = manifest.path.with_name(MANIFEST + ".partial")
    partial.write_bytes(data[:offset] + text.encode("utf-8") + data[offset + size:])
    os.replace(partial, manifest.path)
