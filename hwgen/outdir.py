"""The output folder of `hwgen generate`: never mixed with an older run, never touching files hwgen did not write.

Every file hwgen creates in DIR is recorded (one relative path a line) in DIR/.hwgen-outputs, and hwgen
never overwrites a file that is already there. A folder holding that record is an earlier run: it is
refused unless --force, which deletes exactly the recorded files (and folders left empty by that), then
starts afresh. A file in the way that hwgen did not write stops the run instead; files of your own beside
hwgen's (notes, the assignment itself) are left alone.
"""

from __future__ import annotations

import errno
import os
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Iterable, Iterator, Mapping, TextIO

from .errors import HwgenError

RECORD = ".hwgen-outputs"
KNOWN_FOLDERS = 256
_HEADER = "# Files written by hwgen generate; `hwgen generate --force` deletes exactly these.\n"


class OutputError(HwgenError):
    """The output folder cannot be used as it is."""


def _inside(out: Path, rel: str) -> Path:
    """out/rel for a relative POSIX path that stays inside out."""
    parts = PurePosixPath(rel).parts
    if not parts or PurePosixPath(rel).is_absolute() or ".." in parts:
        raise OutputError(f"refusing the output path {rel!r}: it is not a plain relative path inside {out}\n  fix: "
                          f"{out / RECORD} was edited; delete the lines hwgen did not write, or choose another --out")
    return out.joinpath(*parts)


def recorded(out: Path) -> list[str]:
    """The relative paths an earlier run recorded in out/.hwgen-outputs (empty if there was none)."""
    record = out / RECORD
    if record.is_symlink() or (record.exists() and not record.is_file()):
        raise _in_the_way(record)  # hwgen's record is a plain file; a link could make it read or write elsewhere
    if not record.exists():
        return []
    try:
        lines = record.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise OutputError(f"{record} cannot be read ({exc})\n  fix: if hwgen did not write it, move it away; "
                          "else delete it and the files of that run by hand") from None
    return list(dict.fromkeys(line for line in lines if line and not line.startswith("#")))


def remove_previous(out: Path) -> list[str]:
    """Delete the files an earlier run recorded, and folders that leaves empty; return the files that went."""
    removed: list[str] = []
    folders: set[Path] = set()
    for rel in recorded(out):
        path = _inside(out, rel)
        if path.is_file() or path.is_symlink():
            path.unlink()
            removed.append(rel)
        folders.update(p for p in path.parents if out in p.parents)
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    (out / RECORD).unlink()
    return removed


# errno -> what it means for the output folder, and the fix
_OS_ERRORS: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("the disk is full", "free some space or choose another {flag}, then run again (with --force "
                                       "after `hwgen generate`: it deletes the files that run wrote)"),
    errno.EDQUOT: ("the disk quota is used up", "free some space or choose another {flag}, then run again"),
    errno.EROFS: ("the file system is read-only", "choose a {flag} path on a writable disk"),
    errno.EPERM: ("the operation is not permitted (an immutable folder or file?)",
                  "check the folder's permissions and attributes (ls -l, lsattr; chattr -i), or choose another {flag}"),
    errno.EACCES: ("permission denied", "check the folder's permissions (ls -l), or choose another {flag}"),
    errno.ENOENT: ("a folder on the way does not exist or cannot be created", "choose another {flag}"),
    errno.ENOTDIR: ("a part of the path is not a folder", "choose another {flag}"),
    errno.EISDIR: ("it is a folder", "give a file name to {flag}"),
    errno.EEXIST: ("a file is in the way where a folder should be", "move it away, or choose another {flag}"),
}


@contextmanager
def writing_into(out: Path, flag: str = "--out") -> Iterator[None]:
    """Turn an OSError while writing into `out` (given as `flag`) into an OutputError: which file, what it
    means, and the fix."""
    try:
        yield
    except OSError as exc:
        what, fix = _OS_ERRORS.get(exc.errno or 0, (exc.strerror or str(exc), "check the folder, or choose another {flag}"))
        raise OutputError(f"cannot write {exc.filename or out}: {what} ({exc.strerror})\n"
                          f"  fix: {fix.format(flag=flag)}") from None


