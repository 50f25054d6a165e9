"""Paper exams (issue 14): `mode: exam` / `--exam` writes exams with answer boxes and a QR code on every page, the
graders' keys/answers.csv and compact key; every page's code decodes from a 150 dpi greyscale rendering."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess

import numpy as np
import pypdfium2 as pdfium
import pytest

from hwgen.exam import scan
from hwgen.exam import typed as typed_numbers

from .conftest import run_cli

pytestmark = pytest.mark.skipif(any(shutil.which(t) is None for t in ("pdflatex", "qpdf", "pdftotext")),
                                reason="needs pdflatex, qpdf and poppler-utils (see .ci/run)")

EXAM = """\
title: "Midterm: backprop"
course: "CS 101"
due: 2026-12-10
duration: 90 minutes
seed: 11
name: mid1
mode: exam
grading: {partial: true}
problems:
  - template: xor_net
    points: 6
    asked: [Z1, L, dW2, dW1]
  - template: batch_vectorized
    points: 4
    asked: [L, dZ2]
"""
ROSTER = "student_id,name\ns1,Ada Lovelace\ns2,Nguyễn Văn Ánh\ns3,Grace Hopper\n"
IDS = ["s1", "s2", "s3"]


@pytest.fixture(scope="module")
def exam(tmp_path_factory):
    """Three students' exams, compiled."""
    root = tmp_path_factory.mktemp("exam")
    (root / "exam.yaml").write_text(EXAM, encoding="utf-8")
    (root / "roster.csv").write_text(ROSTER, encoding="utf-8")
    result = run_cli("generate", str(root / "exam.yaml"), "--roster", str(root / "roster.csv"), "--out",
                     str(root / "out"), "--pdf", "--jobs", "2")
    assert result.returncode == 0, result.stderr
    return root / "out"


def pages_of(path) -> list[np.ndarray]:
    """A PDF's pages as 150 dpi greyscale images, as a scanner would make them."""
    doc = pdfium.PdfDocument(str(path))
    try:
        return [np.squeeze(doc[i].render(scale=150 / 72, grayscale=True).to_numpy()).copy() for i in range(len(doc))]
    finally:
        doc.close()


def manifest(out) -> dict:
    return json.loads((out / "manifest.json").read_text())


def test_exams_replace_worksheets_and_every_student_has_an_even_page_count(exam):
    assert not (exam / "worksheets").exists()
    counts = [len(pages_of(exam / "exams" / f"{sid}.pdf")) for sid in IDS]
    assert all(n % 2 == 0 and n >= 4 for n in counts)
    assert len(pages_of(exam / "exams.pdf")) == sum(counts)
    assert (exam / "keys" / "s1.pdf").is_file() and (exam / "keys" / "compact.pdf").is_file()


