"""Helpers for the notebook tests: a student's problems, filling answer cells, running notebooks."""

from __future__ import annotations

import copy
from typing import Any, Mapping

import nbformat
import numpy as np
from nbformat import NotebookNode

from hwgen import bank
from hwgen.problem import ProblemSpec, apply_overrides
from hwgen.sampling import derive_seed, sample

ASSIGNMENT = {"title": "Homework 3: backpropagation", "course": "CS 4780", "due": "2026-12-01"}


def student_problems(problems: list[tuple[str, dict]], student: str, seed: int = 2026) -> list[tuple[ProblemSpec, dict]]:
    """(ProblemSpec, manifest problem record) pairs of one student, for (template name, overrides) pairs."""
    out = []
    for index, (name, overrides) in enumerate(problems, start=1):
        template = apply_overrides(bank.load(name), overrides)
        spec = ProblemSpec(f"p{index}", template, dict(template.asked), overrides)
        record = sample(template, derive_seed(seed, student, spec.key)).to_json() | {"key": spec.key}
        out.append((spec, record))
    return out


def key_values(problems: list[tuple[ProblemSpec, dict]]) -> dict[str, np.ndarray]:
    """Answer variable -> the key's value laid out as the problem shows it, for every asked quantity."""
    return shown(problems, {spec.variable(q): record["answers"][q] for spec, record in problems for q in spec.asked})


def shown(problems: list[tuple[ProblemSpec, dict]], values: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Canonical values by answer variable, laid out as their problems show them (what a student types)."""
    display = {spec.variable(q): (spec.template.display, q) for spec, _ in problems for q in spec.asked}
    return {v: display[v][0].value(a, display[v][1]) if v in display else a for v, a in values.items()}


def answer_cells(nb: NotebookNode) -> dict[str, NotebookNode]:
    """Answer variable -> its answer cell, found through metadata.hwgen."""
    return {c.metadata.hwgen["variable"]: c for c in nb.cells if "hwgen" in c.metadata}


def fill(nb: NotebookNode, values: Mapping[str, Any]) -> NotebookNode:
    """A copy with the answer cells of these variables assigning these values, as a student types them."""
    nb = copy.deepcopy(nb)
    for variable, cell in answer_cells(nb).items():
        if variable in values:
            cell.source = f"{variable} = np.array({np.asarray(values[variable]).tolist()!r})"
    return nb


def restore_tests(submission: NotebookNode, instructor: NotebookNode) -> NotebookNode:
    """What nbgrader's autograde does first: test and read-only cells get the instructor's source back."""
    nb = copy.deepcopy(submission)
    source = {c.metadata.nbgrader["grade_id"]: c.source for c in instructor.cells if "nbgrader" in c.metadata}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("locked") or meta.get("grade"):
            cell.source = source[meta["grade_id"]]
    return nb


def run_test_cells(nb: NotebookNode, values: Mapping[str, Any]) -> dict[str, str | None]:
    """Run every test cell's source in-process on these answers: test cell id -> error name, or None if it passed."""
    out = {}
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            namespace = dict(values)
            try:
                exec(cell.source, namespace)
                out[cell.id] = None
            except Exception as exc:  # noqa: BLE001 - any failure of a test cell is what nbgrader counts
                out[cell.id] = type(exc).__name__
    return out


def execute(nb: NotebookNode) -> NotebookNode:
    """Run a copy of the notebook top to bottom in a real Jupyter kernel, going on after errors."""
    from nbclient import NotebookClient

    nb = copy.deepcopy(nb)
    # "immediate": a graceful shutdown sometimes waits ~3.5 s for the kernel process to exit; the run is over anyway
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True, shutdown_kernel="immediate").execute()
    return nb


def failures(nb: NotebookNode) -> dict[str, str]:
    """Cell id -> error name (or 'stderr') for every code cell that failed, as nbgrader counts failures."""
    out = {}
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.output_type == "error":
                out[cell.id] = o.ename
            elif o.output_type == "stream" and o.name == "stderr":
                out.setdefault(cell.id, "stderr")
    return out


def read(path) -> NotebookNode:
    """A notebook file, as nbformat v4."""
    return nbformat.read(str(path), as_version=4)
