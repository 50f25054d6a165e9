"""Renderers: plain text, LaTeX and notebooks, all reading steps and traces."""

from __future__ import annotations

from pathlib import Path

from .. import bundled


def templates_dir() -> Path:
    """The bundled Jinja2 sources."""
    return bundled("templates")
