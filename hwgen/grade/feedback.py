"""`hwgen feedback`: one self-contained HTML page per graded student, from the gradebook.

Every item with its points, status and message, the student's own value, and the expected value only
when the assignment's grading options say `show_expected: true`. Everything is HTML-escaped.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

from ..notation import description
from ..numfmt import points_text, text_array
from ..render import templates_dir
from .gradebook import Gradebook, Submission
from .manifest import ClassManifest
from .misconceptions import BY_KEY
from .totals import item_override, student_total
from .verdict import NAMED

STATUS_TEXT = {"correct": "correct", "correct_ecf": "correct (carried forward)", "partial": "partly correct",
               "wrong": "wrong", "missing": "missing", "invalid": "cannot be graded"}
FEEDBACK = "feedback"  # the pages' folder in the class folder
SHOWN_ENTRIES = 64  # a student's value longer than this is summarised
_PATH = re.compile(r"(?<![\w.@+-])(?:/|~/)?(?:[\w.@+-]+/){2,}([\w.@+-]+)|(?<![\w.@+-])/(?:[\w.@+-]+/)+([\w.@+-]+)")


def for_students(text: str) -> str:
    """A message or flag as a student may read it: a file path (the grader's folders, the sandbox's) cut to its
    file name; `dL/dW1` or `1/n` (one slash, not a path) stay."""
    return _PATH.sub(lambda m: m.group(1) or m.group(2), text)


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """Jinja2 for templates/html, escaping everything."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(templates_dir() / "html"), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _shown(value: Any, digits: int) -> str:
    """A value as text, numbers rounded to `digits` significant digits."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        text = repr(value)
        return text if len(text) <= 200 else text[:197] + "..."
    if arr.size > SHOWN_ENTRIES:
        return f"an array of shape {arr.shape}"
    return text_array(arr, digits)


def page(manifest: ClassManifest, book: Gradebook, sub: Submission) -> str:
    """The HTML page of one student who has a gradebook entry."""
    student = sub.student
    record = manifest.students.get(student, {})
    show_expected = bool(manifest.grading.get("show_expected", False))
    specs = {spec.key: spec for spec in manifest.problems}
    problems: dict[str, dict[str, Any]] = {}
    graded = list(book.items(student))
    t = student_total(book, student, [item for item, _, _ in graded])
    for item, answer, _ in graded:
        own = item_override(item, t.overrides)
        spec = specs.get(item.problem)
        digits = spec.template.significant if spec else 4
        expected = record.get("problems", {}).get(item.problem, {}).get("answers", {}).get(item.quantity)
        entry = problems.setdefault(item.problem, {
            "key": item.problem, "title": spec.template.title if spec else item.problem,
            "items": [], "score": 0.0, "max": 0.0})
        entry["items"].append({
            "variable": spec.variable(item.quantity) if spec else item.quantity,
            "description": description(spec.template.problem, item.quantity) if spec else "",
            "points": points_text(own.points if own else item.points), "override": own.note() if own else None,
            "max_points": points_text(item.max_points), "status": item.status,
            "status_text": STATUS_TEXT.get(item.status, item.status), "message": for_students(item.message),
            "misconception": BY_KEY[item.misconception].name if item.misconception in BY_KEY else
            NAMED.get(item.misconception or "", (None,))[0],
            "answer": None if answer is None else _shown(answer, max(digits + 2, 6)),
            "expected": _shown(expected, digits) if show_expected and expected is not None else None})
        entry["max"] += item.max_points
    for entry in problems.values():
        entry["score"], entry["max"] = points_text(t.problems.get(entry["key"], 0.0)), points_text(entry["max"])
        entry["override"] = next((o.note() for o in t.overrides if (o.problem, o.quantity) == (entry["key"], "")), None)
    return environment().get_template("feedback.html.j2").render(
        title=manifest.title, course=str(manifest.assignment.get("course") or ""),
        student={"id": student, "name": str(record.get("name") or "")}, graded_at=sub.graded_at,
        score=points_text(t.score), max_score=points_text(sub.max_score), flags=[for_students(f) for f in sub.flags],
        late=t.late.sentence(t.penalty_points) if t.late else None, raw_score=points_text(t.raw),
        penalty=points_text(t.penalty_points) if t.penalty_points else None,
        override=next((o.note() for o in t.overrides if not o.problem), None),
        problems=list(problems.values()))


def write_pages(manifest: ClassManifest, book: Gradebook, out: Path, students: list[str] | None = None) -> list[Path]:
    """One <student id>.html per roster student in the gradebook (or the ones asked for) under `out`."""
    out.mkdir(parents=True, exist_ok=True)
    graded = book.submissions()
    wanted = [s for s in (students if students is not None else manifest.students) if s in graded]
    written = []
    for sid in wanted:
        path = out / f"{sid}.html"
        path.write_text(page(manifest, book, graded[sid]), encoding="utf-8")
        written.append(path)
    return written
