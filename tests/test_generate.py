"""`hwgen generate`: the manifest contract, determinism, distinct students, and the output-folder policy."""

from __future__ import annotations

import json
import pickle
import shutil

import numpy as np
import pytest

from hwgen import bank
from hwgen import generate as gen
from hwgen.assignment import Student, load_assignment, load_roster
from hwgen.errors import HwgenError, VariantError
from hwgen.outdir import RECORD
from hwgen.sampling import sample

from .conftest import run_cli
from .names import ANSWER_NAMES, GIVEN_NAMES
from .test_assignment import EXAMPLE

ROSTER = ("student_id,name,email\n"
          "s001,Zoë Ångström-Łukasiewicz,zoe@example.org\n"
          "s002,Nguyễn Văn Ánh,\n"
          "s003,\"O'Brien & Sons_100%\",\n"
          "s004,王小明,\n")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """The issue's assignment and a four-student roster with awkward names."""
    root = tmp_path_factory.mktemp("inputs")
    (root / "hw3.yaml").write_text(EXAMPLE, encoding="utf-8")
    (root / "roster.csv").write_text(ROSTER, encoding="utf-8")
    return load_assignment(root / "hw3.yaml"), load_roster(root / "roster.csv"), root


@pytest.fixture(scope="module")
def run(inputs, tmp_path_factory):
    """One generated class."""
    assignment, students, _ = inputs
    out = tmp_path_factory.mktemp("run") / "out"
    summary = gen.generate(assignment, students, out, progress=False)
    return out, summary


def _files(out):
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_writes_worksheets_keys_and_manifest(run, inputs):
    out, summary = run
    ids = [s.id for s in inputs[1]]
    assert summary.students == 4 and summary.files == 16
    assert sorted(_files(out)) == sorted([RECORD, "manifest.json"] + [f"worksheets/{i}.tex" for i in ids]
                                         + [f"keys/{i}.tex" for i in ids]
                                         + [f"{f}/{i}/hw3/hw3.ipynb" for i in ids for f in ("release", "source")])


def test_manifest_follows_the_contract(run, inputs):
    assignment, students, _ = inputs
    m = json.loads((run[0] / "manifest.json").read_text(encoding="utf-8"))
    assert m["format"] == "hwgen-manifest/1" and m["hwgen_version"]
    assert m["assignment"]["title"] == "Backprop homework 3" and m["assignment"]["due"] == "2026-12-01"
    assert m["assignment"]["seed"] == 20261122 and m["assignment"]["name"] == "hw3" and m["assignment"]["grading"] == {}
    assert [p["key"] for p in m["problems"]] == ["p1", "p2"]
    assert m["problems"][1]["template"] == "bce_net" and m["problems"][1]["template_source"]
    assert list(m["students"]) == [s.id for s in students]
    s3 = m["students"]["s003"]
    assert s3["name"] == "O'Brien & Sons_100%" and list(s3["problems"]) == ["p1", "p2"]
    entry = s3["problems"]["p2"]
    assert list(entry) == ["key", "template", "seed", "network", "given", "answers", "tolerance"]
    assert set(entry["given"]) == set(GIVEN_NAMES) and set(entry["answers"]) == set(ANSWER_NAMES)
    # The record is the variant of the recorded seed: the grader can trust it.
    assert entry["seed"] == gen.problem_seed(assignment, students[2], "p2")
    assert sample(assignment.problems[1].template, entry["seed"]).record("p2") == entry
    spec = assignment.problems[1]
    assert entry["tolerance"]["digits"] == spec.template.significant
    assert set(entry["tolerance"]["quantities"]) == set(spec.asked)


def test_same_inputs_give_byte_identical_files(run, inputs, tmp_path):
    assignment, students, root = inputs
    again = run_cli("generate", str(root / "hw3.yaml"), "--roster", str(root / "roster.csv"), "--out", str(tmp_path / "o"))
    assert again.returncode == 0, again.stderr
    assert "wrote 16 files for 4 students x 2 problems" in again.stdout
    assert _files(tmp_path / "o") == _files(run[0])


def test_parallel_chunks_give_the_same_files(run, inputs, tmp_path, monkeypatch):
    assignment, students, _ = inputs
    monkeypatch.setattr(gen, "CHUNK", 1)
    gen.generate(assignment, students, tmp_path / "par", jobs=2, progress=False)
    assert _files(tmp_path / "par") == _files(run[0])