def _in_the_way(path: Path) -> OutputError:
    """The error for a file that hwgen did not write."""
    return OutputError(f"{path} is in the way and was not written by hwgen, so hwgen will neither overwrite nor "
                       "delete it\n  fix: move it away, or choose another --out")


def _taken(path: Path) -> bool:
    """Whether something is at `path`, a broken symbolic link included."""
    return path.exists() or path.is_symlink()


def add_to_record(out: Path, rels: Iterable[str]) -> None:
    """Record files that another hwgen command wrote in an earlier run's folder (feedback pages), so that the next
    `generate --force` deletes them with the rest; nothing is recorded where no run is."""
    if (out / RECORD).is_file():
        with open(out / RECORD, "a", encoding="utf-8") as record:
            record.writelines(f"{rel}\n" for rel in rels)


def prepare(out: Path, files: Iterable[str], folders: Iterable[str], force: bool) -> list[str]:
    """Make `out` ready for a fresh run writing these top-level files and into these folders (module docstring);
    the files of the earlier run that --force deleted."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out} exists and is not a folder\n  fix: choose another --out")
    if out.is_symlink() and not out.exists():
        raise OutputError(f"{out} is a symbolic link to {os.readlink(out)}, which does not exist\n"
                          "  fix: remove the link, or choose another --out")
    recorded(out)  # a record that is a link, a folder or unreadable stops the run here
    if (out / RECORD).is_file():
        if not force:
            raise OutputError(f"{out} holds the output of an earlier hwgen run; hwgen does not mix two runs\n"
                              f"  fix: add --force to replace it (hwgen deletes only the files it wrote, listed in "
                              f"{out / RECORD}), or choose another --out")
        removed = remove_previous(out)
    else:
        removed = []
    for name in sorted(files):
        if _taken(out / name):
            raise _in_the_way(out / name)
    for name in sorted(folders):
        if _taken(out / name) and not (out / name).is_dir():
            raise _in_the_way(out / name)
    out.mkdir(parents=True, exist_ok=True)
    return removed


def create(out: Path, files: Mapping[str, str], replace: bool = False) -> None:
    """Create text files (relative path -> content) as UTF-8 that an Output recorded (Output.reserve), in any
    process; a file already there is in the way, unless `replace` (a file of this run, written again)."""
    for rel, text in files.items():
        path = _inside(out, rel)
        try:
            with open(path, "wb" if replace else "xb") as f:
                f.write(text.encode("utf-8"))
        except FileExistsError:
            raise _in_the_way(path) from None


class Output:
    """Creates files in the output folder, each recorded in .hwgen-outputs; never replaces a file it did not create."""

    def __init__(self, out: Path) -> None:
        self.out = out
        fresh = not (out / RECORD).exists()
        self._record: TextIO = open(out / RECORD, "a", encoding="utf-8")
        if fresh:
            self._record.write(_HEADER)
        self._folders: set[Path] = set()  # folders known to exist (the latest few: memory stays flat)

    def reserve(self, rel: str) -> Path:
        """Record `rel` as hwgen's and return its path, its folder created; refuse if something is already there."""
        path = _inside(self.out, rel)
        if path.parent not in self._folders:
            path.parent.mkdir(parents=True, exist_ok=True)
            if len(self._folders) >= KNOWN_FOLDERS:
                self._folders.clear()
            self._folders.add(path.parent)
        if _taken(path):
            raise _in_the_way(path)
        self._record.write(rel + "\n")
        return path

    def flush(self) -> None:
        """Write the record out (before other processes create the reserved files)."""
        self._record.flush()

    def close(self) -> None:
        """Flush the record to disk."""
        self._record.flush()
        os.fsync(self._record.fileno())
        self._record.close()
