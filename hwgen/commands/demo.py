"""`hwgen demo`: generate, submit, grade a small built-in class and print its gradebook."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import demo


def register(sub: argparse._SubParsersAction) -> None:
    """Add `demo`."""
    p = sub.add_parser("demo", help="a small class from generate to gradebook in a few seconds",
                       description="Generate a small built-in class into a fresh folder, simulate its students' "
                                   "submissions (correct, rounded by hand, wrong, blank, broken, an attack, absent), "
                                   "grade them in the sandbox and print the gradebook. No TeX needed.")
    p.add_argument("--out", metavar="DIR", type=Path, default=Path("hwgen-demo"),
                   help="the folder to create (default ./hwgen-demo; an earlier demo there is replaced)")
    p.add_argument("--jobs", metavar="N", type=int, default=0, help="sandbox workers (default: the number of cores)")
    p.set_defaults(func=lambda args: demo.main(args.out, args.jobs))