def test_students_differ(run):
    m = json.loads((run[0] / "manifest.json").read_text(encoding="utf-8"))
    for key in ("p1", "p2"):
        givens = [json.dumps(s["problems"][key]["given"]) for s in m["students"].values()]
        assert len(set(givens)) == len(givens)
    sheets = [(run[0] / "worksheets" / f"{sid}.tex").read_text(encoding="utf-8") for sid in m["students"]]
    assert len(set(sheets)) == len(sheets)


def test_student_work_is_picklable(inputs):
    assignment, students, _ = inputs
    result = gen.build_student(assignment, students[0])
    back = pickle.loads(pickle.dumps((assignment, result)))
    assert back[1].files == result.files and back[1].record == result.record
    assert gen.build_student(back[0], students[0]).files == result.files


def _tiny_template(tmp_path, w_values):
    """A template with very few distinct variants."""
    text = (bank.bank_dir() / "bce_net.yaml").read_text(encoding="utf-8")
    for name in ("W1", "b1", "W2", "b2"):
        text = text.replace(f"  {name}: {{min:", f"  {name}: {{values: [0.5]}}  # {{min:")
    text = text.replace("  X: {values: [-2, -1, 1, 2]}", "  X: [[1, 2, -1]]")
    text = text.replace("  Y: {values: [0, 1]}", f"  Y: {{values: {w_values}}}")
    path = tmp_path / "tiny.yaml"
    path.write_text(text.replace("name: bce_net", "name: tiny"), encoding="utf-8")
    return path


