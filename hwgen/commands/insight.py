"""`hwgen misconceptions`: which catalogued mistakes the class made, counted per item."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..grade.insight import csv_text, misconception_counts, table_text
from ..outdir import writing_into
from .grade import open_class


def register(sub: argparse._SubParsersAction) -> None:
    """Add `misconceptions`."""
    p = sub.add_parser("misconceptions", help="count the known mistakes the class made, per item",
                       description="From DIR/gradebook.db: for every problem and asked quantity, how many graded "
                                   "students made each catalogued misconception (forgot the activation derivative, "
                                   "transposed gradient, ...), most frequent first.")
    p.add_argument("dir", metavar="DIR", type=Path, help="the class folder (graded with `hwgen grade`)")
    p.add_argument("--csv", metavar="FILE.csv", type=Path, help="also write the counts as CSV")
    p.set_defaults(func=cmd_misconceptions)


def cmd_misconceptions(args: argparse.Namespace) -> int:
    """Print the table; optionally write the CSV."""
    _, book = open_class(args.dir)
    with book:
        counts = misconception_counts(book)
    sys.stdout.write(table_text(counts))
    if args.csv:
        with writing_into(args.csv, "--csv"):
            args.csv.write_text(csv_text(counts), encoding="utf-8", newline="")
        print(f"hwgen misconceptions: {len(counts)} rows -> {args.csv}", file=sys.stderr)
    return 0
