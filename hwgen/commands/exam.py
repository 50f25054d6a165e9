"""`hwgen scan` (scanned exam pages -> one PDF per student) and `hwgen answers` (the TAs' blank entry sheet)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InputFileError
from ..exam import keys
from ..grade.manifest import load_manifest
from ..numfmt import counted
from ..outdir import writing_into

SHOWN = 20  # report lines of one kind printed before "... and N more"


def register(sub: argparse._SubParsersAction) -> None:
    """Add `scan` and `answers`."""
    p = sub.add_parser("scan", help="sort scanned exam pages into DIR/scans/<id>.pdf by their QR codes",
                       description="Read the QR code on every page of the scanned PDFs (any order, any way up), and "
                                   "write each student's pages in order, turned upright, to DIR/scans/<id>.pdf. "
                                   "Reports pages it could not place and students with missing or duplicate pages. "
                                   "Running it again with more scans adds to what is there.")
    p.add_argument("dir", metavar="DIR", type=Path, help="the class folder written by `hwgen generate --exam`")
    p.add_argument("scans", metavar="SCANS.pdf", type=Path, nargs="+", help="scanned PDF files")
    p.set_defaults(func=cmd_scan)

    p = sub.add_parser("answers", help="write the blank sheet TAs type the students' exam answers into",
                       description="A CSV with a row per student and a column per answer cell, named as in "
                                   "DIR/keys/answers.csv (p1.Z1[i,j], 1-based in the exam's layout; p1.L for a "
                                   "number). Grade the filled-in sheet with `hwgen grade DIR --answers SHEET.csv`.")
    p.add_argument("dir", metavar="DIR", type=Path, help="the class folder")
    p.add_argument("--csv", metavar="SHEET.csv", type=Path, required=True, help="where to write the blank sheet")
    p.set_defaults(func=cmd_answers)


def _lines(title: str, lines: list[str]) -> None:
    """A titled list, cut after SHOWN lines."""
    if lines:
        print(f"{title}:")
        for line in lines[:SHOWN]:
            print(f"  {line}")
        if len(lines) > SHOWN:
            print(f"  ... and {len(lines) - SHOWN} more")


def cmd_scan(args: argparse.Namespace) -> int:
    """Sort the scans; report what could not be placed and who lacks pages."""
    from ..exam import scan  # PDF and QR-code libraries (~0.3 s): imported by this command only, not by every one

    manifest = load_manifest(args.dir)
    for path in args.scans:
        if not path.is_file():
            raise InputFileError(path, None, "no such file", "give the scanned PDF files")
    report = scan.sort_scans(args.dir, args.scans, manifest.name, manifest.students)
    print(f"read {counted(report.pages, 'page')}: placed {report.placed}, could not place {len(report.unplaced)}, "
          f"{counted(len(report.duplicates), 'duplicate')}; wrote {counted(len(report.written), 'student PDF')} in "
          f"{args.dir / scan.FOLDER}")
    _lines("pages not placed", report.unplaced)
    _lines("duplicate pages", report.duplicates)
    _lines("students with pages missing", [f"{sid}: page{'s' if len(ks) > 1 else ''} {', '.join(map(str, ks))}"
                                           for sid, ks in report.missing.items()])
    absent = [sid for sid in manifest.students if sid not in report.missing and not (args.dir / scan.FOLDER /
                                                                                     f"{sid}.pdf").is_file()]
    _lines("students with no pages scanned", absent)
    return 0


def cmd_answers(args: argparse.Namespace) -> int:
    """Write the blank entry sheet."""
    manifest = load_manifest(args.dir)
    if args.csv.exists():
        raise InputFileError(args.csv, None, "already exists, and hwgen does not overwrite a sheet someone may have "
                             "typed into", "give a new file name, or move the old sheet away")
    text = keys.sheet_text(manifest, exact=False)
    with writing_into(args.csv, "--csv"):
        args.csv.write_text(text, encoding="utf-8")
    print(f"wrote {args.csv}: {counted(len(manifest.students), 'student')} x "
          f"{counted(len(keys.header(manifest)) - len(keys.ID_COLUMNS), 'answer cell')}")
    return 0
