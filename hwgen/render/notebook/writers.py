"""`hwgen generate` writers: each student's instructor notebook (source/) and student notebook (release/).

Both come from one set of cells per student (StudentWork.shared): each instructor cell with its student version;
cells that every student of a problem shares (prompts, answers, tests' student versions) are made once per
process (build._shared), and the statement, given and test sources with holes for the numbers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...assignment import Assignment, Student
from .build import texts_for_student

if TYPE_CHECKING:
    from ...generate import StudentWork


def notebook_path(folder: str, assignment: Assignment, student: Student) -> str:
    """FOLDER/<student id>/<assignment name>/<assignment name>.ipynb, nbgrader's layout with the student first."""
    return f"{folder}/{student.id}/{assignment.name}/{assignment.name}.ipynb"


def source_path(assignment: Assignment, student: Student) -> str:
    """source/<id>/<name>/<name>.ipynb."""
    return notebook_path("source", assignment, student)


def source_text(work: StudentWork) -> str:
    """The instructor notebook, with solutions and hidden tests."""
    return work.shared(texts_for_student)[0]


def release_path(assignment: Assignment, student: Student) -> str:
    """release/<id>/<name>/<name>.ipynb."""
    return notebook_path("release", assignment, student)


def release_text(work: StudentWork) -> str:
    """The student notebook, derived from the instructor notebook."""
    return work.shared(texts_for_student)[1]
