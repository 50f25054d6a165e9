"""`hwgen generate` writers: each student's instructor notebook (source/) and student notebook (release/).

Both come from one instructor notebook per student (StudentWork.shared), written as nbformat.writes would;
cells that are the same for every student of a problem (statements aside: prompts, answers) are
derived and written once per process (nbjson.CellTexts)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from ...assignment import Assignment, Student
from ...variant import Variant
from .build import for_student
from .nbjson import CellTexts
from .preprocess import student_cell, student_notebook

if TYPE_CHECKING:
    from ...generate import StudentWork


def notebook_path(folder: str, assignment: Assignment, student: Student) -> str:
    """FOLDER/<student id>/<assignment name>/<assignment name>.ipynb, nbgrader's layout with the student first."""
    return f"{folder}/{student.id}/{assignment.name}/{assignment.name}.ipynb"


_TEXTS = CellTexts(student_cell)


def notebook_texts(assignment: Assignment, student: Student, variants: Mapping[str, Variant]) -> tuple[str, str]:
    """The .ipynb texts of the student's instructor notebook and of the student notebook derived from it."""
    instructor, release = _TEXTS.both(for_student(assignment, student, variants), student_notebook)
    return instructor + "\n", release + "\n"


def source_files(work: StudentWork) -> dict[str, str]:
    """source/<id>/<name>/<name>.ipynb: the instructor notebook, with solutions and hidden tests."""
    return {notebook_path("source", work.assignment, work.student): work.shared(notebook_texts)[0]}


def release_files(work: StudentWork) -> dict[str, str]:
    """release/<id>/<name>/<name>.ipynb: the student notebook, derived from the instructor notebook."""
    return {notebook_path("release", work.assignment, work.student): work.shared(notebook_texts)[1]}
