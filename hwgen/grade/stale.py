"""Notebooks handed in with numbers from before a student's reroll (hwgen.reroll): recognised by their old given cells."""

from __future__ import annotations

import hashlib
from typing import Any, Mapping, Sequence


def given_hash(source: str) -> str:
    """SHA-256 of a given-data cell's source, blanks at either end ignored."""
    return hashlib.sha256(source.strip().encode("utf-8")).hexdigest()


def stale_flags(record: Mapping[str, Any], cells: Sequence[str]) -> list[str]:
    """A flag for each of the student's rerolls whose old given-data cell is among the submitted code cells."""
    if not record.get("rerolls"):
        return []  # most students: no cell to hash
    hashes = {given_hash(cell) for cell in cells}
    return [f"this notebook has the numbers of {', '.join(r['problems'])} from before the student's new variant of "
            f"{r['at']} (hwgen generate --reroll): it was graded against the new numbers"
            for r in record.get("rerolls", []) if isinstance(r, dict) and hashes & set(r.get("old_given", []))]
