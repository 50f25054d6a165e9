"""`hwgen generate` writers: each student's instructor notebook (source/) and student notebook (release/).

Both come from one instructor notebook per student (StudentWork.shared), written as nbformat.writes would."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...assignment import Assignment, Student
from .build import for_student
from .nbjson import writes
from .preprocess import student_notebook

if TYPE_CHECKING:
    from ...generate import StudentWork


def notebook_path(folder: str, assignment: Assignment, student: Student) -> str:
    """FOLDER/<student id>/<assignment name>/<assignment name>.ipynb, nbgrader's layout with the student first."""
    return f"{folder}/{student.id}/{assignment.name}/{assignment.name}.ipynb"


def source_files(work: StudentWork) -> dict[str, str]:
    """source/<id>/<name>/<name>.ipynb: the instructor notebook, with solutions and hidden tests."""
    return {notebook_path("source", work.assignment, work.student): writes(work.shared(for_student)) + "\n"}


def release_files(work: StudentWork) -> dict[str, str]:
    """release/<id>/<name>/<name>.ipynb: the student notebook, derived from the instructor notebook."""
    nb = student_notebook(work.shared(for_student))
    return {notebook_path("release", work.assignment, work.student): writes(nb) + "\n"}
