"""LaTeX worksheets and answer keys: Jinja2 templates with LaTeX-safe delimiters; all user text escaped.

Templates (templates/latex/) write `\\VAR{x}` and `\\BLOCK{...}`. Whatever a template prints is escaped
for LaTeX (texescape.tex_escape, in the environment's finalize) unless it is `Tex`, which only this module
builds: formulas, numbers and the drawing; and a macro's output, LaTeX whose every \\VAR{} was escaped in
turn, which templates print as `\\VAR{macro(...)|tex}`. (Jinja's HTML autoescaping is off: it would wrap
every printed piece in a new markupsafe.Markup for nothing.) Numbers come from hwgen.numfmt, formulas from
the engine's steps.
"""

from __future__ import annotations

import re
from functools import lru_cache
from string import Template as Slots
from types import SimpleNamespace
from typing import Any, Callable, Mapping

import jinja2
import numpy as np

from .. import questions
from ..bank import Template, graph_shapes
from ..engine import Network
from ..graph import local_derivatives as graph_locals
from ..notation import ONE_HIDDEN, Names, names
from ..numfmt import counted, tex_array, tex_arrays, tex_scalar
from ..problem import ProblemSpec
from ..variant import Variant
from . import templates_dir
from .circuit import STUB, circuit
from .steps import PHASES, Worked, worked_steps
from .texescape import tex_escape, tex_text

Array = np.ndarray

ACTIVATION_WORDS = {"sigmoid": "sigmoid", "relu": "ReLU", "tanh": "tanh", "linear": "linear", "softmax": "softmax"}
COLUMN_STEP = 5.5  # cm between a network drawing's columns (inputs, hidden layers, outputs)
DRAWING_WIDTH = 16.0  # cm: a deeper network's columns come closer so that the drawing keeps its size
DRAWING_HEIGHT = 18.0  # cm: a network whose numbers would make its drawing taller leaves some to the matrices
LABEL_POS = 0.25  # where along an edge its number sits: all of a layer's numbers line up in one column
LABEL_CLEAR = 0.45  # cm between the centres of two numbers in that column
ROW_GAP = LABEL_CLEAR / LABEL_POS  # cm between units of a layer, at least
UNIT_RADIUS = 0.45  # cm: arrows start and end on the units' circles
ARROW_LENGTH, ARROW_HALF_WIDTH = 0.18, 0.06  # cm
PT_PER_CM = 72.27 / 2.54
COUNT_WORDS = {2: "two", 3: "three", 4: "four"}
NODES_PER_LINE = 3  # a graph problem's node rules, this many to a line
_BINARY = ("+", "-", "\\odot", "\\oslash")
_MATRIX_END = ("\\end{bmatrix}", "\\right)", "\\right]", "^{\\top}")
_MATRIX_START = ("\\begin{bmatrix}", "\\left(", "\\left[")
# what nests in a formula; an environment with none inside (a matrix of numbers) is one token, spaces and all
_NESTING = re.compile(r"\\begin\{(\w+)\}(?:(?!\\begin|\\end).)*?\\end\{\1\}|\\left|\\right|\\begin|\\end|\\[{}]|[{}]| ",
                      re.DOTALL)
_PAREN = re.compile(r"(?<!\\left)([(\[])|(?<!\\right)([)\]])")


class Tex(str):
    """LaTeX source, printed as it is."""

    __slots__ = ()


class Naming:
    """How one kind of problem's prose and formulas write its quantities: each name's braced symbol (so that
    ^{\\top} and subscripts can follow it), and the names (longer than one letter) that prose typesets."""

    def __init__(self, known: Names) -> None:
        self.symbols = {k: "{" + v + "}" for k, v in known.symbols.items()}
        self.names = re.compile(r"\b(" + "|".join(sorted((k for k in known.symbols if len(k) > 1), key=len,
                                                          reverse=True)) + r")\b")

    def symbol(self, name: str) -> str:
        """A quantity's LaTeX symbol, braced."""
        return self.symbols[name]


NETWORK = Naming(ONE_HIDDEN)  # the first bank's names: what an assignment's own instructions may mention


@lru_cache(maxsize=256)
def naming(t: Template) -> Naming:
    """How template t's problem writes its quantities."""
    return Naming(names(t.problem))


