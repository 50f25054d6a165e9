"""Copied work: answers that match a classmate's variant (and not the student's own).

`CopyIndex(manifest)` is built once per batch. For every problem and asked quantity it holds each student's
exact answer as one row of a matrix, with the row order sorted by every column. A query takes the answer's
largest entry, finds by binary search the students whose exact answer has that entry within a narrow
window (20 units of rounding: 1% at 4 digits), screens those rows on every entry, and confirms the few
that are left with the classmate's own rounding-aware tolerance. Building costs O(N log N) for N students,
a query O(log N + the rows in its window), so a class costs far less than the O(N^2) of comparing every
pair (bench/copies.py: query time flat from 1000 to 8000 students).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Mapping

import numpy as np

from .. import questions
from ..problem import ProblemSpec
from ..rounding import Tolerance, close, unit_roundoff
from .tolerance import tolerances
from .values import BadValue, to_array

Array = np.ndarray

WINDOW_U = 20  # screening window: 20 units of rounding of the answer's largest entry (1% at 4 digits), far wider
#                than the tolerance of any well-conditioned entry, and of the largest entry in particular
MIN_MATCHES = 3  # quantities of one problem that must match the classmate's variant ...
MIN_SHARE = 0.5  # ... and at least this share of the problem's asked quantities


@dataclass(frozen=True)
class _Column:
    """One quantity of one problem for the whole class: exact answers as rows, each column's sort order."""

    students: list[str]
    rows: Array  # (N, size)
    order: Array  # (size, N): row indices sorted by that column
    sorted_values: Array  # (size, N)


@dataclass(frozen=True)
class _Variants:
    """One problem's variants for the whole class, compactly: what a classmate's tolerance is computed from."""

    row: dict[str, int]  # student -> row (also the row of the problem's answers in every _Column)
    given: dict[str, Array]  # given name -> (N, size of that given)
    shapes: dict[str, tuple[int, ...]]
    lr: list[float | None]  # the entry's network lr (None: the template's)

    def record(self, student: str) -> dict[str, Any]:
        """The student's entry for the problem as far as tolerances need it (given numbers and lr)."""
        i = self.row[student]
        record: dict[str, Any] = {"given": {k: v[i].reshape(self.shapes[k]).tolist() for k, v in self.given.items()}}
        return record if self.lr[i] is None else record | {"network": {"lr": self.lr[i]}}


class _Block:
    """Named arrays of numbers for a whole class, filled one student (row) at a time: (rows, size) each."""

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.data: dict[str, Array] = {}
        self.shapes: dict[str, tuple[int, ...]] = {}

    def put(self, name: str, row: int, value: Any) -> None:
        """Row `row` of `name` is `value` (a number or nested list), flattened."""
        flat = np.ravel(np.asarray(value, dtype=float))
        if name not in self.data:
            self.data[name], self.shapes[name] = np.empty((self.rows, flat.size)), np.shape(value)
        self.data[name][row] = flat

    def arrays(self, rows: int) -> dict[str, Array]:
        """The first `rows` rows of every array."""
        return {name: a[:rows] for name, a in self.data.items()}


