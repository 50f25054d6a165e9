"""The fast paths of `hwgen generate` give what the straightforward code gives: notebook texts that read back as
the notebooks (and validate), tree_copy equal to copy.deepcopy, rounding bounds (one batched call of each step
per input) equal to one evaluate() call per moved entry up to float noise, and tolerance pairs to the last bit
(the straightforward code is kept here as the reference)."""

from __future__ import annotations

import copy

import nbformat
import numpy as np
import pytest

from hwgen.assignment import Student
from hwgen.engine import Step, evaluate
from hwgen.render.notebook import for_student, ipynb, student_notebook
from hwgen.render.notebook.preprocess import tree_copy
from hwgen.rounding import ATOL_FLOOR, PAIRS, RTOL_FLOOR, SAFETY, as_tolerance, as_tolerances, rounding_bounds

from .gradehelp import TEMPLATES, problem, record, rounding_student
from .test_generate import (
    EXAMPLE,  # noqa: F401  (the README's assignment, used through `inputs`)
    inputs,  # noqa: F401  (module-scoped fixture: the assignment and four students)
)


def _reference_propagated(step: Step, values, bounds):
    """The tolerance walk's straightforward form: each moved entry in its own evaluate call, summed one by one."""
    base = evaluate(step, values)
    total = np.zeros_like(base)
    for name in dict.fromkeys(step.inputs):
        x, e = np.asarray(values[name], dtype=float), bounds[name]
        moved = dict(values)
        for idx in zip(*np.nonzero(np.atleast_1d(e))):
            idx = idx if x.ndim else ()
            shifted = x.copy()
            shifted[idx] += e[idx]
            moved[name] = shifted
            change = np.abs(evaluate(step, moved) - base)
            total += np.where(np.isfinite(change), change, 0.0)
    return base, total


def _reference_as_tolerance(expected, bound):
    """as_tolerance's straightforward form: every ordered pair, np.unique."""
    b, e = np.abs(np.ravel(expected)), SAFETY * np.ravel(bound)
    keep = e > 0
    if not keep.any() or not np.all(np.isfinite(e)) or not np.all(np.isfinite(b)):
        return RTOL_FLOOR, ATOL_FLOOR * max(1.0, float(b.max(initial=0.0)))
    if b.size == 1:
        return (max(float(e[0] / b[0]), RTOL_FLOOR), ATOL_FLOOR * max(1.0, float(b[0]))) if b[0] > 0 else \
            (RTOL_FLOOR, float(e[0]))
    candidates = [[0.0], e[keep & (b > 0)] / b[keep & (b > 0)]]
    if b.size <= PAIRS:
        crossing = ((e[:, None] - e[None, :]) / (b[:, None] - b[None, :])).ravel()
        candidates.append(crossing[np.isfinite(crossing) & (crossing > 0)])
    candidates = np.unique(np.concatenate(candidates))
    atols = np.max(e[None, :] - candidates[:, None] * b[None, :], axis=1).clip(min=0.0)
    slack = np.max((atols[:, None] + candidates[:, None] * b[None, keep]) / e[None, keep], axis=1)
    best = int(np.argmin(slack))
    return (max(float(candidates[best]), RTOL_FLOOR),
            max(float(atols[best]), ATOL_FLOOR * max(1.0, float(b.max(initial=0.0)))))


