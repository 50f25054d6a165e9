"""Shape questions (`shape(Q)`, `shape(dZ2 @ W2.T)`, `shape(X, n)`) on the worksheet and in the key, in the
problem's display notation (hwgen/render/latex.py hands them here; notebook cells: render/notebook/shapes.py)."""

from __future__ import annotations

from .. import questions
from ..bank import Template
from ..engine import Problem
from ..grade.shapes import Shape, product_shape, shapes
from ..notation import symbol
from ..problem import ProblemSpec
from .latex import Record, Tex, points_text, prose


def asked(spec: ProblemSpec) -> list[tuple[str, questions.ShapeQuestion]]:
    """The problem's shape questions, in the order asked."""
    return [(q, s) for q in spec.asked if (s := questions.shape_question(q))]


def answer(t: Template, question: questions.ShapeQuestion) -> Shape:
    """The shape a question asks for, as the problem lays its quantities out."""
    return product_shape(question.product, shapes(t, symbolic_n=question.symbolic_n))


def factor_shapes(t: Template, question: questions.ShapeQuestion) -> list[Shape]:
    """Each factor's shape as the problem lays it out (transposed where written with .T)."""
    known = shapes(t, symbolic_n=question.symbolic_n)
    return [known[name][::-1] if transposed else known[name] for name, transposed in question.factors]


def tex_symbol(question: questions.ShapeQuestion, problem: Problem) -> str:
    """shape(δ^{(2)} W^{(2)⊤}) in LaTeX, with `problem`'s symbols."""
    body = " ".join("{" + symbol(problem, name) + "}" + (r"^{\top}" if t else "") for name, t in question.factors)
    return rf"\operatorname{{shape}}\left({body}\right)"


def tex_shape(shape: Shape) -> str:
    """4 \\times 2, n \\times 2."""
    return r" \times ".join(map(str, shape))


def written(shape: Shape) -> str:
    """4 by 2, n by 2."""
    return " by ".join(map(str, shape))


def description(question: questions.ShapeQuestion) -> str:
    """What is asked, in words."""
    what = "the product" if len(question.factors) > 1 else "this quantity"
    n = " for any number of samples $n$" if question.symbolic_n else ""
    return f"shape of {what} as this problem lays it out{n} (rows by columns)"


def latex_questions(spec: ProblemSpec) -> list[Record]:
    """The worksheet's shape questions."""
    problem = spec.template.problem
    return [Record(symbol=Tex(tex_symbol(s, problem)), description=prose(description(s)), points=points_text(spec.asked[q]),
                   shape=f'write "rows by columns", e.g. "{"n" if s.symbolic_n else "4"} by 2"', room=1.0)
            for q, s in asked(spec)]


def latex_steps(spec: ProblemSpec, letters: dict[str, str]) -> list[Record]:
    """The key's shape answers as worked steps: the factors' shapes, then the product's."""
    t, out = spec.template, []
    for q, s in asked(spec):
        factors = r"\,".join(rf"({tex_shape(f)})" for f in factor_shapes(t, s))
        out.append(Record(name=q, phase="shapes", symbol=Tex(tex_symbol(s, t.problem)), description=prose(description(s)),
                          question=letters.get(q), points=points_text(spec.asked[q]), formula=Tex(factors),
                          numbers=[], result=Tex(tex_shape(answer(t, s)))))
    return out
