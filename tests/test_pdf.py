"""`hwgen generate --pdf`: compiled PDFs hold each student's own numbers, keys the manifest's answers, and a
class compiled in one run splits into pages identical to one-student compiles. Needs TeX Live and poppler."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from hwgen import cli, pdf
from hwgen.numfmt import fmt
from hwgen.outdir import Output

from .conftest import run_cli
from .test_assignment import EXAMPLE

pytestmark = pytest.mark.skipif(any(shutil.which(t) is None for t in ("pdflatex", "qpdf", "pdftotext", "pdftoppm")),
                                reason="needs pdflatex, qpdf and poppler-utils (see .ci/run)")

ASSIGNMENT = EXAMPLE + "  - template: regression_3hidden\n  - template: relu_sigmoid\n  - template: batch_vectorized\n"
ROSTER = ("student_id,name\n"
          "s1,Zoë Ångström-Łukasiewicz Adébáyọ̀\n"
          "s2,\"O'Brien & Sons_100%\"\n"
          "s3,Nguyễn Văn Ánh 王小明 a~b^c\\d{e}#$\n")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Every bank template, three awkward names, compiled with --pdf."""
    root = tmp_path_factory.mktemp("pdf")
    (root / "hw.yaml").write_text(ASSIGNMENT, encoding="utf-8")
    (root / "roster.csv").write_text(ROSTER, encoding="utf-8")
    result = run_cli("generate", str(root / "hw.yaml"), "--roster", str(root / "roster.csv"), "--out",
                     str(root / "out"), "--pdf", "--jobs", "2")
    assert result.returncode == 0, result.stderr
    return root / "out", result


def _text(path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout.replace("\u2212", "-")


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"-?\d+(?:\.\d+)?", text))


def test_every_student_has_pdfs_and_the_class_bundles(built):
    out, result = built
    assert "compiled 6 PDFs" in result.stdout
    for folder in ("worksheets", "keys"):
        assert sorted(p.name for p in (out / folder).glob("*.pdf")) == ["s1.pdf", "s2.pdf", "s3.pdf"]
        pages = [int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(p)], capture_output=True, text=True)
                               .stdout)[1]) for p in [out / f"{folder}.pdf", *sorted((out / folder).glob("*.pdf"))]]
        assert pages[0] == sum(pages[1:])


def test_each_pdf_holds_its_students_numbers_and_the_keys_the_answers(built):
    out, _ = built
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    sig = {p["key"]: p["significant"] for p in m["problems"]}
    names = {"s1": "Zoë Ångström-Łukasiewicz Adébáyọ̀", "s2": "O'Brien & Sons_100%",
             "s3": "Nguyễn Văn Ánh 王小明 a~b^c\\d{e}#$"}
    for sid, student in m["students"].items():
        sheet, key = _text(out / "worksheets" / f"{sid}.pdf"), _text(out / "keys" / f"{sid}.pdf")
        for text in (sheet, key):  # the name as written (also the CJK one, printed as boxes: ActualText)
            assert names[sid] in " ".join(text.split()) and f"Student id: {sid}" in " ".join(text.split())
        sheet_numbers, key_numbers = _numbers(sheet), _numbers(key)
        for k, entry in student["problems"].items():
            for name in ("X", "W1", "b1", "W2", "b2"):
                assert {fmt(v, sig[k]) for v in np.ravel(entry["given"][name])} <= sheet_numbers, (sid, k, name)
            for name, value in entry["answers"].items():  # to the stated digits, trailing zeros included
                assert {fmt(v, sig[k], zeros=True) for v in np.ravel(value)} <= key_numbers, (sid, k, name)
        assert "Worked solution" in key and "Worked solution" not in sheet
    # Two students' worksheets differ in their numbers.
    w1 = [set(map(str, np.ravel(s["problems"]["p1"]["given"]["W1"]))) for s in m["students"].values()]
    assert w1[0] != w1[1]


def _pages(path) -> list[str]:
    """The text of every page of a PDF."""
    return _text(path).split("\f")[:-1]


