"""Parse an arithmetic expression (a graph node, later a student's symbolic answer) into a small tree, safely.

The text goes through Python's own parser (`ast.parse` in 'eval' mode) and the tree is then walked, keeping ONLY
whitelisted node types: numbers, names from an allowed set, + - * /, unary minus (and plus), `**` by a number,
and calls of whitelisted functions by name with a fixed number of arguments. Nothing is ever evaluated or
compiled by Python. Attributes, subscripts, lambdas, comprehensions, keywords, strings, comparisons and every
other construct are refused, and so are input longer than MAX_CHARS, nesting deeper than MAX_DEPTH, more than
MAX_NODES nodes, literals beyond MAX_LITERAL and exponents beyond MAX_EXPONENT (10**10**10 has a non-number
exponent and is refused before anything is computed).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Iterable, Union

from .errors import HwgenError

MAX_CHARS = 400  # characters of one expression
MAX_DEPTH = 32  # nesting of operations (a + b + c + ... nests one level per term)
MAX_NODES = 200  # operations, names and numbers
MAX_LITERAL = 1e6  # largest number written
MAX_EXPONENT = 8  # largest |p| in a ** p

# Function name -> number of arguments, as written (the graph builder's op table holds what they compute).
FUNCTIONS: dict[str, int] = {"exp": 1, "log": 1, "sqrt": 1, "sigmoid": 1, "tanh": 1, "relu": 1, "max": 2, "sum": 1}
_BINARY = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div"}


class ExpressionError(HwgenError):
    """An expression that is not one of the allowed forms; the message says what and where."""


@dataclass(frozen=True)
class Num:
    """A number."""

    value: float


@dataclass(frozen=True)
class Name:
    """A given quantity or an earlier node, by name."""

    id: str


@dataclass(frozen=True)
class Op:
    """An operation (add sub mul div neg pow, or a function name) of its arguments; pow's second is a Num."""

    op: str
    args: tuple[Expr, ...]


Expr = Union[Num, Name, Op]


def parse(text: str, names: Iterable[str], functions: Iterable[str] = FUNCTIONS) -> Expr:
    """The tree of `text`, whose names must all be in `names` and calls in `functions` (a subset of FUNCTIONS);
    ExpressionError for anything else."""
    if not isinstance(text, str):
        raise ExpressionError(f"expected an expression as text, not {type(text).__name__}")
    if len(text) > MAX_CHARS:
        raise ExpressionError(f"the expression is {len(text)} characters long; at most {MAX_CHARS} are allowed")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        raise ExpressionError(f"{text!r} is not an expression: {getattr(exc, 'msg', exc)}") from None
    walker = _Walker(frozenset(names), text, tuple(f for f in FUNCTIONS if f in set(functions)))
    return walker.walk(tree.body, 0)


class _Walker:
    """Turns whitelisted ast nodes into Expr, counting nodes and depth."""

    def __init__(self, names: frozenset[str], text: str, functions: tuple[str, ...]) -> None:
        self.names, self.text, self.functions, self.count = names, text, functions, 0

    def fail(self, node: ast.AST, what: str) -> ExpressionError:
        """An error naming the column of `node`."""
        return ExpressionError(f"{what} (at column {getattr(node, 'col_offset', 0) + 1} of {self.text!r})")

    def walk(self, node: ast.AST, depth: int) -> Expr:
        """The Expr of one whitelisted node."""
        self.count += 1
        if depth > MAX_DEPTH or self.count > MAX_NODES:
            raise self.fail(node, f"the expression is too large (at most {MAX_NODES} parts, nested {MAX_DEPTH} deep)")
        if isinstance(node, ast.Constant):
            return Num(self.number(node))
        if isinstance(node, ast.Name):
            if node.id not in self.names:
                raise self.fail(node, f"unknown name {node.id!r}; the names here are "
                                      f"{', '.join(sorted(self.names))}")
            return Name(node.id)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            inner = self.walk(node.operand, depth + 1)
            return Op("neg", (inner,)) if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return Op(_BINARY[type(node.op)], (self.walk(node.left, depth + 1), self.walk(node.right, depth + 1)))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            return Op("pow", (self.walk(node.left, depth + 1), Num(self.exponent(node.right))))
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        kind = type(node.op if isinstance(node, (ast.BinOp, ast.UnaryOp)) else node).__name__
        raise self.fail(node, f"{kind} is not allowed; write numbers, names, + - * /, ** by a "
                              f"number and {', '.join(self.functions)}")

    def number(self, node: ast.Constant) -> float:
        """A literal number within MAX_LITERAL (no bool, complex or string)."""
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(node, f"{value!r} is not a number")
        if not abs(value) <= MAX_LITERAL:
            raise self.fail(node, f"the number {value!r} is too large (at most {MAX_LITERAL:g})")
        return float(value)

    def exponent(self, node: ast.AST) -> float:
        """The p of a ** p: a number (or its negative) within MAX_EXPONENT."""
        sign = 1.0
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            sign, node = (-1.0 if isinstance(node.op, ast.USub) else 1.0), node.operand
        if not isinstance(node, ast.Constant):
            raise self.fail(node, "an exponent must be a number, e.g. x ** 2")
        p = sign * self.number(node)
        if abs(p) > MAX_EXPONENT:
            raise self.fail(node, f"the exponent {p:g} is too large (at most {MAX_EXPONENT})")
        return p

    def call(self, node: ast.Call, depth: int) -> Expr:
        """A whitelisted function called by name with its number of positional arguments."""
        if not isinstance(node.func, ast.Name) or node.func.id not in self.functions:
            raise self.fail(node, f"only these functions may be called: {', '.join(self.functions)}")
        name, arity = node.func.id, FUNCTIONS[node.func.id]
        if node.keywords or len(node.args) != arity or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail(node, f"{name} takes {arity} argument{'s' if arity > 1 else ''}, written by position")
        return Op(name, tuple(self.walk(a, depth + 1) for a in node.args))


def names_in(expr: Expr) -> list[str]:
    """The distinct names an expression reads, in order of first appearance."""
    if isinstance(expr, Name):
        return [expr.id]
    if isinstance(expr, Op):
        return list(dict.fromkeys(n for a in expr.args for n in names_in(a)))
    return []