def test_every_page_code_names_its_assignment_student_and_page_in_any_orientation(exam):
    bundle = pages_of(exam / "exams.pdf")
    seen = []
    for i, image in enumerate(bundle):
        turned = np.rot90(image, i % 4)  # as a scanner feeds pages: any way up
        page, turn, problem = scan.decode(turned)
        assert page is not None, problem
        assert (np.rot90(turned, -turn // 90) == image).all()  # the turn says how to make it upright
        seen.append((page.student, page.page, page.pages, page.assignment))
    expected = []
    for sid in IDS:
        n = sum(1 for s, *_ in seen if s == sid)
        expected += [(sid, k, n, "mid1") for k in range(1, n + 1)]
    assert seen == expected  # roster order, pages in order
    text = subprocess.run(["pdftotext", str(exam / "exams" / "s2.pdf"), "-"], capture_output=True, text=True).stdout
    n = expected[-1][2]
    assert all(f"mid1 / s2 / page {k} of" in text for k in range(1, n + 1))


def test_the_cover_has_the_header_lines_and_a_points_table(exam):
    text = subprocess.run(["pdftotext", "-layout", "-f", "1", "-l", "1", str(exam / "exams" / "s1.pdf"), "-"],
                          capture_output=True, text=True).stdout
    for words in ("CS 101", "Midterm: backprop", "Exam", "Thursday 10 December 2026", "90 minutes", "Name:",
                  "Student ID:", "Signature:", "Ada Lovelace"):
        assert words in text
    assert re.search(r"Points\s+6 pts\s+4 pts\s+10 pts", text)


def test_answers_csv_has_every_cell_in_the_displayed_layout_with_exact_values(exam):
    rows = list(csv.DictReader((exam / "keys" / "answers.csv").open(encoding="utf-8")))
    m = manifest(exam)
    assert [r["student_id"] for r in rows] == IDS and rows[1]["name"] == "Nguyễn Văn Ánh"
    for row in rows:
        answers = {k: {q: np.asarray(v) for q, v in p["answers"].items()}
                   for k, p in m["students"][row["student_id"]]["problems"].items()}
        z1 = answers["p1"]["Z1"]  # xor_net shows samples as columns: the cell [i,j] is canonical Z1[j-1, i-1]
        assert {c for c in row if c.startswith("p1.Z1[")} == {f"p1.Z1[{i},{j}]" for i in range(1, z1.shape[1] + 1)
                                                              for j in range(1, z1.shape[0] + 1)}
        for (j, i), value in np.ndenumerate(z1):
            assert float(row[f"p1.Z1[{i + 1},{j + 1}]"]) == value
        assert float(row["p1.L"]) == float(answers["p1"]["L"]) and float(row["p2.L"]) == float(answers["p2"]["L"])
        dz2 = answers["p2"]["dZ2"]  # batch_vectorized shows rows: the cell [i,j] is dZ2[i-1, j-1]
        for (i, j), value in np.ndenumerate(dz2):
            assert float(row[f"p2.dZ2[{i + 1},{j + 1}]"]) == value
    assert len(rows[0]) == 2 + 8 + 1 + 2 + 4 + 1 + 3  # id, name, Z1 2x4, L, dW2 1x2, dW1 2x2, L, dZ2 3x1


def test_each_answer_box_has_one_cell_per_entry(exam):
    tex = (exam / "exams" / "s1.tex").read_text()
    boxes = re.findall(r"\\begin\{tabular\}\[c\]\{r\*\{(\d+)\}", tex)
    rows = [part.split(r"\end{tabular}")[0].count(r"\hwgencell") for part in tex.split(r"\begin{tabular}[c]{r*")[1:]]
    assert list(zip(map(int, boxes), rows)) == [(4, 2), (2, 1), (2, 2), (1, 3)]  # Z1, dW2, dW1, dZ2
    assert tex.count(r"\begin{tabular}[c]{|p{3.5cm}|}") == 2  # the two losses: one cell each


def test_the_compact_key_lists_every_student_with_answers_at_the_stated_digits(exam):
    text = subprocess.run(["pdftotext", str(exam / "keys" / "compact.pdf"), "-"], capture_output=True, text=True).stdout
    m = manifest(exam)
    assert "Nguyễn Văn Ánh (s2)" in " ".join(text.split())
    for sid in IDS:
        assert f"({sid})" in text
        loss = m["students"][sid]["problems"]["p1"]["answers"]["L"]
        assert f"{loss:.4g}".lstrip("0") in text.replace("\u2212", "-")


def test_exam_flag_makes_a_homework_file_an_exam_and_a_reserved_id_is_refused(tmp_path):
    (tmp_path / "hw.yaml").write_text(EXAM.replace("mode: exam\n", ""), encoding="utf-8")
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    result = run_cli("generate", str(tmp_path / "hw.yaml"), "--roster", str(tmp_path / "roster.csv"), "--out",
                     str(tmp_path / "out"), "--exam")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out" / "exams").iterdir()) == ["s1.tex", "s2.tex", "s3.tex"]
    assert (tmp_path / "out" / "keys" / "answers.csv").is_file() and not (tmp_path / "out" / "worksheets").exists()
    (tmp_path / "bad.csv").write_text("student_id\ns1\ncompact\n", encoding="utf-8")
    result = run_cli("generate", str(tmp_path / "hw.yaml"), "--roster", str(tmp_path / "bad.csv"), "--out",
                     str(tmp_path / "out2"), "--exam")
    assert result.returncode == 2 and "bad.csv:3" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out2").exists()


def scan_pdf(path, images: list[np.ndarray]) -> None:
    """A scanner's PDF: each greyscale image one page at 150 dpi (an image XObject, Flate-compressed)."""
    import zlib

    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject, NumberObject, StreamObject

    writer = PdfWriter()
    for image in images:
        h, w = image.shape
        page = writer.add_blank_page(width=w * 72 / 150, height=h * 72 / 150)
        xobject = StreamObject()
        xobject._data = zlib.compress(np.ascontiguousarray(image, dtype=np.uint8).tobytes())
        xobject.update({NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Image"),
                        NameObject("/Width"): NumberObject(w), NameObject("/Height"): NumberObject(h),
                        NameObject("/ColorSpace"): NameObject("/DeviceGray"),
                        NameObject("/BitsPerComponent"): NumberObject(8), NameObject("/Filter"): NameObject("/FlateDecode")})
        content = DecodedStreamObject()
        content.set_data(f"q {w * 72 / 150:.4f} 0 0 {h * 72 / 150:.4f} 0 0 cm /Im0 Do Q".encode())
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/XObject"): DictionaryObject(
            {NameObject("/Im0"): writer._add_object(xobject)})})
        page[NameObject("/Contents")] = writer._add_object(content)
    with open(path, "wb") as f:
        writer.write(f)