def test_repeated_numbers_are_re_derived_and_impossible_classes_refused(tmp_path):
    _tiny_template(tmp_path, "[0, 1]")
    hw = tmp_path / "hw.yaml"
    hw.write_text("title: T\nseed: 3\nproblems:\n  - template: tiny.yaml\n", encoding="utf-8")
    assignment = load_assignment(hw)
    two = [Student("a"), Student("b")]
    summary = gen.generate(assignment, two, tmp_path / "two", progress=False)
    m = json.loads((tmp_path / "two" / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(s["problems"]["p1"]["given"]["Y"][0][0] for s in m["students"].values()) == [0, 1]
    assert len(summary.rederived) <= 1
    with pytest.raises(VariantError, match="too few distinct variants"):
        gen.generate(assignment, [*two, Student("c")], tmp_path / "three", progress=False)


def test_repeated_numbers_a_worker_wrote_are_replaced_by_the_re_derived_ones(tmp_path, monkeypatch):
    _tiny_template(tmp_path, "[0, 1]")
    hw = tmp_path / "hw.yaml"
    for seed in range(1, 100):  # a class whose second student first draws the first one's numbers
        hw.write_text(f"title: T\nseed: {seed}\nproblems:\n  - template: tiny.yaml\n", encoding="utf-8")
        assignment = load_assignment(hw)
        first, second = (gen.build_student(assignment, Student(i)) for i in "ab")
        if first.fingerprints == second.fingerprints:
            break
    monkeypatch.setattr(gen, "CHUNK", 1)  # one student per task: two worker processes write the files
    summary = gen.generate(assignment, [Student("a"), Student("b")], tmp_path / "out", jobs=2, progress=False)
    assert summary.rederived == ["b/p1"] and summary.files == 8
    again = gen.build_student(assignment, Student("b"), {"p1": 1})
    assert again.files != second.files
    assert {rel: (tmp_path / "out" / rel).read_text(encoding="utf-8") for rel in again.files} == again.files
    m = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert m["students"]["b"] == json.loads(again.record)
    record = (tmp_path / "out" / RECORD).read_text(encoding="utf-8").splitlines()[1:]
    assert record == ["manifest.json.partial", *first.files, *again.files, "manifest.json"]


def test_created_files_never_replace_a_file_unless_asked(tmp_path):
    from hwgen.outdir import create
    (tmp_path / "a").mkdir()
    create(tmp_path, {"a/b.txt": "one"})
    with pytest.raises(HwgenError, match="not written by hwgen"):
        create(tmp_path, {"a/b.txt": "two"})
    create(tmp_path, {"a/b.txt": "three"}, replace=True)
    assert (tmp_path / "a" / "b.txt").read_text(encoding="utf-8") == "three"


def test_an_earlier_run_is_refused_then_replaced_with_force(run, inputs, tmp_path):
    _, _, root = inputs
    out = tmp_path / "out"
    shutil.copytree(run[0], out)
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    (out / "keys" / "grading-notes.txt").write_text("mine too", encoding="utf-8")
    (out / "worksheets" / "s001.tex").write_text("stale", encoding="utf-8")
    args = ("generate", str(root / "hw3.yaml"), "--roster", str(root / "roster.csv"), "--out", str(out))
    refused = run_cli(*args)
    assert refused.returncode == 2 and "earlier hwgen run" in refused.stderr and "--force" in refused.stderr
    assert (out / "worksheets" / "s001.tex").read_text(encoding="utf-8") == "stale"
    # A smaller class replaces the earlier one entirely: no stale student files stay behind.
    (root / "two.csv").write_text("student_id\ns002\nnew1\n", encoding="utf-8")
    forced = run_cli(*args[:3], str(root / "two.csv"), *args[4:], "--force")
    assert forced.returncode == 0, forced.stderr
    assert sorted(p.name for p in (out / "worksheets").iterdir()) == ["new1.tex", "s002.tex"]
    assert sorted(p.name for p in (out / "keys").iterdir()) == ["grading-notes.txt", "new1.tex", "s002.tex"]
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert list(json.loads((out / "manifest.json").read_text(encoding="utf-8"))["students"]) == ["s002", "new1"]


def test_files_hwgen_did_not_write_are_never_replaced(inputs, tmp_path):
    assignment, students, _ = inputs
    out = tmp_path / "out"
    (out / "worksheets").mkdir(parents=True)
    (out / "worksheets" / "s001.tex").write_text("the instructor's own", encoding="utf-8")
    for force in (False, True):
        with pytest.raises(HwgenError, match="not written by hwgen"):
            gen.generate(assignment, students, out, force=force, progress=False)
    assert (out / "worksheets" / "s001.tex").read_text(encoding="utf-8") == "the instructor's own"
    # Broken links count as something in the way, refused before any student's file is written.
    for name in ("manifest.json", "keys"):
        linked = tmp_path / f"linked-{name}"
        linked.mkdir()
        (linked / name).symlink_to(tmp_path / "nowhere")
        with pytest.raises(HwgenError, match="not written by hwgen"):
            gen.generate(assignment, students, linked, progress=False)
        assert not (linked / "worksheets").exists()
    # A folder holding only unrelated files (e.g. the assignment itself) is fine.
    (tmp_path / "course").mkdir()
    (tmp_path / "course" / "hw3.yaml").write_text(EXAMPLE, encoding="utf-8")
    gen.generate(assignment, students[:1], tmp_path / "course", progress=False)
    assert (tmp_path / "course" / "keys" / "s001.tex").is_file()


def test_record_paths_cannot_escape_the_folder(run, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(run[0], out)
    outside = tmp_path / "precious.txt"
    outside.write_text("keep", encoding="utf-8")
    with open(out / RECORD, "a", encoding="utf-8") as record:
        record.write("../precious.txt\n")
    with pytest.raises(HwgenError, match="not a plain relative path"):
        gen.generate(*_class(run), out, force=True, progress=False)
    assert outside.read_text(encoding="utf-8") == "keep"


def _class(run):
    m = json.loads((run[0] / "manifest.json").read_text(encoding="utf-8"))
    hw = run[0].parent / "hw3.yaml"
    hw.write_text(EXAMPLE, encoding="utf-8")
    return load_assignment(hw), [Student(i, s["name"]) for i, s in m["students"].items()]


def test_given_numbers_and_answers_appear_in_the_tex(run):
    m = json.loads((run[0] / "manifest.json").read_text(encoding="utf-8"))
    from hwgen.numfmt import fmt
    for sid, student in m["students"].items():
        sheet = (run[0] / "worksheets" / f"{sid}.tex").read_text(encoding="utf-8")
        key = (run[0] / "keys" / f"{sid}.tex").read_text(encoding="utf-8")
        for entry in student["problems"].values():
            for w in np.ravel(entry["given"]["W1"]):
                assert fmt(w, 4) in sheet
            for q in ("L", "dW1", "W2_new"):
                for v in np.ravel(entry["answers"][q]):
                    assert fmt(v, 4) in key
