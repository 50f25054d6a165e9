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
from typing import Any, Mapping

import numpy as np

from ..problem import ProblemSpec
from .tolerance import Tolerance, close, tolerances, unit_roundoff
from .values import BadValue, conform, to_array

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


class CopyIndex:
    """Every student's exact answers, indexed so that a submission can be matched against the class."""

    def __init__(self, manifest: Mapping[str, Any]) -> None:
        self.specs = {p["key"]: ProblemSpec.from_manifest(p) for p in manifest["problems"]}
        self.records = {sid: s["problems"] for sid, s in manifest["students"].items()}
        self.columns: dict[tuple[str, str], _Column] = {}
        for key, spec in self.specs.items():
            students = [sid for sid, problems in self.records.items() if key in problems]
            for q in spec.asked:
                rows = np.array([np.ravel(self.records[s][key]["answers"][q]) for s in students], dtype=float)
                rows = rows.reshape(len(students), -1)
                order = np.argsort(rows, axis=0, kind="stable").T
                self.columns[key, q] = _Column(students, rows, order, np.take_along_axis(rows.T, order, axis=1))
        self.shapes = {(key, q): np.shape(self.records[self.columns[key, q].students[0]][key]["answers"][q])
                       for key, q in self.columns if self.columns[key, q].students}
        self.window = {key: WINDOW_U * unit_roundoff(spec.template.significant) for key, spec in self.specs.items()}
        self._tolerances: dict[tuple[str, str], dict[str, Tolerance]] = {}

    def tolerance(self, student: str, key: str) -> dict[str, Tolerance]:
        """A student's tolerances for one problem (computed once, on demand)."""
        if (student, key) not in self._tolerances:
            self._tolerances[student, key] = tolerances(self.specs[key], self.records[student][key])
        return self._tolerances[student, key]

    def _near(self, student: str, key: str, q: str, answer: Array) -> list[tuple[str, Array]]:
        """Classmates whose exact answer to (key, q) is within the screening window of the answer at every
        entry: (student id, the answer reshaped to the quantity's shape)."""
        col = self.columns[key, q]
        fitted = conform(answer, self.shapes[key, q])
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
        exact = np.asarray(self.records[sid][key]["answers"][q], dtype=float)
        return bool(close(fitted, exact, self.tolerance(sid, key)[q]).all())

    def flags(self, student: str, values: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Flags for one student's submission ({problem: {quantity: JSON-plain value}}): one per problem whose
        answers match another student's variant (and not the student's own) in at least MIN_MATCHES quantities
        and MIN_SHARE of those asked. Each flag: {"kind": "copied_work", "problem", "other" (the classmate's id),
        "quantities" (those that match), "message"}."""
        out = []
        for key, answers in values.items():
            spec = self.specs.get(key)
            if spec is None or key not in self.records.get(student, {}) or not isinstance(answers, Mapping):
                continue
            near: dict[str, list[tuple[str, Array]]] = {}
            for q in spec.asked:
                try:
                    answer = to_array(answers[q]) if q in answers else None
                except BadValue:
                    continue
                for other, fitted in self._near(student, key, q, answer) if answer is not None else []:
                    near.setdefault(other, []).append((q, fitted))
            need = min(max(MIN_MATCHES, math.ceil(MIN_SHARE * len(spec.asked))), len(spec.asked))
            for other, screened in sorted(near.items(), key=lambda kv: -len(kv[1])):
                if len(screened) < need:
                    break  # only classmates close in enough quantities are confirmed (and cost a tolerance)
                qs = [q for q, fitted in screened
                      if self._confirmed(other, key, q, fitted) and not self._confirmed(student, key, q, fitted)]
                if len(qs) >= need:
                    out.append({"kind": "copied_work", "problem": key, "other": other, "quantities": qs,
                                "message": f"{len(qs)} of the {len(spec.asked)} answers to {key} match the "
                                           f"numbers of {other}'s variant, not this student's own"})
        return out
