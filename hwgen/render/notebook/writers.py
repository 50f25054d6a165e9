"""`hwgen generate` writers: each student's instructor notebook (source/) and student notebook (release/)."""

from __future__ import annotations

from typing import Mapping

import nbformat

from ...assignment import Assignment, Student
from ...variant import Variant
from .build import for_student
from .preprocess import student_notebook


def notebook_path(folder: str, assignment: Assignment, student: Student) -> str:
    """FOLDER/<student id>/<assignment name>/<assignment name>.ipynb, nbgrader's layout with the student first."""
    return f"{folder}/{student.id}/{assignment.name}/{assignment.name}.ipynb"


def _text(nb: nbformat.NotebookNode) -> str:
    """The .ipynb text (validated as nbformat writes it), ending in a newline."""
    return nbformat.writes(nb) + "\n"


def source_files(assignment: Assignment, student: Student, variants: Mapping[str, Variant]) -> dict[str, str]:
    """source/<id>/<name>/<name>.ipynb: the instructor notebook, with solutions and hidden tests."""
    return {notebook_path("source", assignment, student): _text(for_student(assignment, student, variants))}


def release_files(assignment: Assignment, student: Student, variants: Mapping[str, Variant]) -> dict[str, str]:
    """release/<id>/<name>/<name>.ipynb: the student notebook, derived from the instructor notebook."""
    nb = student_notebook(for_student(assignment, student, variants))
    return {notebook_path("release", assignment, student): _text(nb)}
