"""The `hwgen` command: one sub-command per module in hwgen.commands, errors without tracebacks."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from . import __version__
from .errors import HwgenError

# hwgen's own arrays are tiny and its matrix products einsum loops (engine.mm), so OpenBLAS's thread pool would
# only spin at start-up (about 0.1 s of CPU a run); this must happen before the commands below import NumPy.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# Each module has `register(subparsers)`, which adds its sub-commands with `func` set to the handler.
COMMAND_MODULES = ("bank", "generate", "grade", "insight", "exam", "course", "demo")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="hwgen", description="Per-student backpropagation homework: generate, solve and grade.")
    parser.add_argument("--version", action="version", version=f"hwgen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"hwgen.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: run one sub-command; user errors print as `hwgen: error: ...` with exit status 2."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except HwgenError as exc:
        print(f"hwgen: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hwgen: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
