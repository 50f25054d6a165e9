"""manifest.json as the grader reads it: problems, each student's variant, grading options."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ..errors import HwgenError, InputFileError
from ..problem import ProblemSpec

MANIFEST = "manifest.json"
FORMAT_PREFIX = "hwgen-manifest/"


@dataclass(frozen=True)
class ClassManifest:
    """A generated class: its assignment, problems (ProblemSpec) and students with their variants."""

    path: Path
    data: dict[str, Any]
    problems: list[ProblemSpec]

    @property
    def assignment(self) -> dict[str, Any]:
        """The `assignment` object (title, name, seed, grading, ...)."""
        return self.data["assignment"]

    @property
    def name(self) -> str:
        """The assignment's safe name: the folder and notebook name students submit."""
        return str(self.assignment.get("name") or "assignment")

    @property
    def title(self) -> str:
        """The assignment's title for people."""
        return str(self.assignment.get("title") or self.name)

    @property
    def grading(self) -> dict[str, Any]:
        """Grading options (`ecf_credit`, `show_expected`, ...)."""
        return dict(self.assignment.get("grading") or {})

    @property
    def students(self) -> dict[str, dict[str, Any]]:
        """Student id -> record (name, email, problems)."""
        return self.data["students"]

    @property
    def max_points(self) -> float:
        """Points of the whole assignment."""
        return sum(p.points for p in self.problems)

    def variables(self) -> list[str]:
        """Every answer variable a notebook must define (p1_Z1, ...), in assignment order."""
        return [spec.variable(q) for spec in self.problems for q in spec.asked]

    @cached_property
    def _common_digest(self) -> str:
        text = json.dumps({"problems": self.data["problems"], "grading": self.grading}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def variant_hash(self, student: str) -> str:
        """Fingerprint of everything a student's grade depends on in the manifest (their variant, the
        problems, the grading options): unchanged means an unchanged submission needs no regrading."""
        record = json.dumps(self.students[student].get("problems", {}), sort_keys=True)
        return hashlib.sha256((self._common_digest + record).encode()).hexdigest()


def load_manifest(folder: str | Path) -> ClassManifest:
    """Read DIR/manifest.json; any problem names the file and how to fix it."""
    path = Path(folder) / MANIFEST
    fix = "run `hwgen generate` for this class first, or give the folder it wrote"
    if not Path(folder).is_dir():
        raise InputFileError(folder, None, "no such folder", fix)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError(path, None, "no manifest.json in this folder", fix) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(path, None, f"cannot read the file ({exc})", fix) from None
    except json.JSONDecodeError as exc:
        raise InputFileError(path, exc.lineno, f"not valid JSON: {exc.msg}",
                             "regenerate it with `hwgen generate`; do not edit it by hand") from None
    if not isinstance(data, dict) or not str(data.get("format", "")).startswith(FORMAT_PREFIX):
        raise InputFileError(path, 1, f"not an hwgen manifest (format should be {FORMAT_PREFIX}1)", fix)
    for key, kind in (("assignment", dict), ("problems", list), ("students", dict)):
        if not isinstance(data.get(key), kind):
            raise InputFileError(path, None, f"`{key}` is missing or not a {kind.__name__}",
                                 "regenerate it with `hwgen generate`")
    try:
        problems = [ProblemSpec.from_manifest(entry) for entry in data["problems"]]
    except (KeyError, TypeError, HwgenError) as exc:
        raise InputFileError(path, None, f"a problem entry cannot be read ({exc})",
                             "regenerate it with `hwgen generate`") from None
    return ClassManifest(path, data, problems)
