"""`hwgen list` and `hwgen solve`: the problem bank and worked solutions of single variants."""

from __future__ import annotations

import argparse
import json
import sys

from .. import bank
from ..render.text import worked_solution
from ..sampling import sample
from ..variant import load_given, solve_variant


def register(sub: argparse._SubParsersAction) -> None:
    """Add `list` and `solve`."""
    p = sub.add_parser("list", help="list the templates in the problem bank",
                       description="List the problem templates in the bundled problem bank.")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("solve", help="solve one variant of a template: worked solution or canonical JSON",
                       description="Draw the variant of TEMPLATE for --seed (or take --given numbers) and print "
                                   "its worked solution: for each step the formula, the numbers put in, the result.")
    p.add_argument("template", metavar="TEMPLATE", help="a template name from `hwgen list`, or a path to a YAML file")
    p.add_argument("--seed", type=int, default=1, help="variant seed (default 1); same seed, same numbers")
    p.add_argument("--given", metavar="FILE.json",
                   help="solve these numbers instead: X, Y, W1, b1, W2, b2 in canonical orientation, optionally lr")
    p.add_argument("--json", action="store_true", help="print the variant as JSON instead of text: template, seed, network, "
                                                            "given and answers (canonical orientation, README 'Commands')")
    p.set_defaults(func=cmd_solve)


def cmd_list(args: argparse.Namespace) -> int:
    """Print each template's name and one-line description."""
    templates = [bank.load(p) for p in bank.template_paths()]
    width = max(len(t.name) for t in templates)
    for t in templates:
        print(f"{t.name:<{width}}  {t.description}")
    return 0


def cmd_solve(args: argparse.Namespace) -> int:
    """Print one variant's worked solution or its canonical JSON."""
    template = bank.load(args.template)
    if args.given:
        given, lr = load_given(args.given, template)
        variant = solve_variant(template, given, seed=None, lr=lr)
    else:
        variant = sample(template, args.seed)
    if args.json:
        json.dump(variant.to_json(), sys.stdout)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(worked_solution(variant))
    return 0
