"""The QR code on every exam page: which assignment, which student, which page of how many.

The payload is `hwgen:<assignment>/<k>/<n>/<student id>` (an assignment name has no slash, nor does a student
id, which comes last so that it may hold any other character). segno makes the code; it is drawn in TeX as
rules, one box per run of dark modules, so no image file is needed and the PDF stays vector.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import segno

PREFIX = "hwgen:"
MODULE_MM = 0.6  # one module: 3.5 pixels at 150 dpi; zxing-cpp wants 2 or more
ERROR_LEVEL = "m"  # 15% of the code may be smudged or stapled through


@dataclass(frozen=True)
class PageId:
    """What a page's code says."""

    assignment: str
    student: str
    page: int  # 1-based
    pages: int


def payload(page: PageId) -> str:
    """The text a page's QR code holds."""
    return f"{PREFIX}{page.assignment}/{page.page}/{page.pages}/{page.student}"


def parse(text: str) -> PageId | None:
    """A decoded QR text as a PageId, or None if it is not one of hwgen's."""
    if not text.startswith(PREFIX):
        return None
    parts = text[len(PREFIX):].split("/", 3)
    if len(parts) != 4 or not all(parts) or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    page, pages = int(parts[1]), int(parts[2])
    if not 1 <= page <= pages:
        return None
    return PageId(parts[0], parts[3], page, pages)


def label(page: PageId) -> str:
    """The same, printed small beside the code for people: hw3 / s001 / page 3 of 8."""
    return f"{page.assignment} / {page.student} / page {page.page} of {page.pages}"


@lru_cache(maxsize=256)
def tex(text: str) -> str:
    """The QR code of `text` as plain TeX boxes, 4 modules of quiet zone around it: a row is \\hbox{\\hwgenqrrow
    \\hwgenqrd{dark modules}\\hwgenqrl{light modules}...} (macros of exam.tex.j2, which sets the module size)."""
    code = segno.make(text, error=ERROR_LEVEL, micro=False, boost_error=False)
    rows = []
    for row in map(list, code.matrix_iter(border=4)):
        parts: list[str] = []
        run, colour = 0, row[0]  # type: tuple[int, int | None]
        for module in [*row, None]:
            if module == colour:
                run += 1
                continue
            parts.append((r"\hwgenqrd{%d}" if colour else r"\hwgenqrl{%d}") % run)
            run, colour = 1, module
        rows.append(r"\hbox{\hwgenqrrow" + "".join(parts) + "}")
    return r"\vbox{\offinterlineskip" + "".join(rows) + "}"
