"""A calculus problem on the worksheet and in the key: the functions with the student's parameters put in, the
point, the questions (numbers, or expressions for `<q>_expr`), and the worked key (sympy's derivative, the numbers
put in, the value: the steps' own LaTeX, as for every problem). hwgen/render/latex.py hands a calculus problem here.
"""

from __future__ import annotations

from functools import lru_cache
from string import Template as Slots
from typing import Any, Callable

import numpy as np
import sympy as sp

from .. import questions
from ..calculus import Calculus, bracket
from ..numfmt import tex_array
from ..problem import ProblemSpec
from ..variant import Variant
from .latex import Record, Tex, environment, points_text, prose
from .steps import SLOT, worked_steps

Array = np.ndarray
PHASES = {"forward": "Values", "backward": "Derivatives"}


def _args(names: tuple[str, ...] | list[str]) -> str:
    """x, y as LaTeX."""
    return ", ".join(names)


def symbol(calc: Calculus, name: str) -> str:
    """A calculus quantity's LaTeX: f, \\nabla f, J_{F}, D(F \\circ G), a parameter or variable as it is."""
    base = name[:-len(questions.EXPR)] if name.endswith(questions.EXPR) else name
    head, _, rest = base.partition("_")
    if head == "grad" and rest:
        tex = rf"\nabla {rest}"
    elif head == "J" and rest:
        tex = rf"J_{{{rest}}}"
    elif head == "D" and calc.compose and rest == "_".join(calc.compose):
        tex = rf"D({calc.compose[0]} \circ {calc.compose[1]})"
    else:
        tex = base if len(base) == 1 else rf"\mathit{{{base}}}"
    if base != name:
        return f"{tex}({_args(calc.variables if head == 'D' else calc.function(rest).arguments)})"
    return tex


def description(calc: Calculus, name: str) -> str:
    """What a calculus quantity is, in words (with $...$ math)."""
    outer = calc.function(calc.compose[0]) if calc.compose else None
    at = f" at $({_args(outer.arguments)}) = {calc.compose[1]}(x_0)$" if outer else " at the point"  # type: ignore[index]
    if name.endswith(questions.EXPR):
        base = name[:-len(questions.EXPR)]
        names = calc.variables if base.startswith("D_") else calc.function(base.split("_", 1)[1]).arguments
        return f"{description(calc, base).split(' at ')[0]} as expressions in ${_args(names)}$ (your parameters put in)"
    head, _, rest = name.partition("_")
    if head == "grad":
        return f"gradient of ${rest}$ at the point"
    if head == "J":
        return f"Jacobian of ${rest}$ (one row per component){at if outer and rest == outer.name else ' at the point'}"
    if head == "D":
        return f"derivative of ${symbol(calc, name)[2:-1]}$ at $x_0$ by the chain rule"
    if outer and name in outer.arguments:
        k = outer.arguments.index(name)
        return f"component {k + 1} of ${calc.compose[1]}$ at the point"  # type: ignore[index]
    fn = calc.function(name)
    return f"value of ${name}${at if fn is outer else ' at the point'}"


def _kind_text(value: Array | None) -> str:
    """What kind of answer: a number, a row of 2, a 2 by 2 matrix, expressions."""
    if value is None:
        return "expressions"
    if value.ndim == 0:
        return "a number"
    return f"a row of {value.shape[0]}" if value.ndim == 1 else f"a {value.shape[0]} by {value.shape[1]} matrix"


def _sympy_tex(expr: sp.Expr) -> str:
    """sympy's LaTeX of an expression, products with a dot."""
    return sp.latex(expr, mul_symbol="dot")


def _function_tex(calc: Calculus, name: str, values: dict[str, float], column: bool = False) -> str:
    """Function `name` with the student's parameters put in, simplified by sympy: (3 x + 2 y)^2; a vector function
    as a row (or a column)."""
    fn = calc.function(name)
    entries = [_sympy_tex(e) for e in calc.sympy(fn, values)]
    if not fn.vector:
        return entries[0]
    return bracket([[e] for e in entries], True) if column else bracket([entries], False)


def functions_tex(calc: Calculus, values: dict[str, float]) -> list[Tex]:
    """Each function with the student's parameters put in: f(x, y) = (3 x + 2 y)^2, F as a column."""
    return [Tex(f"{fn.name}({_args(fn.arguments)}) = {_function_tex(calc, fn.name, values, column=True)}")
            for fn in calc.functions]