@lru_cache(maxsize=1 << 10)
def prose(text: str, known: Naming = NETWORK) -> Tex:
    """Prose (instructions, descriptions): the text escaped, each $...$ kept as math (with an odd number of $,
    all text), and a quantity's name in the text typeset as its symbol: Z2 -> $Z^{(2)}$."""
    pieces = text.split("$")
    if len(pieces) % 2 == 0:
        return Tex(_words(text, known))
    return Tex("".join(f"${piece}$" if i % 2 else _words(piece, known) for i, piece in enumerate(pieces)))


def _words(text: str, known: Naming) -> str:
    """Text escaped, with each quantity name (Z2, W1_new, dYhat; not the one-letter X, Y, L, n) as math."""
    return "".join(f"${known.symbol(piece)}$" if i % 2 else _escaped(piece)
                   for i, piece in enumerate(known.names.split(text)))


def _finalize(value: Any) -> Any:
    """What a template prints: Tex and numbers as they are, anything else escaped for LaTeX."""
    if isinstance(value, (Tex, int, float)):
        return value
    return _escaped("" if value is None else str(value))


@lru_cache(maxsize=1 << 12)
def _escaped(text: str) -> str:
    """Text as LaTeX (tex_text): the same few labels and names come back again and again."""
    return tex_text(text)


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The Jinja2 environment for templates/latex: \\VAR{...}, \\BLOCK{...}, \\#{...}, LaTeX escaping by default."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir() / "latex"),
        block_start_string=r"\BLOCK{", block_end_string="}", variable_start_string=r"\VAR{",
        variable_end_string="}", comment_start_string=r"\#{", comment_end_string="}",
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        autoescape=False, finalize=_finalize, undefined=jinja2.StrictUndefined, auto_reload=False)
    env.filters["tex"] = Tex
    return env


@lru_cache(maxsize=1024)
def points_text(points: float) -> str:
    """1 pt, 2 pts, 0.25 pts."""
    return counted(points, "pt")


def _shape_text(value: Array, samples: bool = False) -> str:
    """What kind of answer: a number, a row vector of 3 (a graph's per-sample quantity: 3 numbers), a 2 by 4 matrix."""
    if value.ndim == 0:
        return "a number"
    if value.ndim == 1 and samples:
        return f"{value.shape[0]} numbers"
    if value.ndim == 1:
        return f"a row vector of {value.shape[0]}"
    return f"a {value.shape[0]} by {value.shape[1]} matrix"


def sized(tex: str) -> str:
    """Parentheses and brackets that grow with the matrices inside them: ( -> \\left(, ] -> \\right]."""
    return _PAREN.sub(lambda m: rf"\left{m[1]}" if m[1] else rf"\right{m[2]}", tex)


def pieces(tex: str) -> list[str]:
    """A formula cut where a line may break, at top-level spaces (outside braces, \\left..\\right and
    environments) before an operator or between matrices: 'A \\odot \\left( 1 - B \\right)' ->
    ['A', '{} \\odot \\left( 1 - B \\right)']."""
    out, depth, start = [], 0, 0
    for m in _NESTING.finditer(tex):
        token = m[0]
        if token == " " and depth == 0:
            out.append(tex[start:m.start()])
            start = m.end()
        elif token in ("{", "\\left", "\\begin"):
            depth += 1
        elif token in ("}", "\\right", "\\end"):
            depth -= 1
    out.append(tex[start:])
    return _glue([p for p in out if p])


def _glue(parts: list[str]) -> list[str]:
    """Join parts between which no line should break: a line may break only before a binary operator or
    between two matrices (a product); a piece that starts with an operator gets `{}` to stay binary."""
    out: list[str] = []
    for part in parts:
        if out and part in _BINARY:
            out.append("{} " + part)
        elif out and out[-1].endswith(_MATRIX_END) and part.startswith(_MATRIX_START):
            out.append(part)
        elif out:
            out[-1] += " " + part
        else:
            out.append(part)
    return out


def _pt(cm: float) -> Tex:
    """A length given in cm, written in pt the same way on every machine."""
    return Tex(f"{cm * PT_PER_CM:.2f}")