@pytest.mark.parametrize("name", TEMPLATES)
def test_batched_bounds_are_the_straightforward_ones_and_pairs_to_the_last_bit(name, monkeypatch):
    spec = problem(name)
    cases = []
    for seed in range(6):
        rec = record(spec, seed)
        student = rounding_student(spec, rec, 2)  # a student's own values, carried forward (the ECF walk)
        wild = dict(student, dZ2=student["dZ2"] * np.array(np.inf), Yhat=np.full_like(student["Yhat"], 1.0))
        cases += [(student, ()), (student, spec.asked), (wild, spec.asked)]
    from hwgen import rounding
    for values, fresh in cases:
        for digits in (2, 4):
            fast = rounding_bounds(spec.template.problem, values, digits, fresh)
            with monkeypatch.context() as m:
                m.setattr(rounding, "_propagated", _reference_propagated)
                with np.errstate(all="ignore"):
                    slow = rounding_bounds(spec.template.problem, values, digits, fresh)
            for q in slow:
                np.testing.assert_allclose(fast[q], slow[q], rtol=1e-12, atol=0, err_msg=f"{name} {q} {digits}")
                with np.errstate(all="ignore"):
                    assert as_tolerance(values[q], fast[q]) == _reference_as_tolerance(values[q], fast[q])
    rng = np.random.default_rng(7)  # ties, zeros, repeated entries and no bound as well
    batch = []
    for shape in [(), (1,), (2,), (3, 2), (4, 4), (9, 9), (0,)]:
        for _ in range(20):
            expected = rng.choice([0.0, 0.5, -0.5, 1.25, 3.0], shape) * rng.choice([1.0, 1e-3], shape)
            bound = rng.choice([0.0, 1e-4, 2e-4, 5e-3, 5e-3, np.nan, np.inf], shape, p=[.2, .2, .2, .2, .16, .02, .02])
            with np.errstate(all="ignore"):
                assert as_tolerance(expected, bound) == _reference_as_tolerance(expected, bound)
            batch.append((expected, bound))
    rng.shuffle(batch)  # quantities of every size mixed in one call
    with np.errstate(all="ignore"):
        assert as_tolerances(batch) == [_reference_as_tolerance(expected, bound) for expected, bound in batch]


def test_notebook_texts_read_back_as_the_notebooks_and_validate(inputs):  # noqa: F811
    assignment, students, _ = inputs
    from hwgen import generate as gen
    from hwgen.render.notebook.build import texts_for_student
    from hwgen.sampling import sample
    for student in [*students, Student("x", 'Quote " and \\ back\tslash \u2028 \x7f', "")]:
        variants = {p.key: sample(p.template, gen.problem_seed(assignment, student, p.key)) for p in assignment.problems}
        inst = for_student(assignment, student, variants)
        texts = texts_for_student(assignment, student, variants)  # the cells' student versions made alongside
        assert [nbformat.reads(text, as_version=4) for text in texts] == [inst, student_notebook(inst)]
        for text in texts:
            nbformat.validate(nbformat.reads(text, as_version=4))
            assert text.count("\n") == 7 + len(inst.cells)  # one cell a line
        assert ipynb.writes(inst) == texts[0]
    odd = nbformat.v4.new_notebook(metadata={"n": [1, 2.5, -0.0, 1e300, None, True, False, {}, [], [{"a": "b"}]],
                                             "é": "ü"})
    odd.cells = [nbformat.v4.new_markdown_cell("a\r\nb\rc\n\n", id="m"), nbformat.v4.new_code_cell("", id="c")]
    odd["a_key_before_cells"] = {"x": [1]}
    assert nbformat.reads(ipynb.writes(odd), as_version=4) == odd
    assert nbformat.reads(ipynb.writes({**odd, "cells": []}), as_version=4) == {**odd, "cells": []}


def test_tree_copy_is_a_deep_copy(inputs):  # noqa: F811
    assignment, students, _ = inputs
    from hwgen import generate as gen
    from hwgen.sampling import sample
    variants = {p.key: sample(p.template, gen.problem_seed(assignment, students[0], p.key)) for p in assignment.problems}
    inst = for_student(assignment, students[0], variants)
    before = nbformat.writes(inst)
    twin = tree_copy(inst)
    assert twin == copy.deepcopy(inst) and type(twin.cells[0].metadata) is type(inst.cells[0].metadata)
    plain = tree_copy(inst, dict)
    assert plain == twin and type(plain["cells"][0]["metadata"]) is dict
    answer = next(i for i, c in enumerate(twin.cells) if c.metadata.get("nbgrader", {}).get("solution"))
    twin.cells[answer].metadata.nbgrader["grade_id"] = "changed"
    twin.cells[answer].source += "x"
    student_notebook(inst)
    assert nbformat.writes(inst) == before