def test_every_students_part_has_an_even_page_count_so_duplex_never_mixes_students(built):
    out, _ = built
    for folder, kind in (("worksheets", "worksheet"), ("keys", "answer key")):
        parts: list[list[str]] = []  # per student in the bundle, their pages' footers ("" on a blank page)
        for page in _pages(out / f"{folder}.pdf"):
            footer = re.search(rf"{kind} · (s\d)\s+page \d+", page)
            if footer and (not parts or parts[-1][0] != footer[1]):
                parts.append([])
            assert footer or page.strip() == "", page  # a page without a footer is the blank one added
            parts[-1].append(footer[1] if footer else "")
        assert [p[0] for p in parts] == ["s1", "s2", "s3"]
        assert all(len(p) % 2 == 0 for p in parts), [len(p) for p in parts]
        for sid, part in zip(("s1", "s2", "s3"), parts):
            assert len(_pages(out / folder / f"{sid}.pdf")) == len(part)


def test_given_numbers_and_question_statements_stay_on_one_page(built):
    out, _ = built
    for sid in ("s1", "s2", "s3"):
        for path in (out / "worksheets" / f"{sid}.pdf", out / "keys" / f"{sid}.pdf"):
            pages = _pages(path)
            givens = [p for p in pages if "The given numbers:" in p]
            assert len(givens) == 5  # one per problem, each with its last line (the learning rate) on its page
            assert all(re.search(r"The given numbers:.*η = ", p, re.S) for p in givens)
        for page in _pages(out / "worksheets" / f"{sid}.pdf"):  # a question's statement ends with its points
            assert len(re.findall(r"\(\w\) Compute", page)) == len(re.findall(r"\[[\d.]+ pts?\]", page))


def test_split_pages_are_identical_to_a_one_student_compile(built, tmp_path):
    out, _ = built
    for folder in ("worksheets", "keys"):
        shutil.copy(out / folder / "s3.tex", tmp_path / f"{folder}.tex")
        subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"{folder}.tex"], cwd=tmp_path,
                       capture_output=True, check=True)
        for name, source in (("single", tmp_path / f"{folder}.pdf"), ("split", out / folder / "s3.pdf")):
            subprocess.run(["pdftoppm", "-r", "30", "-gray", str(source), str(tmp_path / f"{folder}-{name}")], check=True)
        single = sorted(tmp_path.glob(f"{folder}-single-*.pgm"))
        split = sorted(tmp_path.glob(f"{folder}-split-*.pgm"))
        assert len(single) == len(split) > 1
        for a, b in zip(single, split):
            assert a.read_bytes() == b.read_bytes(), (a.name, b.name)


def test_a_latex_failure_names_the_student_and_shows_the_log(built, tmp_path):
    out, _ = built
    work = tmp_path / "out"
    (work / "keys").mkdir(parents=True)
    for sid in ("s1", "s2"):
        shutil.copy(out / "keys" / f"{sid}.tex", work / "keys" / f"{sid}.tex")
    broken = (work / "keys" / "s2.tex").read_text(encoding="utf-8").replace("\\section*{Instructions}",
                                                                           "\\section*{Instructions}\\nosuchmacro")
    (work / "keys" / "s2.tex").write_text(broken, encoding="utf-8")
    output = Output(work)
    with pytest.raises(pdf.CompileError) as info:
        pdf.compile_class(work, ["s1", "s2"], output, folders=("keys",), progress=False)
    output.close()
    message = str(info.value)
    assert "student s2" in message and "keys/s2.tex" in message and "Undefined control sequence" in message
    assert "\\nosuchmacro" in message and "student s1" not in message
    assert (work / "keys" / "s1.pdf").is_file() and not (work / "keys.pdf").exists()


def test_without_tex_the_tex_files_are_written_and_the_packages_named(built, tmp_path, monkeypatch, capsys):
    root = built[0].parent
    monkeypatch.setattr(pdf.shutil, "which", lambda tool: None)
    status = cli.main(["generate", str(root / "hw.yaml"), "--roster", str(root / "roster.csv"), "--out",
                       str(tmp_path / "o"), "--pdf"])
    err = capsys.readouterr().err
    assert status == 0 and "texlive-latex-base" in err and "texlive-pictures" in err and "qpdf" in err
    assert (tmp_path / "o" / "keys" / "s3.tex").is_file() and not list((tmp_path / "o").rglob("*.pdf"))
