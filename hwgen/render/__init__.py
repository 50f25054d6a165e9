"""Renderers: plain text, LaTeX and notebooks, all reading steps and traces."""
