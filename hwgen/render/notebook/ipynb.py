"""A notebook's .ipynb text: nbformat 4 JSON, keys sorted, one cell a line, written by the json module's C encoder.

nbformat.writes indents every level (json.dumps with indent runs in Python, not in C) and validates and
copies the notebook first: several times the cost of building it. One cell a line reads back as the same
notebook (nbformat.reads, Jupyter, nbgrader) and still diffs cell by cell; the tests validate every notebook.
"""

from __future__ import annotations

import json
from typing import Iterable, NamedTuple


class Cell(NamedTuple):
    """A cell as nbformat holds it, and its line in the .ipynb."""

    data: dict
    text: str


def cell(data: dict) -> Cell:
    """A cell with its text."""
    return Cell(data, _dumps(data))


def _dumps(value: object) -> str:
    """JSON on one line, keys sorted, non-ASCII as it is."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def notebook_text(nb: dict, cells: Iterable[str]) -> str:
    """The .ipynb text of notebook `nb` (its keys other than "cells") with these cell texts, in order."""
    parts = [f" {_dumps(key)}: " + ("[\n  " + ",\n  ".join(cells) + "\n ]" if key == "cells" else _dumps(nb[key]))
             for key in sorted({*nb, "cells"})]
    return "{\n" + ",\n".join(parts) + "\n}\n"


def writes(nb: dict) -> str:
    """The .ipynb text of a notebook."""
    return notebook_text(nb, (_dumps(c) for c in nb["cells"]))
