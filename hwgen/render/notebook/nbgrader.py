"""nbgrader's cell format (metadata schema version 3): cell roles, delimiters and checksums.

Cells are built as plain dicts (nbformat.v4.new_*_cell validates each one, which is most of the cost of a
notebook); the tests validate whole notebooks."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

Role = Literal["answer", "test", "readonly"]

SCHEMA_VERSION = 3
BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"

# Role -> nbgrader's flags, and the Jupyter lock nbgrader's LockCells gives that role.
ROLES: dict[Role, tuple[dict[str, bool], dict[str, bool]]] = {
    "answer": ({"grade": False, "solution": True, "locked": False}, {"deletable": False}),
    "test": ({"grade": True, "solution": False, "locked": True}, {"deletable": False, "editable": False}),
    "readonly": ({"grade": False, "solution": False, "locked": True}, {"deletable": False, "editable": False}),
}


def code_cell(source: str, role: Role, grade_id: str, points: float | None = None, **extra: Any) -> dict:
    """A code cell of one nbgrader role, with its checksum; `points` for test cells; `extra` metadata beside
    nbgrader's."""
    flags, lock = ROLES[role]
    meta = {"grade_id": grade_id, **flags, "schema_version": SCHEMA_VERSION}
    if flags["grade"]:
        meta["points"] = points
    cell: dict[str, Any] = {"cell_type": "code", "id": grade_id, "metadata": {**lock, "nbgrader": meta, **extra},
                            "source": source, "outputs": [], "execution_count": None}
    meta["checksum"], meta["cell_type"] = checksum(cell), "code"
    return cell


def markdown_cell(source: str, cell_id: str) -> dict:
    """A plain markdown cell (not graded) with a stable id."""
    return {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": source}


def flags(cell: dict) -> tuple[bool, bool, bool]:
    """(grade, solution, locked) as nbgrader reads them: a solution is never locked, a grade cell always is."""
    meta = cell["metadata"].get("nbgrader", {})
    grade, solution = bool(meta.get("grade", False)), bool(meta.get("solution", False))
    return grade, solution, (not solution) and (grade or bool(meta.get("locked", False)))


def checksum(cell: dict) -> str:
    """nbgrader's checksum: MD5 of source, cell type, str(grade/solution/locked), grade_id, str(float(points))."""
    grade, solution, locked = flags(cell)
    meta = cell["metadata"]["nbgrader"]
    parts = [cell["source"], cell["cell_type"], str(grade), str(solution), str(locked), meta["grade_id"]]
    if grade:
        parts.append(str(float(meta["points"])))
    return hashlib.md5("".join(parts).encode("utf-8")).hexdigest()