def _arrow(x1: float, y1: float, x2: float, y2: float) -> tuple[float, ...]:
    """An arrow between two units' circles: start, tip, and the arrowhead's two back corners (cm)."""
    length = float(np.hypot(x2 - x1, y2 - y1))
    ux, uy = (x2 - x1) / length, (y2 - y1) / length
    tip_x, tip_y = x2 - UNIT_RADIUS * ux, y2 - UNIT_RADIUS * uy
    back_x, back_y = tip_x - ARROW_LENGTH * ux, tip_y - ARROW_LENGTH * uy
    return (x1 + UNIT_RADIUS * ux, y1 + UNIT_RADIUS * uy, tip_x, tip_y, back_x - ARROW_HALF_WIDTH * uy,
            back_y + ARROW_HALF_WIDTH * ux, back_x + ARROW_HALF_WIDTH * uy, back_y - ARROW_HALF_WIDTH * ux)


class Record(SimpleNamespace):
    """A thing the templates print (a problem, a step, a weight): fields read as attributes, which Jinja
    looks up first (several times faster than a dict's items), or as items."""

    def __getitem__(self, name: str) -> Any:
        return getattr(self, name)


def drawing(variant: Variant) -> Record:
    """The network: units, arrows between them, and the student's weights and biases on the arrows.

    Each arrow's number sits a quarter of the way from its source, where a source's arrows fan out, so a
    layer's numbers stand in one column; the units are spaced so that numbers in a column never touch. A
    network so wide that this would make the drawing taller than DRAWING_HEIGHT leaves the numbers of the layers
    that need the most room to the given matrices below the drawing.
    """
    t, g = variant.template, variant.given
    assert t.network is not None  # drawn for network templates only
    layout = _layout(t.network.sizes, t.network.activations)
    values = [value for k in range(1, t.network.layers + 1) if layout.numbered[k - 1]
              for w, b in [(g[f"W{k}"], g[f"b{k}"])]
              for j in range(w.shape[1]) for value in [b[j]] + [w[i, j] for i in range(w.shape[0])]]
    weights = [Record(x=x, y=y, number=Tex(text))  # tex_array of a number is tex_scalar
               for (x, y), text in zip(layout.spots, tex_arrays(values, t.significant))]
    return Record(**vars(layout), weights=weights)


def _unit_labels(sizes: tuple[int, ...]) -> list[list[str]]:
    """Each column's unit labels: x_i, the hidden units h_j (h^{(k)}_j with several hidden layers), yhat_k."""
    hidden = len(sizes) - 2
    layers = [[f"x_{{{i + 1}}}" for i in range(sizes[0])]]
    layers += [[f"h_{{{j + 1}}}" if hidden == 1 else f"h^{{({k})}}_{{{j + 1}}}" for j in range(size)]
               for k, size in enumerate(sizes[1:-1], 1)]
    return layers + [[r"\hat{y}" if sizes[-1] == 1 else rf"\hat{{y}}_{{{k + 1}}}" for k in range(sizes[-1])]]


def _captions(activations: tuple[str, ...]) -> list[str]:
    """Each column's caption: inputs, hidden: sigmoid (hidden 1: sigmoid, ... with several), output: linear."""
    words = [ACTIVATION_WORDS[a] for a in activations]
    hidden = [f"hidden: {w}" if len(words) == 2 else f"hidden {k}: {w}" for k, w in enumerate(words[:-1], 1)]
    return ["inputs", *hidden, f"output: {words[-1]}"]