class CopyIndex:
    """Every student's exact answers, indexed so that a submission can be matched against the class. Holds
    arrays of numbers only (no parsed manifest entries), so it is small and cheap to send to other processes."""

    def __init__(self, manifest: Mapping[str, Any]) -> None:
        self.problems = list(manifest["problems"])
        asked = {key: questions.numeric(spec.template, spec.asked) for key, spec in self.specs.items()}
        size = len(manifest["students"])
        rows: dict[str, dict[str, int]] = {key: {} for key in asked}
        lrs: dict[str, list[float | None]] = {key: [] for key in asked}
        given: dict[str, _Block] = {key: _Block(size) for key in asked}
        answers: dict[str, _Block] = {key: _Block(size) for key in asked}
        for sid, student in manifest["students"].items():  # each entry is read once; only its numbers are kept
            for key, record in student["problems"].items():
                if key in asked:
                    row = rows[key][sid] = len(rows[key])
                    lrs[key].append(record.get("network", {}).get("lr"))
                    for k in self.specs[key].template.problem.given:
                        given[key].put(k, row, record["given"][k])
                    for q in asked[key]:
                        answers[key].put(q, row, record["answers"][q])
        self.variants = {key: _Variants(rows[key], given[key].arrays(len(rows[key])), given[key].shapes, lrs[key])
                         for key in asked}
        self.columns: dict[tuple[str, str], _Column] = {}
        self.shapes: dict[tuple[str, str], tuple[int, ...]] = {}
        for key, qs in asked.items():
            students, matrices = list(rows[key]), answers[key].arrays(len(rows[key]))
            for q in qs:
                matrix = matrices.get(q, np.empty((0, 0)))
                order = np.argsort(matrix, axis=0, kind="stable").T
                self.columns[key, q] = _Column(students, matrix, order, np.take_along_axis(matrix.T, order, axis=1))
                if students:
                    self.shapes[key, q] = answers[key].shapes[q]
        self.window = {key: WINDOW_U * unit_roundoff(spec.template.significant) for key, spec in self.specs.items()}
        self._tolerances: dict[tuple[str, str], dict[str, Tolerance]] = {}

    @cached_property
    def specs(self) -> dict[str, ProblemSpec]:
        """The problems by key (rebuilt from the manifest's entries where the index is unpickled)."""
        return {p["key"]: ProblemSpec.from_manifest(p) for p in self.problems}

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the rebuilt problems and the tolerances computed so far."""
        return {k: v for k, v in self.__dict__.items() if k not in ("specs", "_tolerances")} | {"_tolerances": {}}

    def tolerance(self, student: str, key: str) -> dict[str, Tolerance]:
        """A student's tolerances for one problem (computed once, on demand)."""
        if (student, key) not in self._tolerances:
            self._tolerances[student, key] = tolerances(self.specs[key], self.variants[key].record(student))
        return self._tolerances[student, key]

    def _near(self, student: str, key: str, q: str, answer: Array) -> list[tuple[str, Array]]:
        """Classmates whose exact answer to (key, q) is within the screening window of the answer at every
        entry: (student id, the answer reshaped to the quantity's shape)."""
        col = self.columns[key, q]
        fitted, _ = self.specs[key].template.display.canonical(q, answer, self.shapes[key, q])
        if fitted is None:
            return []
        flat = fitted.ravel()
        c = int(np.argmax(np.abs(flat)))
        width = self.window[key] * abs(flat[c]) + 1e-12
        lo, hi = np.searchsorted(col.sorted_values[c], [flat[c] - width, flat[c] + width], side="left")
        rows = col.order[c, lo:hi]
        near = rows[np.all(np.abs(col.rows[rows] - flat) <= width, axis=1)]
        return [(col.students[int(r)], fitted) for r in near if col.students[int(r)] != student]

    def _confirmed(self, sid: str, key: str, q: str, fitted: Array) -> bool:
        """Whether the answer is within student sid's tolerance of sid's exact answer to (key, q)."""
        col = self.columns[key, q]
        exact = col.rows[self.variants[key].row[sid]].reshape(self.shapes[key, q])
        return bool(close(fitted, exact, self.tolerance(sid, key)[q]).all())

    def flags(self, student: str, values: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Flags for one student's submission ({problem: {quantity: JSON-plain value}}): one per problem whose
        answers match another student's variant (and not the student's own) in at least MIN_MATCHES quantities
        and MIN_SHARE of those asked. Each flag: {"kind": "copied_work", "problem", "other" (the classmate's id),
        "quantities" (those that match), "message"}. A shared problem (the same numbers for all) is never flagged."""
        out = []
        for key, answers in values.items():
            spec = self.specs.get(key)
            if spec is None or spec.shared or student not in self.variants[key].row or \
                    not isinstance(answers, Mapping):
                continue
            near: dict[str, list[tuple[str, Array]]] = {}
            asked = questions.numeric(spec.template, spec.asked)
            for q in asked:
                try:
                    answer = to_array(answers[q]) if q in answers else None
                except BadValue:
                    continue
                for other, fitted in self._near(student, key, q, answer) if answer is not None else []:
                    near.setdefault(other, []).append((q, fitted))
            need = min(max(MIN_MATCHES, math.ceil(MIN_SHARE * len(asked))), len(asked))
            for other, screened in sorted(near.items(), key=lambda kv: -len(kv[1])):
                if len(screened) < need:
                    break  # only classmates close in enough quantities are confirmed (and cost a tolerance)
                qs = [q for q, fitted in screened
                      if self._confirmed(other, key, q, fitted) and not self._confirmed(student, key, q, fitted)]
                if len(qs) >= need:
                    out.append({"kind": "copied_work", "problem": key, "other": other, "quantities": qs,
                                "message": f"{len(qs)} of the {len(asked)} answers to {key} match the "
                                           f"numbers of {other}'s variant, not this student's own"})
        return out
