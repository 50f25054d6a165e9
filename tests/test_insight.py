"""The instructor's view of fairness features: misconception counts per item and the copied-work column."""

from __future__ import annotations

import csv
import io
import json

import pytest

from hwgen.grade.export import csv_text, rows
from hwgen.grade.gradebook import Gradebook, Submission
from hwgen.grade.insight import misconception_counts
from hwgen.grade.manifest import load_manifest
from hwgen.grade.result import Item
from tests.conftest import run_cli
from tests.gradehelp import manifest


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    """A class folder with manifest.json and a gradebook of three graded students."""
    folder = tmp_path_factory.mktemp("class")
    m = manifest({"p1": "xor_net"}, 4)
    m["assignment"]["name"] = "hw"
    (folder / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    wrong = [("s000", "dW1", "transposed_gradient"), ("s001", "dW1", "transposed_gradient"),
             ("s001", "dZ2", "forgot_activation_derivative"), ("s002", "W1_new", "update_sign")]
    with Gradebook(folder / "gradebook.db") as book:
        for sid in ("s000", "s001", "s002"):
            items = [Item("p1", q, 0.0, 2.0, "wrong", "m", key) for s, q, key in wrong if s == sid]
            items.append(Item("p1", "Z1", 1.0, 1.0, "correct", "ok"))
            copies = [{"problem": "p1", "other": "s003", "quantities": ["Z1", "A1", "Z2"]}] if sid == "s002" else []
            book.record(Submission(sid, "graded", max_score=3.0, flags=["a flag"]), items, {}, copies)
    return folder


def test_misconceptions_are_counted_per_item(klass):
    with Gradebook(klass / "gradebook.db") as book:
        counts = misconception_counts(book)
    assert [(c.problem, c.quantity, c.key, c.students, c.graded) for c in counts][0] == \
        ("p1", "dW1", "transposed_gradient", 2, 3)
    assert {(c.quantity, c.students) for c in counts} == {("dW1", 2), ("dZ2", 1), ("W1_new", 1)}
    result = run_cli("misconceptions", str(klass), "--csv", str(klass / "m.csv"))
    assert result.returncode == 0, result.stderr
    assert "transposed gradient" in result.stdout and "67%" in result.stdout
    table = list(csv.DictReader(io.StringIO((klass / "m.csv").read_text())))
    assert table[0] == {"problem": "p1", "quantity": "dW1", "misconception": "transposed_gradient",
                        "name": "transposed gradient", "students": "2", "graded": "3"}


def test_copied_work_is_a_column_of_the_export(klass):
    class_manifest = load_manifest(klass)
    with Gradebook(klass / "gradebook.db") as book:
        by_id = {r.student: r for r in rows(class_manifest, book)}
        assert by_id["s002"].copied_from == ["s003"] and by_id["s000"].copied_from == []
        for fmt in ("canvas", "moodle"):
            table = list(csv.reader(io.StringIO(csv_text(class_manifest, book, fmt))))
            column = table[0].index("Copied from")
            ids = {r[2 if fmt == "canvas" else 0]: r[column] for r in table[1:]}
            assert ids["s002"] == "s003" and ids["s000"] == "" and ids["s003"] == ""


def test_regrading_replaces_the_copy_flags(tmp_path):
    with Gradebook(tmp_path / "g.db") as book:
        book.record(Submission("a", "graded"), [], {}, [{"problem": "p1", "other": "b", "quantities": ["Z1"]}])
        book.record(Submission("a", "graded"), [], {}, [])
        assert book.copied_from() == {}
