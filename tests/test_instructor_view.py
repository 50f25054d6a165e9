"""What the instructor and the students read after grading: the grade command's tables, feedback pages in
the catalogue's words without server paths, export options for non-submitters, Notes cut cleanly, and
cells named as Jupyter shows them."""

from __future__ import annotations

import csv
import io
import json
import re

import numpy as np
import pytest

from hwgen.grade.export import Row
from hwgen.grade.misconceptions import BY_KEY
from hwgen.grade.simulate import Sim, code_cell, release_notebook, submit, text

from .conftest import run_cli
from .grade_support import make_class

ROSTER = [("ana", "Ana"), ("ben", "Ben"), ("cleo", "Cleo"), ("dev", "Dev")]


def _shape_and_crash(sim: Sim) -> str:
    """Exact answers but p1_Z1 flattened (the notebook's own shape check fails) and a cell of the student's own
    that raises, with the execution counts Jupyter saved."""
    answers = sim.exact()
    answers["p1_Z1"] = np.ravel(answers["p1_Z1"]).tolist()
    nb = sim.answered(answers, ("x = 1 / 0",))
    for n, cell in enumerate(c for c in nb["cells"] if c["cell_type"] == "code"):
        cell["execution_count"] = n + 1
    return text(nb)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder, manifest = make_class(tmp_path_factory.mktemp("view"), ROSTER)
    for sid, behaviour in (("ana", "correct"), ("ben", "misconceptions"), ("cleo", _shape_and_crash)):
        submit(folder, manifest, sid, behaviour)
    result = run_cli("grade", str(folder), "--json", str(folder / "out.json"), "--quiet")
    assert result.returncode == 0, result.stderr
    return folder, manifest, json.loads((folder / "out.json").read_text()), result.stdout


def test_grade_ends_with_the_student_table_and_each_items_share_correct(graded):
    folder, manifest, report, stdout = graded
    students, items = stdout.split("\n\n", 1)
    lines = students.splitlines()
    assert lines[0].split()[:4] == ["student", "name", "p1/10", "p2/6"]
    assert [line.split()[0] for line in lines[2:]] == ["ana", "ben", "cleo", "dev"]
    assert lines[2].split()[2:5] == ["10", "6", "16"]
    by_item = {line.split()[0]: line.split() for line in items.splitlines()[2:]}
    assert items.splitlines()[0].split()[-2:] == ["%", "correct"]
    assert list(by_item) == [s.variable(q) for s in manifest.problems for q in s.asked]
    for variable, row in by_item.items():  # 3 graded students (dev handed in nothing)
        p, q = variable.split("_", 1)
        right = sum(1 for sid in report for i in report[sid]["items"]
                    if (i["problem"], i["quantity"]) == (p, q) and i["status"] == "correct")
        assert row[2] == str(right) and row[-1] == f"{right / 3:.0%}"


def test_feedback_names_the_mistake_and_shows_no_server_path(graded):
    folder, manifest, report, _ = graded
    assert run_cli("feedback", str(folder)).returncode == 0
    ben = (folder / "feedback" / "ben.html").read_text()
    keys = {i["misconception"] for i in report["ben"]["items"]} - {None}
    assert keys, "the misconceptions student should have named mistakes"
    for key in keys:
        assert f"Likely mistake: {BY_KEY[key].name}" in ben and key not in ben
    dev = (folder / "feedback" / "dev.html").read_text()
    assert "no submission" in dev and "submitted/" not in dev and str(folder) not in dev
    assert f"{manifest.name}.ipynb" in dev


def test_export_missing_blank_or_zero(graded):
    folder, manifest, report, _ = graded
    for option, cells in (("zero", ["0", "0", "0"]), ("blank", ["", "", ""])):
        out = folder / f"{option}.csv"
        args = ["export", str(folder), "--csv", str(out)] + (["--missing", option] if option == "blank" else [])
        assert run_cli(*args).returncode == 0
        rows = {r[2]: r for r in csv.reader(io.StringIO(out.read_text()))}
        assert rows["dev"][5:9] == [*cells, ""] and "no submission" in rows["dev"][9]  # [8]: Late penalty (none)
        assert rows["ana"][5:8] == ["10", "6", "16"]


def test_notes_name_cells_as_jupyter_shows_them_without_the_shape_checks_text(graded):
    folder, manifest, report, _ = graded
    flags = "; ".join(report["cleo"]["flags"])
    assert "should have shape" not in flags and "AssertionError" not in flags
    nb = release_notebook(folder, manifest, "cleo")
    position = len(nb["cells"]) + 1  # the appended cell, counted among all cells as a student scrolls
    codes = sum(1 for c in nb["cells"] if c["cell_type"] == "code") + 1
    assert f"cell {position} (In [{codes}]: `x = 1 / 0`): line 1: ZeroDivisionError" in flags
    z1 = next(i for i in report["cleo"]["items"] if i["quantity"] == "Z1" and i["problem"] == "p1")
    assert z1["status"] == "invalid" and "shape" in z1["message"]


def test_notes_are_cut_at_a_word_boundary():
    long = ["word" * 3 + " " + "x" * 7] * 60
    notes = Row("s", "", "", {}, None, "graded", long, []).notes
    assert len(notes) <= 500 and notes.endswith("...")
    assert re.fullmatch(r"(wordwordword x{7}; )*wordwordword( x{7})?\.\.\.", notes)
    assert Row("s", "", "", {}, None, "graded", ["short"], []).notes == "short"


def test_a_cell_without_an_execution_count_is_named_by_its_place(tmp_path):
    folder, manifest = make_class(tmp_path, [("eve", "Eve")])
    sim = Sim(manifest, "eve", release_notebook(folder, manifest, "eve"))
    nb = sim.answered(sim.exact(), ("raise ValueError('mine')",))
    nb["cells"].insert(0, {"cell_type": "markdown", "metadata": {}, "source": "my notes"})
    nb["cells"].append(code_cell("y = 2"))
    submit(folder, manifest, "eve", lambda _: text(nb))
    assert run_cli("grade", str(folder), "--quiet").returncode == 0
    report = run_cli("grade", str(folder), "--quiet", "--json", str(tmp_path / "r.json"))
    flags = json.loads((tmp_path / "r.json").read_text())["eve"]["flags"]
    assert report.returncode == 0 and f"cell {len(nb['cells']) - 1} (`raise ValueError('mine')`): line 1: ValueError" in \
        "; ".join(flags)
