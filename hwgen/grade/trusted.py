"""The instructor's code cells that every student's notebook holds unchanged (answer stubs and type-and-shape
checks), as the student's notebook has them: rendered from the manifest, never read from a submission.

The sandbox's workers compile these once, before any run, so a child that finds one of them among a notebook's
cells, exactly, need not compile it again (hwgen/grade/worker.py). They hold nothing a student may not see: no
answers, no hidden tests, no student's numbers (only cells that two students' notebooks both hold are kept; the
given-data cells never are).
"""

from __future__ import annotations

from itertools import islice

from ..render.notebook.build import problem_cells
from ..render.notebook.nbgrader import flags
from .manifest import ClassManifest
from .submission import strip_magics


def shared_cells(manifest: ClassManifest) -> tuple[str, ...]:
    """The source of each student-version answer or check cell that the first two students' notebooks both hold
    (the same for every student: it depends on the assignment and the shapes manifest.json fixes), as the grader
    reads it; a class of one student: that student's."""
    cells = [_answer_and_check_cells(manifest, sid) for sid in islice(manifest.students, 2)]
    return tuple(source for source in cells[0] if all(source in other for other in cells[1:])) if cells else ()


def _answer_and_check_cells(manifest: ClassManifest, student: str) -> dict[str, None]:
    """The sources of one student's answer and check cells, student version, in notebook order."""
    record = manifest.students[student]["problems"]
    sources: dict[str, None] = {}
    for index, spec in enumerate(manifest.problems, start=1):
        for _, theirs in problem_cells(index, spec, record[spec.key], manifest.grading):
            grade, solution, _ = flags(theirs.data) if theirs.data["cell_type"] == "code" else (False, False, False)
            if grade or solution:  # a check or an answer stub; never the given-data cell (read-only)
                sources[strip_magics(theirs.data["source"])] = None
    return sources
