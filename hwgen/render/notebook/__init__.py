"""nbgrader-format notebooks: the instructor notebook of a student, and the student notebook derived from it."""

from .build import instructor_notebook, provisional_tolerance, record_trace
from .preprocess import student_notebook

__all__ = ["instructor_notebook", "provisional_tolerance", "record_trace", "student_notebook"]
