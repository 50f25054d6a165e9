"""Notebook transformations in nbgrader's preprocessor style: one small class each, composed into pipelines."""

from __future__ import annotations

from typing import Any, Sequence, TypeVar

from nbformat import NotebookNode

from .nbgrader import BEGIN_HIDDEN_TESTS, BEGIN_SOLUTION, CODE_STUB, END_HIDDEN_TESTS, END_SOLUTION, checksum, flags

Nb = TypeVar("Nb", bound=dict)  # a notebook: a NotebookNode or the plain dict of one


def replace_regions(source: str, begin: str, end: str, stub: str) -> str:
    """Every region from a line containing `begin` to the next containing `end` becomes `stub`, indented alike."""
    out, inside = [], False
    for line in source.split("\n"):
        if begin in line:
            if inside:
                raise ValueError(f"nested {begin!r} in cell:\n{source}")
            inside = True
            indent = line[:len(line) - len(line.lstrip())]
            out += [indent + s for s in stub.split("\n")] if stub else []
        elif end in line:
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{begin!r} without {end!r} in cell:\n{source}")
    return "\n".join(out)


class Preprocessor:
    """Transforms one cell in place; `applies` picks the cells it touches."""

    def applies(self, cell: dict) -> bool:
        """Whether this cell is one to transform."""
        return True

    def preprocess_cell(self, cell: dict) -> None:
        """Transform the cell in place."""
        raise NotImplementedError


class ClearSolutions(Preprocessor):
    """Solution regions of answer cells become `# YOUR CODE HERE` / `raise NotImplementedError()`."""

    def applies(self, cell: dict) -> bool:
        return cell["cell_type"] == "code" and flags(cell)[1]

    def preprocess_cell(self, cell: dict) -> None:
        cell["source"] = replace_regions(cell["source"], BEGIN_SOLUTION, END_SOLUTION, CODE_STUB)


class ClearHiddenTests(Preprocessor):
    """Hidden test regions of test cells are removed."""

    def applies(self, cell: dict) -> bool:
        return flags(cell)[0]

    def preprocess_cell(self, cell: dict) -> None:
        cell["source"] = replace_regions(cell["source"], BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS, "")


class ClearOutputs(Preprocessor):
    """Code cells lose their outputs and execution counts."""

    def applies(self, cell: dict) -> bool:
        return cell["cell_type"] == "code"

    def preprocess_cell(self, cell: dict) -> None:
        cell["outputs"], cell["execution_count"] = [], None


class ComputeChecksums(Preprocessor):
    """nbgrader cells carry the checksum of their current content and their cell type."""

    def applies(self, cell: dict) -> bool:
        return any(flags(cell))

    def preprocess_cell(self, cell: dict) -> None:
        meta = cell["metadata"]["nbgrader"]
        meta["checksum"], meta["cell_type"] = checksum(cell), cell["cell_type"]


def run(nb: Nb, pipeline: Sequence[Preprocessor]) -> Nb:
    """The notebook transformed in place: each preprocessor in turn over every cell it applies to."""
    for pre in pipeline:
        for cell in nb["cells"]:
            if pre.applies(cell):
                pre.preprocess_cell(cell)
    return nb


STUDENT: tuple[Preprocessor, ...] = (ClearSolutions(), ClearHiddenTests(), ClearOutputs(), ComputeChecksums())


def tree_copy(value: Any, mapping: type | None = None) -> Any:
    """A deep copy of notebook data (dicts, NotebookNodes, lists, and immutable leaves): copy.deepcopy's
    result at a fraction of its cost; with mapping=dict, every mapping comes out a plain dict (faster still)."""
    if isinstance(value, dict):
        copied = {k: tree_copy(v, mapping) for k, v in value.items()}
        kind = mapping or value.__class__
        return copied if kind is dict else kind(copied)
    if isinstance(value, list):
        return [tree_copy(v, mapping) for v in value]
    return value


def student_cell(cell: dict) -> dict:
    """One cell as student_notebook makes it (every preprocessor works cell by cell), as plain dicts; the cell
    is left as it is."""
    return run({"cells": [tree_copy(cell, dict)]}, STUDENT)["cells"][0]


def student_notebook(instructor: NotebookNode) -> NotebookNode:
    """The student's notebook derived from the instructor's (left as it is): no solutions, no hidden tests,
    fresh checksums."""
    return run(tree_copy(instructor), STUDENT)
