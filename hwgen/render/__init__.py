"""Renderers: plain text, LaTeX and notebooks, all reading steps and traces."""

from __future__ import annotations

from pathlib import Path


def templates_dir() -> Path:
    """The bundled Jinja2 sources: inside the installed package, or beside it in a source checkout."""
    package = Path(__file__).resolve().parent.parent
    return package / "templates" if (package / "templates").is_dir() else package.parent / "templates"