def test_numbers_rounded_together_are_written_as_one_at_a_time():
    from hwgen.numfmt import tex_array, tex_arrays
    rng = np.random.default_rng(3)
    scale = 10.0 ** rng.integers(-6, 6, 3000)
    near_powers = np.concatenate([np.nextafter(10.0 ** np.arange(-8, 9), 0), 10.0 ** np.arange(-8, 9),
                                  np.nextafter(10.0 ** np.arange(-8, 9), 100), [0.0, -0.0, 0.5, 9.9995, 1.15, 2.675]])
    values = [*(rng.standard_normal(shape) * s for shape, s in zip([(), (3,), (2, 4), (1, 1)] * 200, scale)),
              *near_powers, near_powers.reshape(3, -1)]
    for sig in (2, 3, 4, 6):  # a number alone takes NumPy's scalar power, within arrays its vector power: a last
        assert tex_arrays(values, sig) == [tex_array(v, sig) for v in values]  # bit may differ, the text never
    assert tex_arrays([], 4) == []


@pytest.fixture
def notebook_templates(monkeypatch):
    """install({name: source}): notebook templates of a test's own over the real ones (shared cells made afresh)."""
    import jinja2

    from hwgen.render.notebook import build
    real = build.environment()

    def install(sources):
        odd = real.overlay(loader=jinja2.ChoiceLoader([jinja2.DictLoader(sources), real.loader]))
        monkeypatch.setattr(build, "environment", lambda: odd)
        build._shared.cache_clear()
        return build
    yield install
    build._shared.cache_clear()


def test_test_cells_are_rendered_in_full_where_the_template_does_more_than_print_the_numbers(notebook_templates):
    build = notebook_templates({"test.py.j2": "{{ variable }}: {{ expected | length }} {{ rtol }} {{ atol }}"})
    spec = problem("xor_net")
    rec = record(spec, 1)
    tol = build.tolerances(spec, rec)
    tests = [mine.data for mine, _ in build.problem_cells(1, spec, rec, {}) if mine.data["id"].startswith("test_")]
    assert [c["source"] for c in tests] == [
        f"p1_{q}: {len(repr(np.ravel(rec['answers'][q]).tolist()))} {tol[q][0]!r} {tol[q][1]!r}"
        for q in spec.template.problem.answers if q in spec.asked]


def test_a_test_cells_student_version_is_made_per_student_where_numbers_stay_in_it(notebook_templates):
    build = notebook_templates({"test.py.j2": "{{ variable }} = {{ expected }}\n### BEGIN HIDDEN TESTS\n"
                                              "{{ rtol }} {{ atol }}\n### END HIDDEN TESTS\n"})
    spec = problem("xor_net")
    for seed in (1, 2):
        rec = record(spec, seed)
        pairs = build.problem_cells(1, spec, rec, {})
        derived = student_notebook(nbformat.from_dict({"cells": [mine.data for mine, _ in pairs]}))
        assert [theirs.data for _, theirs in pairs] == derived["cells"]
        shown = [c["source"] for c in derived["cells"] if c["id"] == "test_p1_Z1"]
        assert shown == [f"p1_Z1 = {np.ravel(np.transpose(rec['answers']['Z1'])).tolist()!r}"]  # samples as columns


def test_statement_and_given_cells_are_rendered_in_full_where_the_template_does_more_than_print(notebook_templates):
    from hwgen.numfmt import tex_array
    build = notebook_templates({
        "problem.md.j2": "{% for row in given %}{% for s, v in row %}{{ v | length }} {% endfor %}{% endfor %}",
        "given.py.j2": "{% for name, literal, note in arrays %}{{ name }}={{ literal | length }};{% endfor %}"})
    spec = problem("xor_net")
    for seed in (1, 2):
        rec = record(spec, seed)
        cells = {mine.data["id"]: mine.data["source"] for mine, _ in build.problem_cells(1, spec, rec, {})}
        given = {k: spec.template.display.value(rec["given"][k], k) for k in spec.template.problem.given}  # as shown
        assert cells["p1"] == "".join(f"{len(tex_array(given[k], build.EXACT_DIGITS))} "
                                      for row in (('X', 'Y'), ('W1', 'b1'), ('W2', 'b2')) for k in row)
        lr = np.asarray(rec["network"]["lr"])
        assert cells["p1_given"] == "".join(f"p1_{k}={len(build._literal(v))};" for k, v in [*given.items(), ("lr", lr)])
