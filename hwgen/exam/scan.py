"""Sorting scanned exam pages back to students: every page rendered (pypdfium2), its QR code decoded (zxing-cpp),
and each student's pages assembled in order and turned upright (pypdf, without rasterising them again).

DIR/scans/<id>.pdf holds a student's pages; DIR/scans/index.json records, per student, which page came from
which scan (file hash and page), so that a later run with more scans adds to what is there and a scan read twice
counts once. A page that two different scans both claim is a duplicate (the first is kept and both are reported).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import pypdfium2 as pdfium
import zxingcpp
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError

from ..errors import InputFileError
from ..outdir import Output, recorded
from .qr import PageId, parse

DPI = 150  # what a page is rendered at for decoding: an office scanner's everyday setting
FOLDER = "scans"
INDEX = f"{FOLDER}/index.json"
INDEX_FORMAT = "hwgen-scans/1"
MAX_PAGES = 20_000  # pages in one scan file
QR = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


@dataclass(frozen=True)
class Read:
    """One scanned page: where it is (file, 0-based page), the code found on it (or why none), and the clockwise
    turn in degrees that makes it upright."""

    source: Path
    sha256: str
    index: int
    page: PageId | None
    turn: int = 0
    problem: str = ""


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def decode(image: np.ndarray) -> tuple[PageId | None, int, str]:
    """The hwgen code on a greyscale page image (h, w): (page, clockwise turn to upright, problem if none)."""
    found = {}
    for code in zxingcpp.read_barcodes(np.ascontiguousarray(image), formats=QR):
        page = parse(code.text)
        if page is not None:
            found[page] = (-int(code.orientation)) % 360
    if len(found) > 1:
        return None, 0, "codes of different pages on one page: " + ", ".join(sorted(map(str, found)))
    if not found:
        return None, 0, "no hwgen code found (a blank page, or the code is covered, cut off or too faint)"
    (page, turn), = found.items()
    return page, turn, ""


def read_scan(path: Path) -> Iterator[Read]:
    """Every page of a scanned PDF, decoded."""
    try:
        doc = pdfium.PdfDocument(str(path))
    except (pdfium.PdfiumError, OSError) as exc:
        raise InputFileError(path, None, f"cannot be read as a PDF ({exc})",
                             "give the PDF files your scanner wrote (one or more)") from None
    try:
        if len(doc) > MAX_PAGES:
            raise InputFileError(path, None, f"has {len(doc)} pages, more than {MAX_PAGES}",
                                 "split the scan into smaller files")
        sha = file_sha256(path)
        for i in range(len(doc)):
            image = doc[i].render(scale=DPI / 72, grayscale=True).to_numpy()
            page, turn, problem = decode(image.reshape(image.shape[0], image.shape[1]))
            yield Read(path, sha, i, page, turn, problem)
    finally:
        doc.close()


@dataclass
class Report:
    """What a `hwgen scan` run found."""

    pages: int = 0
    placed: int = 0
    unplaced: list[str] = field(default_factory=list)  # "scan.pdf page 7: why"
    duplicates: list[str] = field(default_factory=list)
    missing: dict[str, list[int]] = field(default_factory=dict)  # student -> pages not yet scanned
    written: list[Path] = field(default_factory=list)


def _misfit(page: PageId | None, assignment: str, students: Mapping[str, Any]) -> str:
    """Why a decoded page is not one of this class's, or ''."""
    if page is not None and page.assignment != assignment:
        return f"its code is for assignment {page.assignment!r}, not {assignment!r}"
    if page is not None and page.student not in students:
        return f"its code names student {page.student!r}, who is not in manifest.json"
    return ""


def _where(read: Read) -> str:
    """scan.pdf page 7."""
    return f"{read.source.name} page {read.index + 1}"


