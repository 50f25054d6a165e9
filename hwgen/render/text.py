"""The worked solution as plain text: for each step the formula, the numbers put in, and the result."""

from __future__ import annotations

import re
from string import Template as Slots

import numpy as np

from ..numfmt import text_array
from ..variant import Variant

PHASES = {"forward": "Forward pass", "loss": "Loss", "backward": "Backward pass", "update": "One SGD step"}

_TEXT = [
    (r"\textstyle\sum_{i}", "Σ_i"), (r"\sum", "Σ"), (r"\odot", "⊙"), (r"\oslash", "⊘"), (r"\sigma", "σ"),
    (r"^{\top}", "ᵀ"), (r"^{2}", "²"), (r"\left", ""), (r"\right", ""), (r"\log", "log"), (r"\tanh", "tanh"),
    (r"\max", "max"), (r"\cdot", "·"), (r"\,", ""),
]
_FRAC = re.compile(r"\\frac\{([^{}]*)\}\{([^{}]*)\}")


def tex_to_text(tex: str) -> str:
    """A table formula as readable plain text: \\frac{1}{n} -> 1/n, \\odot -> ⊙."""
    text = _FRAC.sub(lambda m: f"{m[1]}/{m[2]}" if m[2].isalnum() else f"{m[1]}/({m[2]})", tex)
    for tex_op, plain in _TEXT:
        text = text.replace(tex_op, plain)
    return re.sub(r" +", " ", text).strip()


def _number(value: np.ndarray, sig: int) -> str:
    """A value to put into a formula; a negative scalar gets parentheses."""
    text = text_array(value, sig)
    return f"({text})" if value.ndim == 0 and value < 0 else text


def worked_solution(variant: Variant) -> str:
    """The whole worked solution of one variant, in its template's display notation."""
    t, trace, show = variant.template, variant.trace, variant.template.display
    sig = t.significant
    d, h, o = t.network.sizes
    out = [f"{t.title}  [{t.name}, seed {variant.seed}]", t.description, "",
           f"Network {d}-{h}-{o}: {t.network.activations[0]} hidden, {t.network.activations[1]} output, "
           f"loss {t.network.loss}, learning rate {variant.lr:g}; answers to {sig} significant digits.",
           show.note(), "", "Given"]
    out += [f"  {shown.label} = {text_array(shown.value, sig)}" for shown in show.given(variant.given)]
    phase = None
    for step in t.steps:
        if step.phase != phase:
            phase = step.phase
            out += ["", PHASES[phase]]
        formula = show.formula(step)
        names = {k: k for k in (*step.inputs, "n", "lr")}
        values = {k: _number(show.value(trace[k]), sig) for k in (*step.inputs, "n", "lr")}
        pts = t.asked.get(step.name)
        tag = f"   [asked, {pts:g} pt{'s' if pts != 1 else ''}]" if pts else ""
        out += [f"  {step.name} = {tex_to_text(Slots(formula).substitute(names))}{tag}",
                f"  {' ' * len(step.name)} = {tex_to_text(Slots(formula).substitute(values))}",
                f"  {' ' * len(step.name)} = {text_array(show.value(trace[step.name]), sig)}"]
    return "\n".join(out) + "\n"
