"""PDFs of a generated class, fast: many students in one pdflatex run, split per student with qpdf.

Every worksheet and key has the same preamble; its body starts with \\hwgenstudent, which starts a
fresh page, resets the page number and every counter, and records in <job>.pages how many pages came
before it. So the bodies of many students, after one copy of the preamble, typeset each student's pages
exactly as a one-student run does (there are no labels or cross-references); qpdf then cuts the class
PDF at the recorded pages. Chunks of students run in parallel; the class bundles are the chunks joined.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from tqdm import tqdm

from .errors import HwgenError
from .outdir import Output

DEBIAN_PACKAGES = "texlive-latex-base texlive-latex-recommended texlive-pictures lmodern qpdf"
TOOLS = ("pdflatex", "qpdf")
MAX_CHUNK = 25  # students per pdflatex run
BEGIN, END = "\\begin{document}\n", "\\end{document}\n"
PDFLATEX = ("pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape")
TIMEOUT = 600  # seconds for one pdflatex run


class CompileError(HwgenError):
    """LaTeX failed on some students' files."""


def missing_tools() -> list[str]:
    """The programs --pdf needs that are not installed."""
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def install_hint(missing: Sequence[str]) -> str:
    """What to tell a user whose machine lacks pdflatex or qpdf."""
    return (f"{' and '.join(missing)} not found, so no PDFs were made (the .tex files are written). "
            f"To compile them, install TeX Live and qpdf, e.g. on Debian or Ubuntu:\n"
            f"  sudo apt-get install {DEBIAN_PACKAGES}\nthen run the same command again with --force.")


def split_document(text: str) -> tuple[str, str]:
    """(preamble up to and including \\begin{document}, body up to \\end{document})."""
    head, sep, rest = text.partition(BEGIN)
    body, sep2, _ = rest.rpartition(END)
    if not sep or not sep2 or not body.startswith("\\hwgenstudent"):
        raise ValueError("not a document written by hwgen generate")
    return head + BEGIN, body


@dataclass(frozen=True)
class Doc:
    """One student's .tex file and the PDF to make of it."""

    student: str
    tex: Path
    pdf: Path


@dataclass
class PdfSummary:
    """What a --pdf run made."""

    pdfs: int = 0
    bundles: list[Path] = field(default_factory=list)
    runs: int = 0  # pdflatex runs
    failures: list[str] = field(default_factory=list)


def _log_excerpt(log: str) -> str:
    """The lines of a LaTeX log that say what went wrong: from the first `!` line to its `l.N` line."""
    lines = log.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("!")), None)
    if start is None:
        return "\n".join(lines[-8:])
    end = next((i for i in range(start, min(start + 15, len(lines))) if re.match(r"l\.\d+ ", lines[i])), start + 6)
    return "\n".join(lines[start:end + 1])


