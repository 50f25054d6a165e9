"""The worked solution as plain text: for each step the formula, the numbers put in, and the result."""

from __future__ import annotations

import re

from ..numfmt import counted, text_array
from ..variant import Variant
from .steps import PHASES, worked_steps

_TEXT = [
    (r"\textstyle\sum_{i}", "Σ_i"), (r"\sum", "Σ"), (r"\odot", "⊙"), (r"\oslash", "⊘"), (r"\sigma", "σ"),
    (r"^{\top}", "ᵀ"), (r"^{2}", "²"), (r"\left", ""), (r"\right", ""), (r"\log", "log"), (r"\tanh", "tanh"),
    (r"\max", "max"), (r"\cdot", "·"), (r"\,", ""),
    (r"\begin{bmatrix} ", "["), (r" \end{bmatrix}", "]"), (r" \\ ", "; "), (" & ", ", "),  # a calculus key's matrix
]
_FRAC = re.compile(r"\\frac\{([^{}]*)\}\{([^{}]*)\}")


def tex_to_text(tex: str) -> str:
    """A table formula as readable plain text: \\frac{1}{n} -> 1/n, \\odot -> ⊙."""
    text = _FRAC.sub(lambda m: f"{m[1]}/{m[2]}" if m[2].isalnum() else f"{m[1]}/({m[2]})", tex)
    for tex_op, plain in _TEXT:
        text = text.replace(tex_op, plain)
    return re.sub(r" +", " ", text).strip()


def _model(variant: Variant) -> str:
    """One line saying what is computed: the network, or the graph's nodes."""
    net, graph, calc = variant.template.network, variant.template.graph, variant.template.calculus
    if calc:
        functions = "; ".join(f"{f.name}({', '.join(f.arguments)}) = {list(f.texts) if f.vector else f.text}"
                              for f in calc.functions)
        compose = f"; composition {' o '.join(calc.compose)}" if calc.compose else ""
        return f"Functions of {', '.join(calc.variables)}: {functions}{compose}"
    if graph:
        return f"Computation graph: {'; '.join(f'{n} = {e}' for n, e in graph.nodes)}; output {graph.output}"
    assert net
    return (f"Network {'-'.join(map(str, net.sizes))}: {', '.join(net.activations[:-1])} hidden, {net.activations[-1]} "
            f"output, loss {net.loss}{f', weight decay {net.weight_decay:g}' if net.weight_decay else ''}, learning "
            f"rate {variant.lr:g}")


def worked_solution(variant: Variant) -> str:
    """The whole worked solution of one variant, in its template's display notation."""
    t, show = variant.template, variant.template.display
    sig = t.significant
    origin = "given numbers" if variant.seed is None else f"seed {variant.seed}"
    out = [f"{t.title}  [{t.name}, {origin}]", t.description, "", _model(variant) + f"; answers to {sig} significant "
           "digits.", *([] if t.graph or t.calculus else [show.note()]), "", "Given"]
    out += [f"  {shown.label} = {text_array(shown.value, sig)}" for shown in show.given(variant.given, t.problem)]
    phase = None
    for w in worked_steps(variant, symbol=str, number=lambda v: text_array(v, sig)):
        if w.step.phase != phase:
            phase = w.step.phase
            out += ["", PHASES[phase]]
        name = w.step.name
        tag = f"   [asked, {counted(w.points, 'pt')}]" if w.points else ""
        out += [f"  {name} = {tex_to_text(w.formula)}{tag}",
                f"  {' ' * len(name)} = {tex_to_text(w.numbers)}",
                f"  {' ' * len(name)} = {text_array(w.result, sig)}"]
    return "\n".join(out) + "\n"