@lru_cache(maxsize=64)
def _layout(sizes: tuple[int, ...], activations: tuple[str, ...]) -> Record:
    """What a drawing of this network has whatever its numbers: units, arrows and captions (as data, and as
    LaTeX from parts.tex.j2's `links` and `units`), and where each weight's number sits (in the order
    drawing() lists the weights: per layer, per target unit its bias, then its inputs). One column per layer,
    COLUMN_STEP apart (narrower when that would be wider than DRAWING_WIDTH)."""
    layers = _unit_labels(sizes)
    step = min(COLUMN_STEP, DRAWING_WIDTH / (len(layers) - 1))
    numbered = [True] * (len(layers) - 1)
    gaps = _gaps(layers, numbered)
    while max((len(labels) + 1) * gap for labels, gap in zip(layers, gaps)) > DRAWING_HEIGHT:
        numbered[max(range(len(numbered)), key=lambda col: gaps[col] * numbered[col])] = False  # the roomiest first
        gaps = _gaps(layers, numbered)
    at = {(col, i): (col * step, ((len(labels) - 1) / 2 - i) * gaps[col])
          for col, labels in enumerate(layers) for i in range(len(labels))}
    at |= {(col, -1): (col * step, (len(layers[col]) + 1) / 2 * gaps[col])  # bias units
           for col in range(len(layers) - 1)}
    units = tuple(Record(x=_pt(x), y=_pt(y), bias=i < 0, label=Tex(layers[col][i]) if i >= 0 else "")
                  for (col, i), (x, y) in at.items())
    links, spots = [], []
    for col in range(len(layers) - 1):
        for j in range(len(layers[col + 1])):
            for i in [-1, *range(len(layers[col]))]:
                (x1, y1), (x2, y2) = at[col, i], at[col + 1, j]
                links.append(tuple(_pt(v) for v in _arrow(x1, y1, x2, y2)))
                if numbered[col]:
                    spots.append((_pt(x1 + LABEL_POS * (x2 - x1)), _pt(y1 + LABEL_POS * (y2 - y1))))
    bottom = _pt(-max((len(labels) - 1) / 2 * gap for labels, gap in zip(layers, gaps)) - 0.9)
    captions = tuple(Record(x=_pt(col * step), y=bottom, text=text)
                     for col, text in enumerate(_captions(activations)))
    left = [k + 1 for k, shown in enumerate(numbered) if not shown]
    note = Tex("") if not left else Tex(
        "The weights and biases of layer" + ("s " if len(left) > 1 else " ") + " and ".join(map(str, left))
        + " are too many to write on the arrows; they are in the given matrices.")
    layout = Record(units=units, links=tuple(links), spots=tuple(spots), captions=captions, numbered=tuple(numbered),
                    note=note)
    parts: Any = environment().get_template("parts.tex.j2").module  # attributes: the template's macros
    layout.links_tex, layout.units_tex = Tex(parts.links(layout)), Tex(parts.units(layout))
    return layout


def _gaps(layers: list[list[str]], numbered: list[bool]) -> list[float]:
    """The room (cm) between the units of each column: a numbered layer's source numbers span LABEL_POS of its
    targets' span, and the next source's numbers must clear them."""
    gaps = [ROW_GAP] * len(layers)
    for col in reversed(range(len(layers) - 1)):
        if numbered[col]:
            span = (len(layers[col + 1]) - 1) * gaps[col + 1]
            gaps[col] = max(ROW_GAP, (LABEL_CLEAR + LABEL_POS * span) / (1 - LABEL_POS))
    return gaps


def _problem(number: int, spec: ProblemSpec, variant: Variant) -> Record:
    """Everything the templates print about one problem of one student."""
    t, show, sig = variant.template, variant.template.display, variant.template.significant
    known, inputs = naming(t), set(t.problem.inputs)
    shown_values = {k: show.value(value, k) for k, value in variant.trace.items()}  # what the worked steps write
    texts: dict[tuple[bool, tuple[int, ...], bytes], str] = {}  # (all digits?, shape, bytes) -> text, made at once
    for zeros in (False, True):
        values = [v for k, v in shown_values.items() if (k not in inputs) == zeros]
        texts |= {(zeros, v.shape, v.tobytes()): text for v, text in zip(values, tex_arrays(values, sig, zeros))}

    def written(value: Array, zeros: bool = False) -> str:
        """tex_array(value, sig, zeros): given numbers as they are, a computed one with all its digits."""
        value = np.asarray(value)
        key = (zeros, value.shape, value.tobytes())
        if key not in texts:
            texts[key] = tex_array(value, sig, zeros)
        return texts[key]

    def computed(value: Array) -> str:
        """A computed value with the stated digits, trailing zeros included: 0.6900."""
        return written(value, True)
    worked = list(worked_steps(variant, symbol=known.symbol, number=computed, style=sized, given=written))
    descriptions = names(t.problem).descriptions
    letters = {q: chr(ord("a") + i) for i, q in enumerate(spec.asked)}
    local = local_derivatives(t)
    steps = [Record(name=w.step.name, phase=w.step.phase, symbol=Tex(known.symbol(w.step.name)),
                    description=prose(descriptions.get(w.step.name, w.step.name), known),
                    question=letters.get(w.step.name), points=points_text(spec.asked.get(w.step.name, 0)),
                    formula=Tex(w.formula), numbers=[Tex(piece) for piece in pieces(w.numbers)],
                    result=Tex(computed(w.result)), local=local.get(w.step.name, ()))
             for w in worked]
    shown = {s.name: f"{s.tex} = {written(s.value)}" for s in show.given(variant.given, t.problem)}
    lines = [[shown[k] for k in group if k in shown] for group in names(t.problem).given_rows]
    constants = {"lr": r"\eta", "lam": r"\lambda"} if t.network else {}
    lines[-1] += [f"{symbol} = {written(variant.trace[k])}" for k, symbol in constants.items() if k in inputs]
    kind = network_intro(variant, worked, written) if t.network else graph_intro(variant, steps)
    return Record(
        number=number, key=spec.key, title=t.title, points=points_text(spec.points), **kind,
        note=prose(show.note(tex=True)) if t.network else Tex(""), instructions=prose(t.instructions, known),
        given=[Tex(r" \qquad ".join(line)) for line in lines],
        questions=[Record(symbol=Tex(known.symbol(q)), description=prose(descriptions[q], known),
                          points=points_text(pts), shape=_shape_text(shown_values[q], bool(t.graph)),
                          room=round(1.6 + 0.55 * _rows(shown_values[q]), 2))
                   for q, pts in spec.asked.items() if q in shown_values] + shape_questions(spec),
        phases=[Record(title=title, steps=[s for s in steps if s.phase == phase]) for phase, title in PHASES.items()
                if any(s.phase == phase for s in steps)] + shape_phase(spec, letters),
    )


