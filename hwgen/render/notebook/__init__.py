"""nbgrader-format notebooks: the instructor notebook of a student, and the student notebook derived from it."""

from .build import for_student, instructor_notebook
from .preprocess import student_notebook

__all__ = ["for_student", "instructor_notebook", "student_notebook"]