def test_a_shuffled_turned_scan_is_sorted_back_and_more_scans_add_to_it(exam, tmp_path):
    bundle = pages_of(exam / "exams.pdf")
    n = len(bundle) // 3
    rng = np.random.default_rng(5)
    order = [int(i) for i in rng.permutation(len(bundle))]
    held_back = order.pop()  # scanned later, in a second file
    turns = [(0, 90, 180, 270)[k % 4] for k in range(len(order))]
    images = [np.rot90(bundle[i], -t // 90) for i, t in zip(order, turns)]  # np.rot90 k=-1: 90 degrees clockwise
    blank = np.full_like(bundle[0], 255)
    smudged = bundle[order[0]].copy()
    smudged[-260:, -260:] = 0  # the code's corner inked over
    scan_pdf(tmp_path / "batch1.pdf", images[:5] + [blank] + images[5:] + [smudged])
    result = run_cli("scan", str(exam), str(tmp_path / "batch1.pdf"))
    assert result.returncode == 0, result.stderr
    assert "pages not placed:\n  batch1.pdf page 6: no hwgen code found" in result.stdout
    assert f"batch1.pdf page {len(images) + 2}: no hwgen code" in result.stdout
    missing_sid, missing_k = IDS[held_back // n], held_back % n + 1
    assert f"students with pages missing:\n  {missing_sid}: page {missing_k}\n" in result.stdout
    scan_pdf(tmp_path / "batch2.pdf", [np.rot90(bundle[held_back], 2), bundle[order[3]]])
    result = run_cli("scan", str(exam), str(tmp_path / "batch2.pdf"), str(tmp_path / "batch1.pdf"))
    assert result.returncode == 0, result.stderr
    assert "placed 1," in result.stdout and "1 duplicate" in result.stdout and "pages missing" not in result.stdout
    for s, sid in enumerate(IDS):
        got = pages_of(exam / "scans" / f"{sid}.pdf")
        assert len(got) == n
        for k, image in enumerate(got):  # upright, in order: the very page printed
            assert image.shape == bundle[s * n + k].shape
            assert np.abs(image.astype(int) - bundle[s * n + k]).mean() < 2


@pytest.mark.parametrize("typed, value", [
    ("0.5", 0.5), ("0,5", 0.5), ("-.25", -0.25), ("1.2e-3", 1.2e-3), (" - 0.125 ", -0.125), ("\u22120,75", -0.75),
    ("12", 12.0), ("+3.", 3.0), ("1 234.5", 1234.5), ("0,125", 0.125), ("-0,004537", -0.004537), ("", None),
    ("   ", None)])
def test_typed_numbers_read_as_people_type_them(typed, value):
    assert typed_numbers.parse_number(typed) == value


@pytest.mark.parametrize("typed", ["1,234", "1.2.3", "0.1,2", "abc", "nan", "inf", "1e999999", "2**10", "1/2",
                                   "__import__('os')", "1" * 50, "0x10", "1,2,3"])
def test_untypable_cells_are_refused_with_a_reason(typed):
    with pytest.raises(ValueError):
        typed_numbers.parse_number(typed)


def own_work(record: dict, template_name: str, slip: str | None) -> dict:
    """A student's answers worked step by step at 4 significant digits, each carried rounded into the next; with
    `slip`, that step's last entry is miscopied (+0.5) and the later steps follow from it."""
    from hwgen import bank, engine
    from hwgen.numfmt import round_sig

    problem = bank.load(template_name).problem
    values = engine.inputs(problem, {k: np.asarray(v) for k, v in record["given"].items()}, record["network"]["lr"])
    for step in problem.steps:
        value = engine.evaluate(step, values)
        if step.name == slip:
            value = value.copy()
            value.flat[-1] += 0.5
        values[step.name] = round_sig(value, 4)
    return values


def typed_cell(value: float, k: int) -> str:
    """How a TA types a number: decimal commas, no leading zero, spaces, as it comes."""
    text = f"{value:.4g}"
    return [text, text.replace(".", ","), text.replace("0.", "."), f" {text} "][k % 4]


def test_typed_answers_grade_like_notebooks_and_a_slip_costs_only_its_own_item(exam, tmp_path):
    m = manifest(exam)
    sheet = tmp_path / "sheet.csv"
    result = run_cli("answers", str(exam), "--csv", str(sheet))
    assert result.returncode == 0, result.stderr
    key = list(csv.DictReader((exam / "keys" / "answers.csv").open(encoding="utf-8")))
    blank = list(csv.reader(sheet.open(encoding="utf-8")))
    assert blank[0] == list(key[0]) and [r[0] for r in blank[1:]] == IDS and not any(any(r[2:]) for r in blank[1:])
    header = blank[0]
    rows = []
    for sid, key_row in zip(IDS, key):
        row = dict(key_row)
        if sid != "s1":  # s2 slipped in Z1, s3 kept rounded work; both carried their rounded values
            record = m["students"][sid]["problems"]
            work = {"p1": own_work(record["p1"], "xor_net", "Z1" if sid == "s2" else None),
                    "p2": own_work(record["p2"], "batch_vectorized", None)}
            cells = {}
            from hwgen.exam.cells import entries
            from hwgen.problem import ProblemSpec
            for entry in m["problems"]:
                spec = ProblemSpec.from_manifest(entry)
                cells |= entries(spec, {q: work[spec.key][q] for q in spec.asked})
            row |= {name: typed_cell(v, k) for k, (name, v) in enumerate(cells.items())}
        rows.append(row)
    rows[2]["p1.dW1[2,1]"] = "0.1.2"  # a typo: reported, that item invalid
    for name in header:
        if name.startswith("p2."):
            rows[2][name] = ""  # s3 left problem 2 blank
    with sheet.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header + ["p9.X"])
        writer.writerows([[r[c] for c in header] + ["1"] for r in rows] + [["s99", "Nobody"] + ["1"] * (len(header) - 1)])
    result = run_cli("grade", str(exam), "--answers", str(sheet), "--json", str(tmp_path / "report.json"))
    assert result.returncode == 0, result.stderr
    assert f"{sheet}:1: column 'p9.X' (column {chr(ord('A') + len(header))})" in result.stderr
    col = header.index("p1.dW1[2,1]")
    assert f"{sheet}:4: column p1.dW1[2,1] (column {chr(ord('A') + col)}): '0.1.2' is not a number" in result.stderr
    assert f"{sheet}:5: student 's99' is not in manifest.json" in result.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert sorted(report) == IDS
    s1, s2, s3 = (report[sid] for sid in IDS)
    assert s1["score"] == s1["max"] == 10
    assert [i["status"] for i in s1["items"]] == ["correct"] * 6
    lost = {(i["problem"], i["quantity"]): i["max_points"] - i["points"] for i in s2["items"]}
    assert lost[("p1", "Z1")] > 0 and sum(v for k, v in lost.items() if k != ("p1", "Z1")) == 0
    assert {i["quantity"]: i["status"] for i in s2["items"] if i["problem"] == "p1"}["dW1"] == "correct_ecf"
    status = {(i["problem"], i["quantity"]): i["status"] for i in s3["items"]}
    assert status == {("p1", "Z1"): "correct", ("p1", "L"): "correct", ("p1", "dW2"): "correct",
                      ("p1", "dW1"): "missing", ("p2", "L"): "missing", ("p2", "dZ2"): "missing"}
    message = {i["quantity"]: i["message"] for i in s3["items"] if i["problem"] == "p1"}["dW1"]
    assert message == "No answer: the entry p1.dW1[2,1] was left blank or could not be read (row 4 of the typed answers)."
    assert any("typed into sheet.csv, row 2" in f for f in s1["flags"])

    (exam / "submitted").mkdir(exist_ok=True)  # notebooks graded later: none handed in, the typed grades stand
    result = run_cli("grade", str(exam), "--json", str(tmp_path / "again.json"))
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "again.json").read_text()) == report
    result = run_cli("export", str(exam), "--csv", str(tmp_path / "grades.csv"))
    assert result.returncode == 0 and "s2" in (tmp_path / "grades.csv").read_text()