@lru_cache(maxsize=64)
def local_derivatives(t: Template) -> dict[str, tuple[Tex, ...]]:
    """Per node of a graph template, its local derivatives as LaTeX: \\frac{\\partial q}{\\partial x} = 1."""
    if not t.graph:
        return {}
    symbol = naming(t).symbols
    return {node: tuple(Tex(rf"\frac{{\partial {symbol[node]}}}{{\partial {symbol[x]}}} = "
                            + Slots(sized(tex)).substitute(symbol))
                        for x, tex in pairs)
            for node, pairs in graph_locals(t.graph, graph_shapes(t.graph, t.given, t.samples)).items()}


def _problem_of(number: int, spec: ProblemSpec, variant: Variant) -> Record:
    """One problem's record by its builder, with `intro`, what worksheet and key both print first (made once)."""
    if variant.template.calculus:
        from .calculus import problem  # sympy, only for a calculus problem
        return problem(number, spec, variant)
    p = _problem(number, spec, variant)
    parts: Any = environment().get_template("parts.tex.j2").module  # attributes: the template's macros
    p.intro = Tex(parts.problem_intro(p))
    return p


def shape_questions(spec: ProblemSpec) -> list[Record]:
    """The problem's shape questions (hwgen/render/shapes.py), if it asks any."""
    if not any(questions.shape_question(q) for q in spec.asked):
        return []
    from .shapes import latex_questions
    return latex_questions(spec)


def shape_phase(spec: ProblemSpec, letters: dict[str, str]) -> list[Record]:
    """The key's part with the shape answers, if the problem asks any."""
    if not any(questions.shape_question(q) for q in spec.asked):
        return []
    from .shapes import latex_steps
    return [Record(title="Shapes", steps=latex_steps(spec, letters))]


def _layers_text(net: Network) -> str:
    """The network in words: 'A 2-3-1 network with sigmoid hidden units and linear output' (several hidden layers:
    'with sigmoid and tanh hidden layers', or 'with two sigmoid hidden layers')."""
    words = [tex_escape(ACTIVATION_WORDS[a]) for a in net.activations]
    hidden, o = words[:-1], net.sizes[-1]
    if len(hidden) == 1:
        units = f"{hidden[0]} hidden units"
    elif len(set(hidden)) == 1:
        units = f"{COUNT_WORDS.get(len(hidden), len(hidden))} {hidden[0]} hidden layers"
    else:
        units = f"{', '.join(hidden[:-1])} and {hidden[-1]} hidden layers"
    return f"A {'-'.join(map(str, net.sizes))} network with {units} and {words[-1]} output{'s' if o > 1 else ''}"


def network_intro(variant: Variant, worked: list[Worked], written: Callable[[Array], str]) -> dict[str, Any]:
    """What a network problem's statement prints before its given numbers: the network in words, the loss and
    the drawing."""
    net = variant.template.network
    assert net
    loss = next(w for w in worked if w.step.name == "L")
    decay = (rf", weight decay $\lambda = {written(variant.trace['lam'])}$ on the weights (not the biases)"
             if net.weight_decay else "")
    return {"network": Tex(f"{_layers_text(net)}, one step of gradient descent with learning rate "
                           rf"$\eta = {written(variant.trace['lr'])}${decay}, answers to {variant.template.significant} "
                           "significant digits, and the loss"),
            "loss": Tex(f"L = {loss.formula}"), "nodes": [], "drawing": drawing(variant), "samples": False, "circuit": None,
            "circuit_key": None}


