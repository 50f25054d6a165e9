"""hwgen: per-student backpropagation homework, worked solutions and a safe, fair autograder."""

from pathlib import Path

__version__ = "0.1.0"


def bundled(name: str) -> Path:
    """A folder shipped with hwgen (problem_bank, templates): inside the installed package, or beside it in a
    source checkout."""
    here = Path(__file__).resolve().parent
    return here / name if (here / name).is_dir() else here.parent / name
