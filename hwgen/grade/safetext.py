"""Text that came from a student (a message, a file or folder name, a child's report) made safe to keep and show:
valid UTF-8, no control characters (a terminal would obey an escape sequence), bounded in size; and CSV cells
that a spreadsheet will not run as a formula."""

from __future__ import annotations

import re

MAX_CHARS = 2000  # one message or flag; a longer one is cut, saying how much was left out
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")  # keeps \t and \n
_FORMULA = ("=", "+", "-", "@", "\t", "\r")  # what Excel, LibreOffice and Google Sheets read as a formula
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def clean(text: object, limit: int = MAX_CHARS) -> str:
    """`text` as valid UTF-8 without control or bidi-override characters (shown as \\xNN or \\uNNNN), at most
    `limit` characters."""
    text = str(text)
    if len(text) > limit:
        text = text[:limit] + f"... ({len(text) - limit} more characters)"
    text = _SURROGATE.sub("\ufffd", text)
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def csv_cell(text: str) -> str:
    """A CSV cell that no spreadsheet evaluates: text starting like a formula gets a leading apostrophe."""
    return "'" + text if text.startswith(_FORMULA) and not _NUMBER.fullmatch(text) else text