def circuit_drawing(variant: Variant, values: bool) -> Tex:
    """A graph template's circuit as LaTeX (parts.tex.j2's `circuit`): the given values on their wires, or every
    value above its wire and its gradient below."""
    drawn = circuit(variant, naming(variant.template).symbol, values)
    gates = [Record(**{k: Tex(v) if isinstance(v, str) else v for k, v in g.items()}) for g in drawn["gates"]]
    parts: Any = environment().get_template("parts.tex.j2").module  # attributes: the template's macros
    return Tex(parts.circuit(Record(gates=gates, wires=drawn["wires"], stub=STUB)))


def graph_intro(variant: Variant, steps: list[Record]) -> dict[str, Any]:
    """What a graph problem's statement prints before its given numbers: the graph in words, each node's rule and
    the circuit with the given values (the key's circuit: every value and gradient)."""
    t = variant.template
    assert t.graph
    forward = [s for s in steps if s.phase == "forward"]
    samples = f" over {t.samples} samples" if t.graph.per_sample else ""
    rules = [Tex(f"{s.symbol} = {s.formula}") for s in forward]
    out = naming(t).symbol(t.graph.output)
    return {"network": Tex(f"A computation graph of {len(forward)} nodes{samples} with output ${out}$, answers to "
                           f"{t.significant} significant digits; its nodes, in working order:"),
            "loss": None, "nodes": [Tex(r" \qquad ".join(rules[i:i + NODES_PER_LINE]))
                                    for i in range(0, len(rules), NODES_PER_LINE)],
            "drawing": None, "samples": bool(samples), "circuit": circuit_drawing(variant, values=False),
            "circuit_key": circuit_drawing(variant, values=True)}


def _rows(value: Array) -> int:
    """How many lines an answer takes when written out."""
    return 1 if value.ndim < 2 else value.shape[0]


def _rounding(problems: list[ProblemSpec]) -> Tex:
    """The rounding rule, once for the whole assignment."""
    return _rounding_rule(tuple(sorted({p.template.significant for p in problems})))


@lru_cache(maxsize=64)
def _rounding_rule(digits: tuple[int, ...]) -> Tex:
    """The rounding rule for problems stating these numbers of significant digits (ascending)."""
    rule = (f"{digits[0]} significant digits" if len(digits) == 1
            else "the number of significant digits each problem states")
    examples = ", ".join(f"${tex_scalar(x, digits[0])}$" for x in (0.0474747, -1.234567, 12.34567))
    return Tex(f"Round every number you write down to {rule} (for example {examples}) and carry your rounded "
               "values into later steps; the grading allows for that rounding. Show your work.")


def context(assignment: Any, student: Any, variants: Mapping[str, Variant]) -> dict[str, Any]:
    """The template context of one student: assignment header, student, and every problem."""
    specs = list(assignment.problems)
    paragraphs = [p.strip() for p in assignment.instructions.split("\n\n") if p.strip()]
    a = Record(title=assignment.title, course=assignment.course, due=assignment.due_text,
               points=points_text(sum(p.points for p in specs)), instructions=[prose(p) for p in paragraphs],
               rounding=_rounding(specs), paper=assignment.paper)
    widest = max((variant.template.display.value(value, k).shape[-1] for variant in variants.values()
                  for k, value in variant.trace.items() if np.ndim(value)), default=1)
    problems = [_problem_of(i + 1, spec, variants[spec.key]) for i, spec in enumerate(specs)]
    return {"a": a, "paper": a.paper, "student": student, "matrix_cols": widest, "problems": problems}


def render(template: str, ctx: Mapping[str, Any]) -> str:
    """worksheet.tex.j2 or key.tex.j2 as LaTeX source, from one student's `context` (both share one)."""
    return environment().get_template(template).render(ctx)


def worksheet(assignment: Any, student: Any, variants: Mapping[str, Variant]) -> str:
    """The student's worksheet: header, instructions, and per problem the drawing, the data and the questions."""
    return render("worksheet.tex.j2", context(assignment, student, variants))


def key(assignment: Any, student: Any, variants: Mapping[str, Variant]) -> str:
    """The student's answer key: the worksheet's problems with every step worked out."""
    return render("key.tex.j2", context(assignment, student, variants))
