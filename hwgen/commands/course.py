"""`hwgen override` (an instructor's manual grade, with who, when and why) and `hwgen report` (the class report)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import HwgenError
from ..grade import overrides
from ..grade.gradebook import now
from ..grade.totals import class_totals
from ..outdir import writing_into
from .grade import open_class


def register(sub: argparse._SubParsersAction) -> None:
    """Add `override` and `report`."""
    p = sub.add_parser("override", help="set one student's points by hand (an item, a problem or the assignment)",
                       description="Record a manual grade in DIR/gradebook.db with who, when and why: the points of one "
                                   "item (--problem and --quantity), one whole problem (--problem) or the whole "
                                   "assignment (neither). It replaces the checks' points there, survives regrading, "
                                   "and shows in feedback, exports and the report; --clear removes it. The late "
                                   "penalty, if any, is taken off afterwards.")
    p.add_argument("dir", metavar="DIR", type=Path, help="the class folder (graded with `hwgen grade`)")
    p.add_argument("--student", metavar="ID", required=True, help="the student's id")
    p.add_argument("--problem", metavar="P", help="the problem key (p1, p2, ...); without it, the whole assignment")
    p.add_argument("--quantity", metavar="Q", help="an asked quantity of the problem (L, dW1, ...); without it, the "
                                                   "whole problem")
    p.add_argument("--points", metavar="X", type=float, help="the points to give (0 to the most the scope is worth)")
    p.add_argument("--reason", metavar="TEXT", help="why, in a sentence (shown to the student in feedback)")
    p.add_argument("--by", metavar="NAME", help="who overrides (default: your login name)")
    p.add_argument("--clear", action="store_true", help="remove the override of this scope instead")
    p.set_defaults(func=cmd_override)

    p = sub.add_parser("report", help="the class report: DIR/report.html with charts, or --text",
                       description="One self-contained HTML page (charts as inline SVG; opens offline and prints): the "
                                   "score distribution; per problem and item the share correct, correct with error "
                                   "carried forward, wrong and missing; item discrimination; the most frequent named "
                                   "misconceptions with their teaching message; a check whether an item's success "
                                   "depends on the student's numbers; late submissions, overrides and copy flags.")
    p.add_argument("dir", metavar="DIR", type=Path, help="the class folder (graded with `hwgen grade`)")
    p.add_argument("--out", metavar="FILE.html", type=Path, help="where to write the page (default DIR/report.html)")
    p.add_argument("--text", action="store_true", help="print the same tables in the terminal instead")
    p.set_defaults(func=cmd_report)


def cmd_override(args: argparse.Namespace) -> int:
    """Record or clear one override and print the student's new score."""
    manifest, book = open_class(args.dir, readonly=False)
    if args.student not in manifest.students:
        raise HwgenError(f"--student {args.student!r} is not in {manifest.path}\n  fix: check the id (as in the roster)")
    most = overrides.most_points(manifest, args.problem, args.quantity)
    problem, quantity = args.problem or "", args.quantity or ""
    with book:
        if args.student not in book.submissions():
            raise HwgenError(f"student {args.student!r} has not been graded yet\n  fix: run `hwgen grade {args.dir}` first")
        if args.clear:
            if args.points is not None or args.reason is not None:
                raise HwgenError("--clear takes no --points or --reason\n  fix: leave them out")
            if not overrides.clear(book, args.student, problem, quantity):
                raise HwgenError(f"{args.student} has no override of {overrides.scope_text(problem, quantity)}\n  fix: "
                                 f"check --problem and --quantity (`hwgen report {args.dir} --text` lists overrides)")
            what = "cleared"
        else:
            if args.points is None or args.reason is None:
                raise HwgenError("an override needs --points and --reason\n  fix: e.g. --points 2 --reason 'seen on paper'")
            reason = overrides.check_text(args.reason, "--reason", "'answer on paper, checked by hand'")
            by = overrides.check_text(args.by, "--by", "'Prof. Noether'") if args.by is not None else overrides.author()
            entry = overrides.Override(args.student, problem, quantity, overrides.check_points(args.points, most),
                                       reason, by, now())
            overrides.put(book, entry)
            what = entry.note()
        total = class_totals(book)[args.student]
    print(f"hwgen override: {args.student}: {what}; score now {total.score:.6g} of {manifest.max_points:g}", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write the HTML report, or print its tables."""
    from ..report import page  # matplotlib is imported only for the report
    from ..report.stats import class_stats

    manifest, book = open_class(args.dir)
    with book:
        stats = class_stats(manifest, book)
    if args.text:
        sys.stdout.write(page.text(stats))
        return 0
    out = args.out or args.dir / "report.html"
    with writing_into(out):
        out.write_text(page.html(stats), encoding="utf-8")
    print(f"hwgen report: {len(stats.roster)} students, {len(stats.items)} items -> {out}", file=sys.stderr)
    return 0
