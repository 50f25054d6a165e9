"""Copied work: a submission carrying a classmate's numbers is flagged with that classmate, honest work is not."""

from __future__ import annotations

import numpy as np
import pytest

from hwgen.grade.copies import CopyIndex
from hwgen.numfmt import round_sig
from hwgen.problem import ProblemSpec
from tests.gradehelp import manifest, rounding_student


@pytest.fixture(scope="module")
def klass():
    """A class of 40 with two problems, and its copy index."""
    m = manifest({"p1": "xor_net", "p2": "bce_net"}, 40)
    return m, CopyIndex(m)


def answers_of(m, sid, key, digits=4):
    """A student's own answers to one problem, rounded as a student would write them, laid out as shown."""
    rec = m["students"][sid]["problems"][key]
    spec = ProblemSpec.from_manifest(next(p for p in m["problems"] if p["key"] == key))
    return {q: spec.template.display.value(round_sig(np.asarray(rec["answers"][q]), digits), q).tolist()
            for q in spec.asked}


def test_honest_students_are_not_flagged(klass):
    m, index = klass
    for sid in list(m["students"])[:15]:
        values = {key: answers_of(m, sid, key) for key in ("p1", "p2")}
        assert index.flags(sid, values) == []


def test_carried_slips_are_not_copying(klass):
    m, index = klass
    spec = ProblemSpec.from_manifest(m["problems"][0])
    rec = m["students"]["s003"]["problems"]["p1"]
    student = rounding_student(spec, rec, 4, slips={"Z1": lambda a: a + 0.2})
    assert index.flags("s003", {"p1": {q: student[q].tolist() for q in spec.asked}}) == []


def test_a_copier_is_flagged_with_the_right_classmate(klass):
    m, index = klass
    values = {"p1": answers_of(m, "s017", "p1"), "p2": answers_of(m, "s005", "p2")}
    flags = index.flags("s030", values)
    assert {(f["problem"], f["other"]) for f in flags} == {("p1", "s017"), ("p2", "s005")}
    for f in flags:
        assert f["kind"] == "copied_work" and f["other"] in f["message"] and len(f["quantities"]) >= 8


def test_copying_one_problem_or_part_of_it(klass):
    m, index = klass
    own = answers_of(m, "s011", "p2")
    copied = answers_of(m, "s029", "p1")
    half = {q: v for i, (q, v) in enumerate(copied.items()) if i % 2 == 0} | {
        q: v for i, (q, v) in enumerate(answers_of(m, "s011", "p1").items()) if i % 2 == 1}
    flags = index.flags("s011", {"p1": half, "p2": own})
    assert [(f["problem"], f["other"]) for f in flags] == [("p1", "s029")]
    two = dict(list(answers_of(m, "s011", "p1").items())[2:]) | dict(list(copied.items())[:2])
    assert index.flags("s011", {"p1": two}) == []


def test_own_numbers_shared_with_a_classmate_are_not_flagged():
    """Two students whose variants happen to be the same: right answers match both, but they are their own."""
    m = manifest({"p1": "relu_sigmoid"}, 5)
    m["students"]["s004"]["problems"]["p1"] = m["students"]["s001"]["problems"]["p1"]
    index = CopyIndex(m)
    assert index.flags("s004", {"p1": answers_of(m, "s004", "p1")}) == []
    assert [f["other"] for f in index.flags("s002", {"p1": answers_of(m, "s004", "p1")})] in (["s001", "s004"],
                                                                                            ["s004", "s001"])


def test_bad_values_and_unknowns_are_ignored(klass):
    m, index = klass
    values = {"p1": {"Z1": "abc", "A1": None, "L": float("nan"), "dW1": [[1, 2], [3]]}, "p9": {"Z1": 1.0}}
    assert index.flags("s001", values) == []
    assert index.flags("nobody", {"p1": answers_of(m, "s001", "p1")}) == []


def test_a_query_looks_at_few_classmates(klass, monkeypatch):
    """Honest queries confirm against no classmate's tolerance; a copier's only against the one copied
    (the index narrows by binary search instead of scanning the class)."""
    m, index = klass
    calls = []
    real = index.tolerance
    monkeypatch.setattr(index, "tolerance", lambda s, k: calls.append(s) or real(s, k))
    index.flags("s020", {"p1": answers_of(m, "s020", "p1")})
    assert calls == []
    index.flags("s021", {"p1": answers_of(m, "s022", "p1")})
    assert set(calls) <= {"s021", "s022"}


def test_copied_answers_earn_no_credit_carried_forward(klass):
    """A classmate's answers are consistent with each other, so without the flag most would be correct_ecf."""
    from hwgen.grade.checks import grade_problem

    m, index = klass
    spec = ProblemSpec.from_manifest(m["problems"][1])
    values = answers_of(m, "s008", "p2")
    rec = m["students"]["s009"]["problems"]["p2"]
    assert [f["other"] for f in index.flags("s009", {"p2": values})] == ["s008"]
    lenient = grade_problem(spec, rec, values, {}, {})
    strict = grade_problem(spec, rec, values, {}, {}, copied=True)
    assert sum(i.status == "correct_ecf" for i in lenient) >= 5
    assert not any(i.status == "correct_ecf" for i in strict)
    was_carried = [s for s, le in zip(strict, lenient) if le.status == "correct_ecf"]
    assert all(i.status in ("wrong", "partial") and "another student's numbers" in i.message for i in was_carried)
    assert sum(i.points for i in strict) < sum(i.points for i in lenient)