def _expression_key(calc: Calculus, name: str, values: dict[str, float]) -> str:
    """A symbolic answer's key: the derivative with the parameters put in, simplified, as LaTeX."""
    from ..grade.symbolic import chain_keys, keys
    base = name[:-len(questions.EXPR)]
    if base.startswith("D_"):
        rows = chain_keys(calc, values)[0]
        vector = calc.function(calc.compose[0]).vector  # type: ignore[index]
    else:
        fn = calc.function(base.split("_", 1)[1])
        rows, vector = keys(calc, fn, values)[0], fn.vector
    return bracket([[_sympy_tex(sp.simplify(e)) for e in row] for row in rows], vector)


def problem(number: int, spec: ProblemSpec, variant: Variant) -> Record:
    """Everything the worksheet and key print about one calculus problem of one student (as latex._problem)."""
    t, sig = variant.template, variant.template.significant
    calc = t.calculus
    assert calc
    values = {p: float(variant.trace[p]) for p in calc.parameters}
    letters = {q: chr(ord("a") + i) for i, q in enumerate(spec.asked)}
    named = _symbol_of(calc)
    worked = list(worked_steps(variant, symbol=named, number=lambda v: tex_array(v, sig, True),
                               given=lambda v: tex_array(v, sig)))
    put = {k: f"({tex_array(v, sig)})" if v < 0 else tex_array(v, sig) for k, v in values.items()}
    functions = {fn.name for fn in calc.functions}
    steps: list[Record] = []
    for w in worked:  # the student's own function (parameters put in), never the template's parameter letters
        expr = f"{w.step.name}{questions.EXPR}"
        own = (_function_tex(calc, w.step.name, values) if w.step.name in functions else
               named_slots(Slots(t.display.formula(w.step)).safe_substitute(put), named))
        derivative = w.step.role == "derivative"
        simplified = _expression_key(calc, expr, values) if derivative or expr in spec.asked else ""  # sympy: once
        steps.append(_step(calc, w.step.name, w.step.phase, letters, spec, Tex(simplified if derivative else own),
                           [Tex(w.numbers)], Tex(tex_array(w.result, sig, True))))
        if expr in spec.asked:
            steps.append(_step(calc, expr, "backward", letters, spec, Tex(own), [], Tex(simplified)))
    point = ", ".join(f"{v} = {tex_array(variant.trace[v], sig)}" for v in calc.variables)
    record = Record(
        number=number, key=spec.key, title=t.title, points=points_text(spec.points),
        functions=functions_tex(calc, values), point=Tex(point), significant=sig,
        compose=Tex(rf"{calc.compose[0]} \circ {calc.compose[1]}") if calc.compose else None,
        instructions=prose(t.instructions),
        questions=[Record(symbol=Tex(symbol(calc, q)), description=prose(description(calc, q)),
                          points=points_text(pts), shape=_kind_text(None if q.endswith(questions.EXPR) else
                                                                    np.asarray(variant.trace[q])),
                          room=round(2.2 + 0.55 * _rows(variant.trace.get(q)), 2))
                   for q, pts in spec.asked.items()],
        phases=[Record(title=title, steps=[s for s in steps if s.phase == phase]) for phase, title in PHASES.items()],
    )
    macros: Any = environment().get_template("calculus.tex.j2").module  # attributes: the template's macros
    record.intro = Tex(macros.problem_intro(record))
    return record


def named_slots(pattern: str, named: Callable[[str], str]) -> str:
    """A formula's remaining $name slots filled with the names' symbols."""
    return SLOT.sub(lambda m: named(m[1]), pattern)


def _rows(value: Any) -> int:
    """How many lines an answer takes when written out (a symbolic one: as many as a matrix)."""
    return 2 if value is None else (1 if np.ndim(value) < 2 else int(np.shape(value)[0]))


def _step(calc: Calculus, name: str, phase: str, letters: dict[str, str], spec: ProblemSpec, formula: Tex,
          numbers: list[Tex], result: Tex) -> Record:
    """One worked step of the key."""
    return Record(name=name, phase=phase, symbol=Tex(symbol(calc, name)), description=prose(description(calc, name)),
                  question=letters.get(name), points=points_text(spec.asked.get(name, 0)), formula=formula,
                  numbers=numbers, result=result)


@lru_cache(maxsize=64)
def _symbol_of(calc: Calculus) -> Callable[[str], str]:
    """symbol() of this declaration as a one-argument function (worked_steps caches its plan per function)."""
    return lambda name: symbol(calc, name)
