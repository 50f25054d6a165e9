"""Grading a chunk of students in any process: one of this machine's grading processes or a Dask worker.

`grade_chunk(context, tasks)` is the whole of the work on one student but writing it down: the notebook's
code runs in this process's sandbox (`process_sandbox`: bubblewrap on the machine the process runs on,
started on first use and kept for later chunks), the plain values that come back are checked here, in a
trusted process (`check_student`: the checks and copied-work flags), and plain, picklable results go back.
Only the one client process (hwgen/grade/batch.py) reads the class folder and writes the gradebook.

A `Task` carries one student's code cells and manifest entry; the `ClassContext`, sent once to each
process, the problems, grading options, sandbox limits and the class's copy index (numbers only). The
sandbox runs the chunk's notebooks one after another on a helper thread while this thread checks those
that are done, so the sandbox and the checks work at the same time.
"""

from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Mapping

import numpy as np

from ..problem import ProblemSpec
from .checks import grade_problem
from .copies import CopyIndex
from .result import Item
from .sandbox import Limits, Run, Sandbox
from .values import BadValue, to_array


@dataclass
class ClassContext:
    """What every grading process needs to know about the class (sent once to each)."""

    grading: dict[str, Any]
    copies: CopyIndex  # also holds the manifest's problem entries
    limits: Limits
    isolation: str  # auto, bwrap, unshare or none
    hidden: tuple[str, ...] = ()  # folders the sandbox must not show (the class folder, the submissions)
    trusted: tuple[str, ...] = ()  # the instructor's cells every notebook holds, for the workers (grade/trusted.py)

    @cached_property
    def specs(self) -> list[ProblemSpec]:
        """The problems, as the copy index rebuilt them from the same entries (in each process that uses them)."""
        return list(self.copies.specs.values())

    @cached_property
    def names(self) -> list[str]:
        """Every answer variable (p1_Z1, ...), in assignment order, then every given one (p1_X, ..., p1_lr)."""
        return [spec.variable(q) for spec in self.specs for q in spec.asked] + \
            [spec.variable(k) for spec in self.specs for k in givens(spec)]

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without what is rebuilt where it is used."""
        return {k: v for k, v in self.__dict__.items() if k not in ("specs", "names")}


@dataclass
class Task:
    """One student to grade: their manifest entry's problems and their notebook's code cells."""

    student: str
    record: dict[str, Any]
    cells: list[str]


@dataclass
class Graded:
    """One student graded: items, the values read by (problem, quantity), copied-work flags, the run (its
    values cleared), and the isolation the sandbox used."""

    student: str
    items: list[Item]
    answers: dict[tuple[str, str], Any]
    copies: list[dict[str, Any]]
    run: Run
    isolation: str
    fallbacks: list[str] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)  # numbers_changed flags (changed_givens)


def check_student(context: ClassContext, student: str, record: Mapping[str, Any], values: Mapping[str, Any],
                  reasons: Mapping[str, str]) -> tuple[list[Item], dict[tuple[str, str], Any], list[dict[str, Any]],
                                                       list[dict[str, Any]]]:
    """The trusted checks of one student's plain values (by variable) -> items, the values by (problem,
    quantity), copied-work flags (a flagged problem carries no error forward) and numbers_changed flags (a
    notebook whose given numbers are not the student's: no mistake is named from answers to other numbers)."""
    by_problem = {spec.key: {q: values[spec.variable(q)] for q in spec.asked if spec.variable(q) in values}
                  for spec in context.specs}
    arrays = {key: {q: _read(v) for q, v in mine.items()} for key, mine in by_problem.items()}  # read once
    copies = context.copies.flags(student, arrays)
    copied = {c["problem"] for c in copies}
    changed = [flag for spec in context.specs if (flag := changed_givens(spec, record[spec.key], values))]
    items: list[Item] = []
    for spec in context.specs:
        errors = {q: reasons[spec.variable(q)] for q in spec.asked if spec.variable(q) in reasons}
        flag = next((c for c in changed if c["problem"] == spec.key), None)
        grading = context.grading | ({"misconceptions": False} if flag else {})
        mine = grade_problem(spec, record[spec.key], arrays[spec.key], errors, grading, copied=spec.key in copied)
        items += [_noted(item, flag) if flag and item.status not in ("correct", "missing") else item for item in mine]
    answers = {(key, q): v for key, mine in by_problem.items() for q, v in mine.items()}
    return items, answers, copies, changed


def givens(spec: ProblemSpec) -> tuple[str, ...]:
    """The numbers a notebook's given cell defines for a problem (pK_X, ..., pK_lr, without the pK_)."""
    return (*spec.template.problem.given, *(("lr",) if spec.template.network else ()))


def changed_givens(spec: ProblemSpec, record: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any] | None:
    """A numbers_changed flag if the notebook's given numbers of this problem (as they were at the end of the run)
    are not the student's in the manifest: a notebook from before `hwgen generate --force` drew new numbers, or
    numbers edited by hand. A given variable the notebook does not define is no evidence; either orientation of an
    array counts as the same numbers."""
    mine = {k: record["given"][k] for k in spec.template.problem.given} | (
        {"lr": record["network"]["lr"]} if spec.template.network else {})
    changed = [spec.variable(k) for k in givens(spec)
               if spec.variable(k) in values and not _same(values[spec.variable(k)], mine[k])]
    if not changed:
        return None
    names = ", ".join(changed)
    return {"kind": "numbers_changed", "problem": spec.key, "variables": changed,
            "message": f"{spec.key}: the notebook's given numbers ({names}) are not the ones this student was "
                       f"assigned (a notebook from before the numbers were generated again, or edited numbers); "
                       "its answers were checked against the assigned numbers and no mistake was named from them"}


def _same(value: Any, expected: Any) -> bool:
    """Whether a notebook's value holds the expected numbers (in either orientation, size-1 axes aside)."""
    try:
        got = np.squeeze(to_array(value))
    except BadValue:
        return False
    want = np.squeeze(np.asarray(expected, dtype=float))
    forms = [form for form in (got, got.T) if form.shape == want.shape]
    return any(bool((form == want).all()) for form in forms) or any(  # the very same floats: the usual case, cheaply
        np.allclose(form, want, rtol=1e-9, atol=1e-12) for form in forms)


def _noted(item: Item, flag: Mapping[str, Any]) -> Item:
    """An item of a problem whose given numbers changed, its message saying so first."""
    note = (f"Your notebook's given numbers ({', '.join(flag['variables'])}) are not the ones you were assigned: "
            "download your notebook again and redo this problem with your own numbers. ")
    return replace(item, message=note + item.message)


def _read(value: Any) -> Any:
    """The value as a float array if it is one (to_array), else as it came (its checks say what is wrong)."""
    try:
        return to_array(value)
    except BadValue:
        return value


_SANDBOXES: dict[tuple, tuple[Sandbox, ThreadPoolExecutor]] = {}
_LOCK = threading.Lock()


def _threads() -> int:
    """How many chunks this process may grade at once: a Dask worker's threads, else one."""
    if "distributed" not in sys.modules:
        return 1
    try:
        from distributed import get_worker

        return max(1, int(get_worker().state.nthreads))
    except (ValueError, AttributeError):
        return 1


def process_sandbox(context: ClassContext) -> tuple[Sandbox, ThreadPoolExecutor]:
    """This process's sandbox for the context's limits and isolation (started on first use), and the threads
    that drive it: one per chunk this process may grade at once."""
    key = (os.getpid(), context.limits, context.isolation, context.hidden)
    with _LOCK:
        if key not in _SANDBOXES:
            threads = _threads()
            _SANDBOXES[key] = (Sandbox(threads, context.limits, context.hidden, context.isolation, context.trusted),
                               ThreadPoolExecutor(threads, thread_name_prefix="hwgen-runs"))
        return _SANDBOXES[key]


def close_sandboxes() -> None:
    """Stop this process's sandboxes (at the end of a batch)."""
    with _LOCK:
        mine = [value for key, value in _SANDBOXES.items() if key[0] == os.getpid()]
        _SANDBOXES.clear()
    for sandbox, runner in mine:
        runner.shutdown()
        sandbox.close()


def grade_chunk(context: ClassContext, tasks: list[Task]) -> list[Graded]:
    """Run, check and report every task of a chunk (in this process: its sandbox and its checks)."""
    sandbox, runner = process_sandbox(context)
    runs = [runner.submit(sandbox.run, task.cells, context.names) for task in tasks]
    out = []
    for task, future in zip(tasks, runs):
        run = future.result()
        items, answers, copies, changed = check_student(context, task.student, task.record, run.values, run.reasons)
        run.values = {}
        out.append(Graded(task.student, items, answers, copies, run, sandbox.level, list(sandbox.fallbacks), changed))
    return out