def test_notebook_and_typed_grades_side_by_side_the_most_recent_source_wins(tmp_path):
    import os
    import time

    from hwgen.grade.simulate import submit

    from .grade_support import make_class

    folder, m = make_class(tmp_path, [("s1", "Ada"), ("s2", "Alan")], EXAM.replace("grading: {partial: true}\n", ""))
    notebook = submit(folder, m, "s1", "correct")
    submit(folder, m, "s2", "correct")
    result = run_cli("grade", str(folder), "--jobs", "1", "--quiet", "--json", str(tmp_path / "nb.json"))
    assert result.returncode == 0, result.stderr
    assert [v["score"] for v in json.loads((tmp_path / "nb.json").read_text()).values()] == [10, 10]
    sheet = tmp_path / "typed.csv"
    assert run_cli("answers", str(folder), "--csv", str(sheet)).returncode == 0
    header, *rows = list(csv.reader(sheet.open(encoding="utf-8")))
    rows = [rows[0]]  # only s1's paper was typed: just their loss of problem 1
    rows[0][header.index("p1.L")] = repr(m.students["s1"]["problems"]["p1"]["answers"]["L"])
    with sheet.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    result = run_cli("grade", str(folder), "--answers", str(sheet), "--json", str(tmp_path / "typed.json"))
    assert result.returncode == 0 and "replacing a notebook grade" in result.stderr, result.stderr
    typed = json.loads((tmp_path / "typed.json").read_text())["s1"]
    assert typed["score"] == m.problems[0].asked["L"] and any("replaces the notebook grade" in f for f in typed["flags"])

    result = run_cli("grade", str(folder), "--jobs", "1", "--quiet", "--json", str(tmp_path / "again.json"))
    report = json.loads((tmp_path / "again.json").read_text())
    assert report["s1"] == typed and report["s2"]["score"] == 10  # the notebook is older than the typed grade

    later = time.time() + 5
    os.utime(notebook, (later, later))  # the student's notebook changed after the sheet was graded
    result = run_cli("grade", str(folder), "--jobs", "1", "--quiet", "--json", str(tmp_path / "last.json"))
    assert json.loads((tmp_path / "last.json").read_text())["s1"]["score"] == 10
