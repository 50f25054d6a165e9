"""YAML files that remember the line of every key and item, so errors can name the line to fix."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterable

# jsonschema imports rfc3987_syntax for its "iri" format checks when that package is installed (Jupyter
# brings it), which builds a grammar for about a second at every start; hwgen's schemas use no formats.
sys.modules.setdefault("rfc3987_syntax", None)

import jsonschema  # noqa: E402
import yaml  # noqa: E402

from . import bundled  # noqa: E402
from .errors import InputFileError  # noqa: E402


class LineDict(dict):
    """A mapping from YAML with `lines[key]` = the 1-based line of that key."""

    lines: dict[Any, int]
    line: int


class LineList(list):
    """A sequence from YAML with `lines[i]` = the 1-based line of item i."""

    lines: list[int]
    line: int


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps line numbers and refuses duplicate keys."""


def _mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    out = LineDict()
    out.lines, out.line = {}, node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise yaml.MarkedYAMLError(problem=f"duplicate key {key!r} (first on line {out.lines[key]})",
                                       problem_mark=key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.lines, out.line = [child.start_mark.line + 1 for child in node.value], node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


def read_text(path: Path, error: type[InputFileError] = InputFileError) -> str:
    """A file's UTF-8 text; a file that cannot be read is an `error` naming it."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(path, None, f"cannot read the file ({exc})", "check the path and that it is UTF-8 text") from None


def load_yaml(path: Path, error: type[InputFileError] = InputFileError) -> Any:
    """Parse a YAML file; a syntax error names the file, the line and the likely fix."""
    return parse_yaml(read_text(path, error), path, error)


def parse_yaml(text: str, path: Path, error: type[InputFileError] = InputFileError) -> Any:
    """Parse YAML text; `path` names it in errors, which give the line and the likely fix."""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise error(path, line, f"not valid YAML: {what}",
                    "check indentation (spaces, not tabs), colons after keys and closing brackets") from None
    except yaml.YAMLError as exc:
        raise error(path, None, f"not valid YAML: {exc}", "check the file's syntax") from None


def line_of(data: Any, path: Iterable[Any]) -> int | None:
    """The line of the deepest key or item on `path` that the file has."""
    line = getattr(data, "line", None)
    for key in path:
        lines = getattr(data, "lines", None)
        try:
            line = lines[key] if lines is not None else line
            data = data[key]
        except (KeyError, IndexError, TypeError):
            break
    return line


def _fix(err: jsonschema.ValidationError) -> str:
    """A sentence on how to fix one schema violation."""
    if err.validator == "enum":
        return "use one of: " + ", ".join(map(str, err.validator_value))
    if err.validator == "required":
        missing = [k for k in err.validator_value if k not in err.instance]
        return "add the key " + ", ".join(missing)
    if err.validator == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        return "remove or rename it" + (f"; allowed keys here: {', '.join(allowed)}" if allowed else "")
    if err.validator == "type":
        return f"write a {err.validator_value} here"
    bank = bundled("problem_bank")
    return err.schema.get("description", f"compare with a bundled template (`hwgen list`; the files are in {bank})")


def validate(data: Any, schema: dict, path: Path, error: type[InputFileError] = InputFileError) -> None:
    """Check data against a JSON schema; the first problem becomes an error with its line and fix."""
    err = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(data))
    if err is None:
        return
    where, message = list(err.absolute_path), err.message
    node = _at(data, where)
    if err.validator == "additionalProperties":
        extra = [k for k in err.instance if k not in err.schema.get("properties", {})]
        where, message = where + extra[:1], f"unknown key {extra[0]!r}"
    elif isinstance(node, dict) and isinstance(err.instance, str) and err.instance in node:
        where = where + [err.instance]  # a bad key name (propertyNames): point at the key itself
    dotted = ".".join(map(str, where)) or "the file"
    raise error(path, line_of(data, where), f"{dotted}: {message}", _fix(err))


def _at(data: Any, path: list) -> Any:
    """The value at `path` (keys and indexes) inside data."""
    for key in path:
        data = data[key]
    return data
