"""Errors a user can cause: each message says what is wrong, where, and how to fix it."""

from __future__ import annotations

from pathlib import Path


class HwgenError(Exception):
    """An error the user can fix; the CLI prints it without a traceback."""


class InputFileError(HwgenError):
    """A problem in a file the instructor wrote (template, assignment, roster, given numbers)."""

    def __init__(self, path: str | Path, line: int | None, what: str, fix: str = "") -> None:
        self.path, self.line, self.what, self.fix = str(path), line, what, fix
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {what}" + (f"\n  fix: {fix}" if fix else ""))


class TemplateError(InputFileError):
    """A problem template that cannot be loaded or does not describe a valid problem."""


class OverrideError(HwgenError):
    """An assignment's override of a template that does not fit it; `key` names the override."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


class VariantError(HwgenError):
    """No acceptable variant could be drawn, or given numbers do not fit the network."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason  # why the last draw was rejected, when drawing failed