def sort_scans(folder: Path, scans: Sequence[Path], assignment: str, students: Mapping[str, Any]) -> Report:
    """Place every page of `scans` with its student and write DIR/scans/<id>.pdf for each student who got new
    pages (adding to what earlier runs placed); `students`: the manifest's ids."""
    index = _load_index(folder)
    report = Report()
    new: dict[str, dict[int, Read]] = {}
    for scan in scans:
        for read in read_scan(scan):
            report.pages += 1
            page = read.page
            why = read.problem or _misfit(page, assignment, students)
            if why or page is None:
                report.unplaced.append(f"{_where(read)}: {why}")
                continue
            entry = index.setdefault(page.student, {"pages": page.pages, "have": {}})
            known = entry["have"].get(str(page.page))
            if known and (known["sha256"], known["index"]) == (read.sha256, read.index):
                continue  # the same page of the same scan, read again
            if known or page.page in new.get(page.student, {}):
                first = known["source"] if known else _where(new[page.student][page.page])
                report.duplicates.append(f"{page.student} page {page.page} of {page.pages}: in {first} and again in "
                                         f"{_where(read)} (the first is kept)")
                continue
            new.setdefault(page.student, {})[page.page] = read
            report.placed += 1
    output = Output(folder)
    try:
        for sid, reads in new.items():
            report.written.append(_assemble(folder, output, sid, index[sid], reads))
            for k, read in reads.items():
                index[sid]["have"][str(k)] = {"source": _where(read), "sha256": read.sha256, "index": read.index}
        _save_index(folder, output, index)
    finally:
        output.close()
    for sid, entry in index.items():
        lacking = [k for k in range(1, entry["pages"] + 1) if str(k) not in entry["have"]]
        if lacking:
            report.missing[sid] = lacking
    return report


def _load_index(folder: Path) -> dict[str, Any]:
    """The students' placed pages from earlier runs (student -> {pages, have: {k: source}})."""
    path = folder / INDEX
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != INDEX_FORMAT or not isinstance(data.get("students"), dict):
            raise ValueError(f"not a {INDEX_FORMAT} record")
    except (ValueError, AttributeError) as exc:
        raise InputFileError(path, None, f"the record of earlier scans cannot be read ({exc})",
                             f"delete the folder {folder / FOLDER} and run `hwgen scan` again with all the scans") from None
    return data["students"]


def _target(folder: Path, output: Output, rel: str) -> Path:
    """Where to write `rel`: a file of an earlier run is replaced, a new one is recorded first."""
    return folder / rel if rel in set(recorded(folder)) else output.reserve(rel)


def _save_index(folder: Path, output: Output, index: dict[str, Any]) -> None:
    """Write DIR/scans/index.json (atomically)."""
    path = _target(folder, output, INDEX)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps({"format": INDEX_FORMAT, "students": index}, indent=1, sort_keys=True), "utf-8")
    os.replace(partial, path)


def _assemble(folder: Path, output: Output, sid: str, entry: dict[str, Any], reads: Mapping[int, Read]) -> Path:
    """DIR/scans/<id>.pdf: the pages placed before (from the file as it was) and the new ones, in page order."""
    rel = f"{FOLDER}/{sid}.pdf"
    path = _target(folder, output, rel)
    before = sorted(int(k) for k in entry["have"])
    old = _reader(path) if before and path.is_file() else None
    writer = PdfWriter()
    readers: dict[Path, PdfReader] = {}
    for k in sorted(set(before) | set(reads)):
        if k in reads:
            read = reads[k]
            reader = readers.get(read.source) or readers.setdefault(read.source, _reader(read.source))
            page = writer.add_page(reader.pages[read.index])
            if read.turn:
                page.rotate(read.turn)
        elif old is not None:
            writer.add_page(old.pages[before.index(k)])
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as f:
        writer.write(f)
    os.replace(partial, path)
    return path


def _reader(path: Path) -> PdfReader:
    """A scan opened for copying its pages; a file pypdf cannot parse names itself."""
    try:
        return PdfReader(path)
    except (PdfReadError, OSError) as exc:
        raise InputFileError(path, None, f"cannot be read as a PDF to copy its pages ({exc})",
                             "save the scan again as PDF (e.g. print it to PDF) and run `hwgen scan` again") from None