def _pdflatex(build: Path, name: str, source: str) -> tuple[bool, str]:
    """Run pdflatex on `source` as build/name.tex: (success, log text)."""
    (build / f"{name}.tex").write_text(source, encoding="utf-8")
    try:
        subprocess.run([*PDFLATEX, f"{name}.tex"], cwd=build, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return False, f"pdflatex did not finish in {TIMEOUT} s"
    log = (build / f"{name}.log").read_text(encoding="latin-1") if (build / f"{name}.log").exists() else ""
    return (build / f"{name}.pdf").is_file() and "Output written on" in log, log


def _starts(build: Path, name: str) -> list[int]:
    """The pages that came before each student's first page in build/name.pdf."""
    return [int(line) for line in (build / f"{name}.pages").read_text().split()]


def _pages(log: str) -> int:
    """The page count pdflatex reports in its log."""
    found = re.search(r"Output written on .*?\((\d+) pages?", log, re.S)
    assert found is not None, "a pdflatex run that succeeded says how many pages it wrote"
    return int(found[1])


def _qpdf(*args: str) -> None:
    """Run qpdf, which writes deterministic files."""
    subprocess.run(["qpdf", "--deterministic-id", *args], check=True, stdout=subprocess.DEVNULL)


def compile_chunk(docs: Sequence[Doc], build: Path, name: str) -> tuple[Path | None, list[str]]:
    """Compile students in one pdflatex run and split it into their PDFs: (chunk PDF, failure reports).

    If the run fails, each student is compiled alone, so the others still get their PDFs and the report
    names the student, the file and the log lines of the error.
    """
    build.mkdir(parents=True, exist_ok=True)
    parts = [split_document(doc.tex.read_text(encoding="utf-8")) for doc in docs]
    if all(head == parts[0][0] for head, _ in parts):
        ok, log = _pdflatex(build, name, parts[0][0] + "".join(body for _, body in parts) + END)
        if ok:
            starts, total = _starts(build, name), _pages(log)
            if len(starts) == len(docs):
                for doc, first, last in zip(docs, starts, starts[1:] + [total]):
                    _qpdf("--empty", "--pages", str(build / f"{name}.pdf"), f"{first + 1}-{last}", "--", str(doc.pdf))
                return build / f"{name}.pdf", []
    failures = []
    for k, doc in enumerate(docs):
        ok, log = _pdflatex(build, f"{name}-{k}", doc.tex.read_text(encoding="utf-8"))
        if ok:
            shutil.copyfile(build / f"{name}-{k}.pdf", doc.pdf)
        else:
            failures.append(f"LaTeX failed on {doc.tex} (student {doc.student}):\n{_log_excerpt(log)}")
    return None, failures


def compile_one(tex: Path, target: Path) -> None:
    """One document (not a student's) compiled on its own, e.g. a class's compact key; CompileError with the log's
    lines if LaTeX fails."""
    with tempfile.TemporaryDirectory(prefix="hwgen-pdf-") as tmp:
        ok, log = _pdflatex(Path(tmp), "doc", tex.read_text(encoding="utf-8"))
        if not ok:
            raise CompileError(f"LaTeX failed on {tex}:\n{_log_excerpt(log)}")
        shutil.copyfile(Path(tmp) / "doc.pdf", target)


def chunk_size(students: int, kinds: int, jobs: int) -> int:
    """Students per run: about two runs per worker, so all finish together, and at most MAX_CHUNK each."""
    return max(1, min(MAX_CHUNK, math.ceil(students * kinds / (2 * jobs))))


def compile_class(out: Path, student_ids: Sequence[str], output: Output, *, folders: Sequence[str],
                  jobs: int = 1, progress: bool = True) -> PdfSummary:
    """DIR/<folder>/<id>.pdf for every student, and the bundles DIR/<folder>.pdf in roster order."""
    summary = PdfSummary()
    size = chunk_size(len(student_ids), len(folders), jobs)
    tasks = []
    for folder in folders:
        docs = [Doc(sid, out / folder / f"{sid}.tex", output.reserve(f"{folder}/{sid}.pdf")) for sid in student_ids]
        tasks += [(folder, k, docs[start:start + size]) for k, start in enumerate(range(0, len(docs), size))]
    bundles = {folder: output.reserve(f"{folder}.pdf") for folder in folders}
    output.flush()
    bar = tqdm(total=len(student_ids) * len(folders), unit="pdf", desc="pdflatex", delay=0.5, disable=not progress)
    with tempfile.TemporaryDirectory(prefix="hwgen-pdf-") as tmp, ThreadPoolExecutor(max(1, jobs)) as pool:
        futures = [pool.submit(compile_chunk, docs, Path(tmp) / f"{folder}-{k}", "class") for folder, k, docs in tasks]
        chunks: dict[str, list[Path | None]] = {folder: [] for folder in folders}
        for (folder, _, docs), future in zip(tasks, futures):
            pdf, failures = future.result()
            chunks[folder].append(pdf)
            summary.failures += failures
            summary.pdfs += len(docs) - len(failures)
            bar.update(len(docs))
        bar.close()
        summary.runs = len(tasks)
        if summary.failures:
            raise CompileError(f"{len(summary.failures)} of {len(student_ids) * len(folders)} files did not compile "
                               f"(the others have their PDFs; no class bundles were written).\n\n"
                               + "\n\n".join(summary.failures[:3]))
        for folder, pdfs in chunks.items():
            if all(pdfs):
                _qpdf("--empty", "--pages", *map(str, pdfs), "--", str(bundles[folder]))
            else:  # some chunk was compiled student by student
                _qpdf("--empty", "--pages", *(str(out / folder / f"{sid}.pdf") for sid in student_ids), "--",
                      str(bundles[folder]))
            summary.bundles.append(bundles[folder])
    return summary
