"""`hwgen demo`: a small class from start to finish in a few seconds, with no TeX needed.

A built-in roster of simulated students (`STUDENTS`: each a behaviour from hwgen.grade.simulate),
`hwgen generate` into a fresh folder, their submissions, `hwgen grade`, and the gradebook as a table.
To add a kind of student, add a behaviour to simulate.BEHAVIOURS and a row here.
"""

from __future__ import annotations

import csv
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from ..assignment import load_assignment, load_roster
from ..errors import HwgenError
from ..generate import generate
from ..grade import insight
from ..grade.batch import GradeOptions, grade_class
from ..grade.export import table_text
from ..grade.feedback import write_pages
from ..grade.gradebook import GRADEBOOK, Gradebook
from ..grade.manifest import load_manifest
from ..grade.sandbox import Limits
from ..grade.simulate import submit

MARKER = ".hwgen-demo"


@dataclass(frozen=True)
class DemoStudent:
    """One simulated student of the demo roster."""

    id: str
    name: str
    behaviour: str  # a key of hwgen.grade.simulate.BEHAVIOURS
    about: str  # what this student does, as the demo explains it


STUDENTS: tuple[DemoStudent, ...] = (
    DemoStudent("ada", "Ada Lovelace", "correct", "computes every answer with NumPy"),
    DemoStudent("blaise", "Blaise Pascal", "rounded", "works by hand, rounding every step to the digits asked"),
    DemoStudent("carl", "Carl Gauss", "one_wrong", "forgets the 1/2 in problem 1's loss"),
    DemoStudent("dora", "Dora Blank", "blank", "hands the notebook back unanswered"),
    DemoStudent("emmy", "Emmy Noether", "broken", "uploads a damaged .ipynb file"),
    DemoStudent("mallory", "Mallory Hack", "allclose_attack", "answers 0 everywhere and patches np.allclose to say True"),
    DemoStudent("kurt", "Kurt Absent", "absent", "submits nothing"),
    DemoStudent("pierre", "Pierre Fermat", "rounded_3", "works by hand keeping 3 significant digits (grading accepts 3)"),
    DemoStudent("sophie", "Sophie Germain", "slip", "miscopies one entry of Z1, then works on consistently from it"),
    DemoStudent("leon", "Leon Hasty", "misconceptions",
                "transposes dW1 in problem 1; uses the squared-error derivative in problem 2's BCE net"),
    DemoStudent("copy", "Copy Cat", "copier", "hands in Ada's numbers instead of working on their own"),
)


def _fresh(out: Path) -> None:
    """An empty `out`: an earlier demo there is replaced; anything else there is left alone."""
    if out.exists() and not (out / MARKER).is_file() and (not out.is_dir() or any(out.iterdir())):
        raise HwgenError(f"{out} exists and was not made by `hwgen demo`\n  fix: choose another folder with --out")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MARKER).write_text("made by `hwgen demo`; deleted by the next `hwgen demo` here\n", encoding="utf-8")


def run_demo(out: Path, jobs: int = 0, progress: bool = True) -> str:
    """Build, submit and grade the demo class in `out`; the text to print."""
    _fresh(out)
    (out / "assignment.yaml").write_text((Path(__file__).parent / "assignment.yaml").read_text(encoding="utf-8"),
                                         encoding="utf-8")
    with (out / "roster.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student_id", "name", "email"])
        writer.writerows([s.id, s.name, f"{s.id}@example.edu"] for s in STUDENTS)
    folder = out / "class"
    generate(load_assignment(out / "assignment.yaml"), load_roster(out / "roster.csv"), folder, progress=False)
    manifest = load_manifest(folder)
    for student in STUDENTS:
        submit(folder, manifest, student.id, student.behaviour)
    summary = grade_class(folder, GradeOptions(jobs=jobs, limits=Limits(wall=5.0, cpu=5.0), progress=progress))
    with Gradebook(folder / GRADEBOOK) as book:
        table = table_text(manifest, book, {s.id: s.about for s in STUDENTS}) + "\n" + insight.items_text(manifest, book)
        mistakes = insight.table_text(insight.misconception_counts(book))
        pages = write_pages(manifest, book, folder / "feedback")
    return (f"\n{table}\n{summary.line()}, isolation: {summary.isolation}\n\n"
            f"Known mistakes found (hwgen misconceptions {folder}):\n{mistakes}\n"
            f"Everything is in {out}/: assignment.yaml and roster.csv (the inputs), class/ (worksheets/ and "
            f"keys/ in LaTeX, release/ and source/ notebooks, manifest.json, submitted/, gradebook.db), "
            f"and {len(pages)} feedback pages in {folder / 'feedback'}/.\n"
            f"Next: hwgen feedback {folder}   hwgen export {folder} --csv grades.csv   "
            f"hwgen grade {folder} --json report.json\n")


def main(out: Path, jobs: int = 0) -> int:
    """Run the demo and print the gradebook."""
    sys.stdout.write(run_demo(out, jobs, progress=sys.stderr.isatty()))
    return 0
