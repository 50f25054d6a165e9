"""YAML files that remember the line of every key and item, so errors can name the line to fix."""

from __future__ import annotations

import math
import os
import stat
import sys
from pathlib import Path
from typing import Any, Callable, Iterable

# jsonschema imports rfc3987_syntax for its "iri" format checks when that package is installed (Jupyter
# brings it), which builds a grammar for about a second at every start; hwgen's schemas use no formats.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]  # None there is documented: import fails

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


MAX_BYTES = 4 * 2**20  # an instructor's YAML or CSV file; anything larger is a mistake (or an attack)
MAX_DEPTH = 64  # nesting of lists and mappings in a YAML file
SYNTAX_FIX = "check indentation (spaces, not tabs), colons after keys and closing brackets"


class _Refused(yaml.MarkedYAMLError):
    """A YAML value hwgen refuses, with the fix for it."""

    def __init__(self, node: yaml.Node | yaml.Event, what: str, fix: str) -> None:
        super().__init__(problem=what, problem_mark=node.start_mark)
        self.fix = fix


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps line numbers and refuses duplicate keys, aliases, deep nesting, non-finite numbers,
    integers too long to convert and impossible dates."""

    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        """Compose one node; an alias (which can expand a few lines into billions of values) or nesting deeper
        than MAX_DEPTH is refused before anything is built."""
        if self.check_event(yaml.AliasEvent):
            raise _Refused(self.peek_event(), "YAML aliases (*name) are not accepted",
                           "write the value out in full instead of referring to an &anchor")
        if self.depth >= MAX_DEPTH:
            raise _Refused(self.peek_event(), f"nested more than {MAX_DEPTH} levels deep",
                           "flatten the lists and mappings here")
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    out = LineDict()
    out.lines, out.line = {}, node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise _Refused(key_node, f"duplicate key {key!r} (first on line {out.lines[key]})",
                           "keep one of the two, or rename one")
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.lines, out.line = [child.start_mark.line + 1 for child in node.value], node.start_mark.line + 1
    return out


def _scalar(build: Callable[[_Loader, yaml.ScalarNode], Any], check: Callable[[Any], bool], what: str,
            fix: str) -> Callable[[_Loader, yaml.ScalarNode], Any]:
    """A constructor that builds a value with `build` and refuses it (naming its line) if it fails `check`."""

    def construct(loader: _Loader, node: yaml.ScalarNode) -> Any:
        try:
            value = build(loader, node)
        except ValueError as exc:
            raise _Refused(node, f"{what} ({exc})", fix) from None
        if not check(value):
            raise _Refused(node, f"{what}: {node.value if len(node.value) <= 40 else node.value[:37] + '...'}", fix)
        return value

    return construct


# YAML tag -> (SafeLoader's constructor, the check every value must pass, what is wrong, the fix).
_SCALARS: dict[str, tuple[Callable[[_Loader, yaml.ScalarNode], Any], Callable[[Any], bool], str, str]] = {
    "tag:yaml.org,2002:float": (yaml.SafeLoader.construct_yaml_float, math.isfinite, "not a finite number",
                                "write an ordinary number (.nan and .inf are not accepted)"),
    "tag:yaml.org,2002:int": (yaml.SafeLoader.construct_yaml_int, lambda v: abs(v) < 10**100,
                              "not a usable whole number", "write a number with fewer digits"),
    "tag:yaml.org,2002:timestamp": (yaml.SafeLoader.construct_yaml_timestamp, lambda v: True, "not a real date",
                                    "write a date that exists, such as 2026-12-01, or put it in quotes to keep it "
                                    "as text"),
}
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)
for _tag, (_build, _check, _what, _fix_text) in _SCALARS.items():
    _Loader.add_constructor(_tag, _scalar(_build, _check, _what, _fix_text))


def read_text(path: Path, error: type[InputFileError] = InputFileError, encoding: str = "utf-8") -> str:
    """A regular file's text, at most MAX_BYTES; a file that cannot be read is an `error` naming it."""
    fix = "check the path and that it is a UTF-8 text file"
    try:
        with open(path, "rb") as f:
            info = os.fstat(f.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise error(path, None, "not a regular file", fix)
            data = f.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise error(path, None, f"the file is larger than {MAX_BYTES // 2**20} MiB", fix)
        return data.decode(encoding)
    except (OSError, UnicodeDecodeError) as exc:
        raise error(path, None, f"cannot read the file ({exc})", fix) from None


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
        what = what if len(what) <= 200 else what[:197] + "..."
        raise error(path, line, f"not valid YAML: {what}", getattr(exc, "fix", SYNTAX_FIX)) from None
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


# JSON schema type -> how an instructor would call it.
KINDS = {"object": "a mapping (key: value lines)", "array": "a list", "string": "text", "number": "a number",
         "integer": "a whole number", "boolean": "true or false", "null": "nothing"}


def _kind(value: Any) -> str:
    """What a YAML value is, in words (never the value itself)."""
    if value is None:
        return "nothing"
    for kind, types in (("boolean", bool), ("integer", int), ("number", float), ("string", str), ("array", list),
                        ("object", dict)):
        if isinstance(value, types):
            return KINDS[kind]
    return type(value).__name__


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
        kinds = [err.validator_value] if isinstance(err.validator_value, str) else err.validator_value
        return "write " + " or ".join(KINDS.get(k, k) for k in kinds) + " here"
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
    if not where or len(repr(err.instance)) > 40:  # never a whole file: one that is not YAML would be shown
        message = message.replace(repr(err.instance), f"the value ({_kind(err.instance)})")
    message = message if len(message) <= 200 else message[:197] + "..."
    dotted = ".".join(map(str, where)) or "the file"
    raise error(path, line_of(data, where), f"{dotted}: {message}", _fix(err))


def _at(data: Any, path: list) -> Any:
    """The value at `path` (keys and indexes) inside data."""
    for key in path:
        data = data[key]
    return data
