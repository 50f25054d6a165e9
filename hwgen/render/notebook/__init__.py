"""nbgrader-format notebooks: the instructor notebook of a student, and the student notebook derived from it."""

from .build import instructor_notebook
from .preprocess import student_notebook

__all__ = ["instructor_notebook", "student_notebook"]
