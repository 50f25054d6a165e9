"""User text (names, course titles, instructions) as LaTeX that pdflatex with T1 fonts always compiles.

A library such as pylatexenc maps Unicode to LaTeX commands, but which commands compile depends on the
preamble (fonts, encodings, language packages); these tables are exactly what hwgen's preamble supports:
ASCII specials are escaped, accented Latin letters become accent commands (Vietnamese stacked accents
included: ễ -> \\~{\\^{e}}), and anything else (CJK, Cyrillic, Greek, emoji) becomes a boxed `?` so the
document still compiles. tex_text also gives each non-ASCII word its Unicode as PDF ActualText, so text
copied or extracted from the PDF (pdftotext) is exactly what was written, CJK included.
"""

from __future__ import annotations

import re
import unicodedata

SPECIALS: dict[str, str] = {
    "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
    "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}",
    "\t": " ", "\n": " ", "\r": " ",
    "'": r"\textquotesingle{}", "`": r"\textasciigrave{}", '"': r"\textquotedbl{}",  # as typed, not curly
}

# Combining marks (NFD) -> LaTeX accent command; the base letter goes in braces.
ACCENTS: dict[str, str] = {
    "\u0300": "\\`", "\u0301": "\\'", "\u0302": "\\^", "\u0303": "\\~", "\u0304": "\\=", "\u0306": "\\u",
    "\u0307": "\\.", "\u0308": '\\"', "\u030a": "\\r", "\u030b": "\\H", "\u030c": "\\v", "\u0323": "\\d",
    "\u0326": "\\c", "\u0327": "\\c", "\u0328": "\\k", "\u0331": "\\b",
}

# Marks under the letter: LaTeX puts an accent above only on a letter, not on a letter with a mark below it
# (\`{\d{o}} misplaces the grave), so these go outermost: \d{\`{o}}.
BELOW = frozenset("\u0323\u0326\u0327\u0328\u0331")

# Letters and punctuation without a decomposition that T1 fonts still have.
LETTERS: dict[str, str] = {
    "ß": r"\ss{}", "ẞ": r"\SS{}", "æ": r"\ae{}", "Æ": r"\AE{}", "œ": r"\oe{}", "Œ": r"\OE{}", "ø": r"\o{}",
    "Ø": r"\O{}", "ł": r"\l{}", "Ł": r"\L{}", "đ": r"\dj{}", "Đ": r"\DJ{}", "ð": r"\dh{}", "Ð": r"\DH{}",
    "þ": r"\th{}", "Þ": r"\TH{}", "ı": r"\i{}", "ȷ": r"\j{}", "ŋ": r"\ng{}", "Ŋ": r"\NG{}",
    "\u00a0": "~", "–": r"\textendash{}", "—": r"\textemdash{}", "‘": r"\textquoteleft{}", "’": "'",
    "‚": r"\quotesinglbase{}", "“": r"\textquotedblleft{}", "”": r"\textquotedblright{}",
    "„": r"\quotedblbase{}", "«": r"\guillemotleft{}", "»": r"\guillemotright{}", "‹": r"\guilsinglleft{}",
    "›": r"\guilsinglright{}", "…": r"\dots{}", "¡": r"\textexclamdown{}", "¿": r"\textquestiondown{}",
    "§": r"\S{}", "¶": r"\P{}", "©": r"\copyright{}", "£": r"\pounds{}", "°": r"\textdegree{}",
    "·": r"\textperiodcentered{}", "•": r"\textbullet{}", "€": r"\texteuro{}",
    "×": r"\texttimes{}", "÷": r"\textdiv{}", "±": r"\textpm{}", "µ": r"\textmu{}",
}

MISSING = r"\hwgenmissing{}"  # defined in the preamble: a small boxed ?


_ASCII = str.maketrans(SPECIALS)

_DASHES = re.compile(r"-(?=-)")


def tex_escape(text: str) -> str:
    """Any text as LaTeX that compiles with hwgen's preamble (see the module docstring)."""
    text = str(text)
    if not text.isascii():
        text = "".join(_char(c) for c in _clusters(unicodedata.normalize("NFC", text)))
    else:
        text = text.translate(_ASCII)
    return _DASHES.sub("-{}", text) if "--" in text else text  # 'Anne--Marie' keeps both hyphens


_WORDS = re.compile(r"(\s+)")


def tex_text(text: str) -> str:
    """tex_escape, with each non-ASCII word also carrying its exact Unicode as PDF ActualText (\\hwgenactual),
    so copying or extracting text from the PDF gives the name as written, even where a ? box is printed."""
    text = unicodedata.normalize("NFC", str(text))
    if text.isascii():
        return tex_escape(text)
    return "".join(_actual(word) if not word.isascii() else tex_escape(word) for word in _WORDS.split(text))


def _actual(word: str) -> str:
    """One word as LaTeX, with its Unicode (UTF-16BE hex) as ActualText; \\mbox keeps it on one page."""
    return rf"\hwgenactual{{FEFF{word.encode('utf-16-be').hex().upper()}}}{{\mbox{{{tex_escape(word)}}}}}"


def _clusters(text: str) -> list[str]:
    """Each character with the combining marks that follow it: NFC has no single character for every stack
    (the Yoruba ọ̀ of Adébáyọ̀ stays ọ and a combining grave), and a mark on its own could not be printed."""
    out: list[str] = []
    for c in text:
        if out and unicodedata.combining(c):
            out[-1] += c
        else:
            out.append(c)
    return out


def _char(c: str) -> str:
    """One character (with the combining marks after it) as LaTeX."""
    if c in SPECIALS:
        return SPECIALS[c]
    if " " <= c <= "~":
        return c
    if c in LETTERS:
        return LETTERS[c]
    base, *marks = list(unicodedata.normalize("NFD", c))
    if marks and (" " < base <= "~" or base in LETTERS) and all(m in ACCENTS for m in marks):
        out = LETTERS.get(base, base)
        for mark in sorted(marks, key=lambda m: m in BELOW):  # an accent above a letter, then one below it
            out = f"{ACCENTS[mark]}{{{out}}}"
        return out
    if marks and " " < base <= "~":
        return base  # an accent pdflatex has no command for (e.g. Vietnamese hook above) is left off
    compat = unicodedata.normalize("NFKD", c)
    if compat != c and all(" " <= k <= "~" or k in ACCENTS for k in compat):
        return "".join(_char(k) for k in compat if k not in ACCENTS)
    return MISSING
