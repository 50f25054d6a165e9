"""A notebook's .ipynb text, byte for byte what nbformat.writes gives, at a fraction of its cost.

nbformat.writes validates the notebook, deep-copies it, splits every source into lines and calls
json.dumps(indent=1, sort_keys=True, ensure_ascii=False), whose indented form runs in Python, not in C.
Here the same layout is written directly (sources split as nbformat splits them), without validating:
hwgen builds its notebooks from fixed cell constructors, and the tests validate them and compare these
bytes with nbformat.writes. Notebooks this module does not cover (outputs, attachments, transient
metadata) are handed to nbformat.writes.
"""

from __future__ import annotations

from collections import OrderedDict
from json.encoder import encode_basestring
from typing import Any, Callable

import nbformat

_TRANSIENT = ("orig_nbformat", "orig_nbformat_minor", "signature")


def _covered(nb: dict) -> bool:
    """No outputs, attachments or transient metadata: the cases nbformat.writes passes through as they are."""
    return not any(k in nb.get("metadata", {}) for k in _TRANSIENT) and all(
        not cell.get("outputs") and "attachments" not in cell and "trusted" not in cell.get("metadata", {})
        for cell in nb["cells"])


def _float(x: float) -> str:
    """A float as json.dumps writes it (NaN, Infinity and -Infinity included)."""
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "Infinity" if x > 0 else "-Infinity"
    return float.__repr__(x)


_CONSTANTS = {True: "true", False: "false", None: "null"}


class _Lines(list):
    """A source split into lines: strings only (written without checking each)."""


def _write(value: Any, indent: str, out: list[str]) -> None:
    """Append `value` in json.dumps(indent=1, sort_keys=True, ensure_ascii=False) layout at this indent."""
    kind = type(value)
    if kind is str:
        out.append(encode_basestring(value))
    elif kind is bool or value is None:
        out.append(_CONSTANTS[value])
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(_float(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = indent + " "
        sep = "{\n" + inner
        for key in sorted(value):
            item = value[key]
            kind = type(item)
            if kind is str:  # most values: written here rather than in a call of their own
                out.append(sep + encode_basestring(key) + ": " + encode_basestring(item))
            elif kind is bool or item is None:
                out.append(sep + encode_basestring(key) + ": " + _CONSTANTS[item])
            else:
                out.append(sep + encode_basestring(key) + ": ")
                _write(item, inner, out)
            sep = ",\n" + inner
        out.append("\n" + indent + "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner = indent + " "
        if type(value) is _Lines or all(type(v) is str for v in value):
            out.append("[\n" + inner + (",\n" + inner).join(map(encode_basestring, value)) + "\n" + indent + "]")
            return
        sep = "[\n" + inner
        for item in value:
            out.append(sep)
            _write(item, inner, out)
            sep = ",\n" + inner
        out.append("\n" + indent + "]")
    elif isinstance(value, str):
        out.append(encode_basestring(value))
    else:
        raise TypeError(f"not JSON data: {type(value).__name__}")


CELL_INDENT = "  "  # cells stand in the top-level "cells" list


def _cell_text(cell: dict) -> str:
    """One cell as it stands in the notebook's text (at CELL_INDENT, sources split into lines)."""
    if isinstance(cell.get("source"), str):
        cell = {**cell, "source": _Lines(cell["source"].splitlines(True))}
    out: list[str] = []
    _write(cell, CELL_INDENT, out)
    return "".join(out)


def _assemble(nb: dict, cells: list[str]) -> str:
    """The notebook's text from its cells' texts: the top level written as json.dumps sorts and indents it."""
    out, sep = ["{"], "\n "
    for key in sorted(nb):
        out.append(sep + encode_basestring(key) + ": ")
        if key != "cells":
            _write(nb[key], " ", out)
        else:
            out.append("[]" if not cells else "[\n" + CELL_INDENT + (",\n" + CELL_INDENT).join(cells) + "\n ]")
        sep = ",\n "
    out.append("\n}")
    return "".join(out)


def writes(nb: dict) -> str:
    """The notebook as nbformat.writes(nb) writes it (without the trailing newline a file gets)."""
    if not _covered(nb):
        return nbformat.writes(nb)
    return _assemble(nb, [_cell_text(cell) for cell in nb["cells"]])


class CellTexts:
    """A notebook's text and the text of a notebook derived from it cell by cell (the student notebook: each
    of its cells is `derive(cell)`), each distinct cell derived and written once per process: most cells are
    the same in every student's notebook (and a test cell's student version too, though its hidden part is
    not). A cell is known by its whole content (_key); the texts are those of writes(), and at most `size`
    cells of each kind are remembered (the least recently used go first)."""

    def __init__(self, derive: Callable[[dict], dict], size: int = 1024) -> None:
        self.derive, self.size = derive, size
        self._both: OrderedDict[tuple, tuple[str, str]] = OrderedDict()  # cell -> its text, its derived text
        self._texts: OrderedDict[tuple, str] = OrderedDict()  # derived cell -> its text

    def both(self, nb: dict, derived: Callable[[dict], dict]) -> tuple[str, str]:
        """(writes(nb), writes(derived(nb))), where derived(nb) makes every cell of nb as `derive` does."""
        if not _covered(nb):
            return writes(nb), writes(derived(nb))
        texts = [self._remembered(self._both, cell, lambda c: (_cell_text(c), self._text(self.derive(c))))
                 for cell in nb["cells"]]
        return _assemble(nb, [t for t, _ in texts]), _assemble(nb, [d for _, d in texts])

    def _text(self, cell: dict) -> str:
        """_cell_text(cell), remembered."""
        return self._remembered(self._texts, cell, _cell_text)

    def _remembered(self, memo: OrderedDict, cell: dict, make: Callable[[dict], Any]) -> Any:
        """make(cell), from `memo` when a cell with the same content was made before."""
        key = _key(cell)
        made = memo.get(key)
        if made is None:
            made = memo[key] = make(cell)
            if len(memo) > self.size:
                memo.popitem(last=False)
        else:
            memo.move_to_end(key)
        return made


def _key(cell: dict) -> tuple:
    """A cell's whole content as a dict key: its strings as they are, any other value by repr (which tells
    JSON values apart: True from 1, 1 from 1.0, 0.0 from -0.0), at a fraction of json.dumps' cost."""
    return tuple((k, v) if type(v) is str else (k, repr(v), None) for k, v in cell.items())
