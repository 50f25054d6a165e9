"""Grading: run submissions in a sandbox, check answers against the manifest, record a gradebook."""
