"""Real nbgrader on one student's notebooks: generate_assignment from hwgen's instructor notebook, autograde."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from hwgen.numfmt import round_sig
from hwgen.render.notebook import instructor_notebook, student_notebook

from .notebook_support import ASSIGNMENT, fill, key_values, read, student_problems

NAME = "hw3"
WRONG = ("p1_dW1", "p2_L")


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """Run nbgrader in the course; its bin/ on PATH, since nbgrader shells out to `alembic`."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               JUPYTER_CONFIG_DIR=str(course / ".jupyter"))
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """An nbgrader course whose source is one student's instructor notebook; two submissions autograded."""
    root = tmp_path_factory.mktemp("course")
    (root / "nbgrader_config.py").write_text(f"c = get_config()\nc.CourseDirectory.root = {str(root)!r}\n")
    problems = student_problems([("xor_net", {}), ("relu_sigmoid", {"asked": ["Z1", "A1", "L", "dZ1", "dW1"]})], "ada")
    inst = instructor_notebook(problems, ASSIGNMENT, student="ada")
    (root / "source" / NAME).mkdir(parents=True)
    nbformat.write(inst, root / "source" / NAME / f"{NAME}.ipynb")
    generated = nbgrader(root, "generate_assignment", NAME, "--force")
    stud = student_notebook(inst)
    digits = {spec.variable(q): spec.template.significant for spec, _ in problems for q in spec.asked}
    typed = {k: round_sig(v, digits[k]) for k, v in key_values(problems).items()}
    wrong = typed | {k: typed[k] * 1.3 + 0.1 for k in WRONG}
    for student, values in (("good", typed), ("two_wrong", wrong)):
        (root / "submitted" / student / NAME).mkdir(parents=True)
        nbformat.write(fill(stud, values), root / "submitted" / student / NAME / f"{NAME}.ipynb")
    graded = nbgrader(root, "autograde", NAME, "--create")
    return {"root": root, "problems": problems, "student": stud, "log": generated.stderr + graded.stderr}


def _scores(root: Path, student: str) -> tuple[float, float, dict[str, float]]:
    """(score, max score, {failed test: points lost}) of one submission in nbgrader's gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        sub = gb.find_submission(NAME, student)
        lost = {g.name: g.max_score - g.score for nb in sub.notebooks for g in nb.grades if g.score != g.max_score}
        return sub.score, sub.max_score, lost


def test_nbgraders_release_is_hwgens_student_notebook(course):
    release = read(course["root"] / "release" / NAME / f"{NAME}.ipynb")
    ours = course["student"]
    assert [c.id for c in release.cells] == [c.id for c in ours.cells]
    for theirs, mine in zip(release.cells, ours.cells):
        assert (theirs.cell_type, theirs.source, theirs.metadata) == (mine.cell_type, mine.source, mine.metadata)


def test_autograde_gives_full_marks_to_the_keys_values(course):
    score, max_score, lost = _scores(course["root"], "good")
    points = sum(spec.points for spec, _ in course["problems"])
    assert max_score == points and score == points and lost == {}


def test_autograde_takes_exactly_the_points_of_two_wrong_answers(course):
    score, max_score, lost = _scores(course["root"], "two_wrong")
    asked = {spec.variable(q): p for spec, _ in course["problems"] for q, p in spec.asked.items()}
    assert lost == {f"test_{k}": asked[k] for k in WRONG}
    assert score == max_score - asked["p1_dW1"] - asked["p2_L"]


def test_nbgrader_finds_every_cell_and_only_the_hidden_tests_changed(course):
    log = course["log"]
    assert "ERROR" not in log and "does not exist in the database" not in log
    changed = {line.split(" for cell ")[1].split()[0] for line in log.splitlines() if "has changed" in line}
    assert all("Attribute 'checksum'" in line for line in log.splitlines() if "has changed" in line)
    # nbgrader checksums a test cell with its hidden tests at generate time and without them in the release,
    # so autograde reports exactly the test cells; the given data and the answers are unchanged
    assert changed == {c.id for c in course["student"].cells if c.metadata.get("nbgrader", {}).get("grade")}
