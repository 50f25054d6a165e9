"""The problem bank: load and validate problem templates (one YAML file each)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from . import bundled, questions
from .engine import CONSTANTS, Network, Problem, Step, network_problem
from .errors import TemplateError
from .expr import FUNCTIONS, ExpressionError, Op, parse
from .graph import Graph, graph_problem, unused
from .notation import Display
from .tables import ACTIVATIONS, LOSSES

if TYPE_CHECKING:  # calculus imports sympy (~0.35 s, ~50 MB): loaded only for a calculus template
    from .calculus import Calculus
from .yamlfile import line_of, parse_yaml, read_text, validate

Array = np.ndarray

MAX_LAYERS = 5  # weight layers a network template may have
_NAME = "^[A-Za-z][A-Za-z0-9_]{0,15}$"
_NUMBERS = {"type": "array", "minItems": 1, "items": {"anyOf": [{"type": "number"}, {"$ref": "#/$defs/numbers"}]}}
DISPLAY_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "properties": {"layout": {"enum": ["rows", "columns"]}, "bias": {"enum": ["separate", "folded"]}},
    "description": "write e.g. {layout: columns, bias: separate}: samples as rows or columns, biases separate or "
                   "folded into the weights"}
GRADING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "grading options, e.g. {ecf_credit: 0.5, partial: true}",
    "properties": {
        "ecf_credit": {"type": "number", "minimum": 0, "maximum": 1,
                       "description": "write the share of the points (0 to 1) an answer correct for the student's own "
                                      "earlier wrong answers earns, e.g. 1 or 0.5"},
        "partial": {"type": "boolean", "description": "write true to give credit per correct entry of a matrix answer"},
        "rounding_digits": {"type": "integer", "minimum": 2, "maximum": 8,
                            "description": "write the fewest significant digits (2 to 8) a student may keep at "
                                           "every step and still get full marks"},
        "misconceptions": {"type": "boolean", "description": "write false to stop naming known mistakes"},
        "show_expected": {"type": "boolean"},
    },
}
_SPEC = {
    "description": "write a fixed array ([[0, 1], [1, 0]]), a grid {min: -1, max: 1, step: 0.1}, "
                   "a list of values {values: [0, 1]}, whole arrays to pick from {one_of: [A, B]} or one-hot rows "
                   "{one_hot: true}",
    "anyOf": [
        {"$ref": "#/$defs/numbers"},
        {"type": "object", "additionalProperties": False, "required": ["min", "max", "step"],
         "properties": {"min": {"type": "number"}, "max": {"type": "number"},
                        "step": {"type": "number", "exclusiveMinimum": 0}, "nonzero": {"type": "boolean"}}},
        {"type": "object", "additionalProperties": False, "required": ["values"],
         "properties": {"values": {"type": "array", "minItems": 1, "items": {"type": "number"}}}},
        {"type": "object", "additionalProperties": False, "required": ["one_hot"],
         "properties": {"one_hot": {"const": True}}},
        {"type": "object", "additionalProperties": False, "required": ["one_of"],
         "properties": {"one_of": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/numbers"}}}},
    ],
}
_EXPRESSIONS = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 2,
                                                         "maxItems": 4}]}
_FUNCTION = {
    "description": "write an expression, a list of 2 to 4 expressions, or {arguments: [u, v], value: ...} for the "
                   "outer function of a composition",
    "anyOf": [_EXPRESSIONS, {"type": "object", "additionalProperties": False, "required": ["arguments", "value"],
                             "properties": {"arguments": {"type": "array", "items": {"type": "string", "pattern": _NAME},
                                                          "minItems": 1, "maxItems": 4, "uniqueItems": True},
                                            "value": _EXPRESSIONS}}],
}
SCHEMA: dict[str, Any] = {
    "$defs": {"numbers": _NUMBERS},
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "description", "given", "asked", "rounding"],
    "oneOf": [{"required": ["network"]}, {"required": ["graph"]}, {"required": ["calculus"]}],
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$",
                 "description": "use lower-case letters, digits and underscores, starting with a letter"},
        "title": {"type": "string"},
        "description": {"type": "string", "minLength": 1},
        "seed_page": {"type": "string"},
        "instructions": {"type": "string"},
        "samples": {"type": "integer", "minimum": 1, "maximum": 50},
        "network": {
            "type": "object", "additionalProperties": False,
            "required": ["sizes", "activations", "loss", "lr"],
            "properties": {
                "sizes": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 8},
                          "minItems": 3, "maxItems": MAX_LAYERS + 1,
                          "description": "write [inputs, hidden, outputs] (or [inputs, h1, h2, outputs] for two hidden "
                                         f"layers, ...), each 1 to 8, at most {MAX_LAYERS} weight layers"},
                "activations": {"type": "array", "items": {"enum": sorted(ACTIVATIONS)}, "minItems": 2,
                                "maxItems": MAX_LAYERS,
                                "description": "write one per weight layer, e.g. [sigmoid, sigmoid]"},
                "loss": {"enum": sorted(LOSSES)},
                "lr": {"type": "number", "exclusiveMinimum": 0},
                "weight_decay": {"type": "number", "minimum": 0,
                                 "description": "write lambda: L gains (lambda / 2) * the sum of squared weights"},
            },
        },
        "graph": {
            "type": "object", "additionalProperties": False, "required": ["nodes", "output"],
            "properties": {
                "nodes": {"type": "object", "minProperties": 1, "propertyNames": {"pattern": _NAME},
                          "additionalProperties": {"type": "string"},
                          "description": "map each node's name to its expression, e.g. q: x + y"},
                "output": {"type": "string", "pattern": _NAME},
                "per_sample": {"type": "array", "items": {"type": "string", "pattern": _NAME}, "uniqueItems": True,
                               "description": "list the given names that hold one number per sample"},
            },
        },
        "calculus": {
            "type": "object", "additionalProperties": False, "required": ["variables", "functions"],
            "properties": {
                "variables": {"type": "array", "items": {"type": "string", "pattern": _NAME}, "minItems": 1,
                              "maxItems": 4, "uniqueItems": True,
                              "description": "list the variables in order, e.g. [x, y]; give the point's values "
                                             "under `given`"},
                "functions": {"type": "object", "minProperties": 1, "maxProperties": 4,
                              "propertyNames": {"pattern": _NAME}, "additionalProperties": _FUNCTION,
                              "description": "map each function's name to its expression, e.g. f: (a*x + b*y)**2, "
                                             "or a list of expressions for a vector function"},
                "compose": {"type": "array", "items": {"type": "string", "pattern": _NAME}, "minItems": 2,
                            "maxItems": 2, "description": "write [outer, inner], e.g. [F, G] for F o G"},
            },
        },
        "given": {"type": "object", "propertyNames": {"pattern": _NAME}, "additionalProperties": _SPEC,
                  "description": "write X, Y and W1, b1, ..., WL, bL (one pair per weight layer), or a graph's givens"},
        "asked": {"type": "object", "minProperties": 1, "propertyNames": {"pattern": questions.PATTERN},
                  "additionalProperties": {"type": "number", "exclusiveMinimum": 0},
                  "description": "map each asked quantity to its points, e.g. dW1: 2"},
        "rounding": {"type": "object", "additionalProperties": False, "required": ["significant"],
                     "properties": {"significant": {"type": "integer", "minimum": 2, "maximum": 8}}},
        "display": DISPLAY_SCHEMA,
        "limits": {"type": "object", "additionalProperties": False,
                   "properties": {"z_max": {"type": "number", "exclusiveMinimum": 0},
                                  "relu_margin": {"type": "number", "minimum": 0},
                                  "grad_min": {"type": "number", "minimum": 0}}},
        "grading": GRADING_SCHEMA,
    },
}


@dataclass(frozen=True)
class Fixed:
    """The same array for every variant."""

    value: Array


@dataclass(frozen=True)
class OneOf:
    """One whole array picked from a list (e.g. a truth table)."""

    options: tuple[Array, ...]


@dataclass(frozen=True)
class Grid:
    """Each entry drawn independently from these values."""

    values: tuple[float, ...]


@dataclass(frozen=True)
class OneHot:
    """Each row a one-hot vector with its 1 in a column drawn per row (a class label per sample)."""


GivenSpec = Fixed | OneOf | Grid | OneHot


@dataclass(frozen=True)
class Limits:
    """What makes a draw degenerate: saturated |z|, ReLU input near 0, vanishing gradient entries."""

    z_max: float = 4.0
    relu_margin: float = 0.05
    grad_min: float = 1e-4


@dataclass(frozen=True, eq=False)
class Template:
    """A problem template: network, value grids, asked quantities with points, rounding, notation."""

    name: str
    title: str
    description: str
    path: Path
    network: Network | None  # the builder's declaration: a network, or
    graph: Graph | None  # a computation graph, or
    calculus: Calculus | None  # functions of variables at a point
    samples: int
    given: dict[str, GivenSpec]
    asked: dict[str, float]
    significant: int
    display: Display = Display()
    limits: Limits = Limits()
    instructions: str = ""
    grading: dict[str, Any] = field(default_factory=dict)
    source: str = ""  # the YAML text, so a manifest can carry the template with it

    @cached_property
    def problem(self) -> Problem:
        """The problem the template's builder makes: givens, steps, constants."""
        if self.graph:
            return graph_problem(self.graph, graph_shapes(self.graph, self.given, self.samples))
        if self.calculus:
            from .calculus import calculus_problem
            return calculus_problem(self.calculus)
        assert self.network
        return network_problem(self.network, self.samples)

    @property
    def lr(self) -> float:
        """The learning rate of the SGD step (0 for a graph, which has none)."""
        return self.network.lr if self.network else 0.0

    @property
    def steps(self) -> tuple[Step, ...]:
        """The problem's steps, in working order."""
        return self.problem.steps

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the cached problem (its functions are lambdas); it is rebuilt on first use."""
        return {k: v for k, v in self.__dict__.items() if k != "problem"}

    def shape(self, name: str) -> tuple[int, ...]:
        """Canonical shape of a given array: X (n, d), Y (n, o), Wk (size_{k-1}, size_k), bk (size_k,)."""
        return self.problem.given[name]

    @property
    def points(self) -> float:
        """Total points of the asked quantities."""
        return float(sum(self.asked.values()))


def bank_dir() -> Path:
    """The bundled problem bank."""
    return bundled("problem_bank")


def template_paths() -> list[Path]:
    """Every template file in the bundled bank, by name."""
    return sorted(bank_dir().glob("*.yaml"))


def resolve(name_or_path: str) -> Path:
    """A template name from the bank, or a path to a YAML file."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        if not candidate.is_file():
            raise TemplateError(candidate, None, "no such file", "give a path to a template YAML file")
        return candidate
    path = bank_dir() / f"{name_or_path}.yaml"
    if not path.is_file():
        names = ", ".join(p.stem for p in template_paths())
        raise TemplateError(name_or_path, None, "no template of that name in the problem bank",
                            f"use one of: {names} (or give a path to a YAML file)")
    return path


def load(name_or_path: str | Path) -> Template:
    """Load and validate a template; any problem names the file, the line and the fix."""
    path = resolve(str(name_or_path))
    return loads(read_text(path, TemplateError), path)


def loads(text: str, path: str | Path) -> Template:
    """Validate and build a template from YAML text; `path` names it in error messages."""
    data = parse_yaml(text, Path(path), TemplateError)
    validate(data, SCHEMA, Path(path), TemplateError)
    return _build(data, Path(path), text)


def _fail(data: Any, where: tuple, path: Path, what: str, fix: str) -> TemplateError:
    """A TemplateError at the line of `where` in the file."""
    return TemplateError(path, line_of(data, where), f"{'.'.join(map(str, where))}: {what}", fix)


def _on_grid(values: Array, step: float = 0.01) -> bool:
    """Every value is a multiple of `step` (up to float noise)."""
    q = np.asarray(values, dtype=float) / step
    return bool(np.all(np.abs(q - np.round(q)) < 1e-6))


def _spec(raw: Any, where: tuple, data: Any, path: Path) -> GivenSpec:
    """Turn a validated given entry into a spec."""
    if isinstance(raw, list):
        return Fixed(np.asarray(raw, dtype=float))
    if "one_of" in raw:
        return OneOf(tuple(np.asarray(o, dtype=float) for o in raw["one_of"]))
    if "one_hot" in raw:
        return OneHot()
    if "values" in raw:
        return Grid(tuple(float(v) for v in raw["values"]))
    lo, hi, step = (Decimal(str(raw[k])) for k in ("min", "max", "step"))
    if hi < lo:
        raise _fail(data, where, path, f"min {lo} is above max {hi}", "swap min and max")
    count = int((hi - lo) / step)
    values = tuple(float(lo + k * step) for k in range(count + 1))
    values = tuple(v for v in values if v != 0) if raw.get("nonzero") else values
    if not values:
        raise _fail(data, where, path, "the grid holds no value", "widen min..max or drop nonzero")
    return Grid(values)


def _check_shapes(t: Template, data: Any) -> None:
    """Fixed arrays must have the canonical shape; inputs and weights must lie on a 0.01 grid."""
    for name, spec in t.given.items():
        where = ("given", name)
        arrays = [spec.value] if isinstance(spec, Fixed) else list(spec.options) if isinstance(spec, OneOf) else []
        for arr in arrays:
            if arr.shape != t.shape(name):
                raise _fail(data, where, t.path, f"shape {arr.shape} does not fit the network: expected {t.shape(name)}",
                            f"write {name} as {t.shape(name)} in canonical form (X: n x d, Wk: in x out, bk: out)")
        if isinstance(spec, OneHot):
            if len(t.shape(name)) != 2:
                raise _fail(data, where, t.path, "one_hot draws the rows of a matrix", "use it for Y (n x classes)")
            continue
        values = np.asarray(spec.values) if isinstance(spec, Grid) else np.concatenate([a.ravel() for a in arrays])
        if name != "Y" and not _on_grid(values):
            raise _fail(data, where, t.path, "values must lie on a 0.01 grid or coarser so students can work by hand",
                        "use steps and values that are multiples of 0.01")


def _check_network(net: Network, data: Any, path: Path) -> None:
    """One activation per weight layer, softmax only at the output, and each loss with the output it needs."""
    if len(net.activations) != net.layers:
        raise _fail(data, ("network", "activations"), path, f"{len(net.activations)} activations for {net.layers} "
                    f"weight layers (sizes {list(net.sizes)})", f"write {net.layers} activations, one per weight layer")
    hidden = [a for a in net.activations[:-1] if ACTIVATIONS[a].output_only]
    if hidden:
        raise _fail(data, ("network", "activations"), path, f"{hidden[0]} is an output activation",
                    "use it for the last layer only; hidden layers take sigmoid, relu, tanh or linear")
    needs = LOSSES[net.loss].needs
    if needs and net.activations[-1] != needs:
        raise _fail(data, ("network", "loss"), path, f"{net.loss} needs a {needs} output",
                    f"use a {needs} output activation with {net.loss}")
    if net.activations[-1] == "softmax" and net.loss != "cce":
        raise _fail(data, ("network", "loss"), path, "a softmax output is paired with cce here",
                    "use loss: cce with a softmax output")


def _check_names(problem: Problem, data: Any, path: Path) -> None:
    """`given` names exactly the problem's given arrays."""
    missing = [k for k in problem.given if k not in data["given"]]
    if missing:
        raise _fail(data, ("given",), path, f"{missing[0]} is missing",
                    f"add {missing[0]} (given: {', '.join(problem.given)})")
    extra = [k for k in data["given"] if k not in problem.given]
    if extra:
        raise _fail(data, ("given", extra[0]), path, f"{extra[0]} is not a given of this network",
                    f"remove or rename it (given: {', '.join(problem.given)})")


def graph_shapes(graph: Graph, given: Mapping[str, Any], samples: int) -> dict[str, tuple[int, ...]]:
    """A graph's given names and shapes: (samples,) for the per-sample ones, () for the others."""
    return {k: (samples,) if k in graph.per_sample else () for k in given}


def _graph(data: Any, path: Path) -> tuple[Graph, Problem]:
    """The graph and its problem; a bad expression or name names its line."""
    raw = data["graph"]
    graph = Graph(tuple((k, v) for k, v in raw["nodes"].items()), raw["output"], tuple(raw.get("per_sample", ())))
    given, nodes = list(data["given"]), [n for n, _ in graph.nodes]
    samples = int(data.get("samples", 1))
    if graph.per_sample and "samples" not in data:
        raise _fail(data, ("graph", "per_sample"), path, "the number of samples is unknown", "add `samples: N`")
    taken = {*given, *CONSTANTS}
    for name in nodes:
        clash = name in taken or f"d{name}" in {*given, *nodes}
        if clash:
            raise _fail(data, ("graph", "nodes", name), path, f"node {name} clashes with a given name, lr, n, lam, "
                        f"or the gradient d{name} of another name", "rename the node")
        taken.add(name)
    for where, names in ((("graph", "output"), [graph.output]), (("graph", "per_sample"), graph.per_sample)):
        bad = [n for n in names if n not in (nodes if where[1] == "output" else given)]
        if bad:
            raise _fail(data, where, path, f"{bad[0]} is not a {'node' if where[1] == 'output' else 'given name'}",
                        f"use one of: {', '.join(nodes if where[1] == 'output' else given)}")
    for name, text in graph.nodes:
        try:
            parse(text, [*given, *nodes[:nodes.index(name)]])
        except ExpressionError as exc:
            raise _fail(data, ("graph", "nodes", name), path, str(exc),
                        "use the given names, earlier nodes, numbers, + - * /, ** by a number and "
                        f"{', '.join(FUNCTIONS)}") from None
    try:
        problem = graph_problem(graph, graph_shapes(graph, data["given"], samples))
    except ExpressionError as exc:
        raise _fail(data, ("graph", "nodes"), path, str(exc), "sum(...) a quantity that has one number per sample")
    idle = unused(graph, given)
    if idle:
        raise _fail(data, ("graph", "output"), path, f"the output {graph.output} does not depend on {idle[0]}",
                    f"use {idle[0]} in a node the output reads, or remove it")
    return graph, problem


def _functions_in(e: Any) -> set[str]:
    """The function names an expression calls."""
    return ({e.op} | set().union(*(_functions_in(a) for a in e.args))) if isinstance(e, Op) else set()


def _calculus(data: Any, path: Path) -> tuple[Calculus, Problem]:
    """The calculus declaration and its problem; a bad name, composition or expression names its line."""
    from .calculus import REFUSED, Calculus, Function, calculus_problem
    raw = data["calculus"]
    variables, given = tuple(raw["variables"]), list(data["given"])
    missing = [v for v in variables if v not in given]
    if missing:
        raise _fail(data, ("calculus", "variables"), path, f"the point's value of {missing[0]} is not given",
                    f"add {missing[0]} under `given` (a number or a grid)")
    functions = []
    for name, spec in raw["functions"].items():
        value, args = (spec["value"], tuple(spec["arguments"])) if isinstance(spec, dict) else (spec, variables)
        functions.append(Function(name, args, tuple(value) if isinstance(value, list) else value))
    compose = tuple(raw["compose"]) if "compose" in raw else None
    calc = Calculus(variables, tuple(functions), compose, tuple(g for g in given if g not in variables))
    names = {f.name for f in functions}
    if compose:
        bad = [n for n in compose if n not in names]
        if bad or compose[0] == compose[1]:
            raise _fail(data, ("calculus", "compose"), path, f"{bad[0] if bad else compose[0]} is not a second "
                        "function", f"write [outer, inner], two of: {', '.join(names)}")
        outer, inner = calc.function(compose[0]), calc.function(compose[1])
        if not inner.vector or inner.arguments != variables or len(outer.arguments) != len(inner.texts):
            raise _fail(data, ("calculus", "compose"), path, f"{outer.name} o {inner.name} does not fit: {inner.name} "
                        f"must be a vector function of {', '.join(variables)} with one component per argument of "
                        f"{outer.name}", "write the inner function as a list over the variables and the outer one as "
                        "{arguments: [...], value: ...}")
    for fn in functions:
        where = ("calculus", "functions", fn.name)
        own = fn.arguments != variables
        if fn.name in given or (own and not (compose and fn.name == compose[0])):
            raise _fail(data, where, path, f"{fn.name} clashes with a given name, or has its own arguments without "
                        "being the outer function of `compose`", "rename it, or write its expressions in the variables")
        clash = [a for a in fn.arguments if own and (a in given or a in names)]
        if clash:
            raise _fail(data, where, path, f"argument {clash[0]} clashes with a given or function name",
                        "name the outer function's arguments apart (e.g. u, v)")
        for text in fn.texts:
            try:
                used = _functions_in(parse(text, [*calc.parameters, *fn.arguments]))
            except ExpressionError as exc:
                raise _fail(data, where, path, str(exc), "use the parameters, the arguments, numbers, + - * /, "
                            f"** by a number and {', '.join(f for f in FUNCTIONS if f not in REFUSED)}") from None
            if used & set(REFUSED):
                raise _fail(data, where, path, f"{sorted(used & set(REFUSED))[0]} is not differentiable everywhere",
                            f"use {', '.join(f for f in FUNCTIONS if f not in REFUSED)}")
    return calc, calculus_problem(calc)


def _build(data: Any, path: Path, text: str) -> Template:
    """A Template from validated YAML data."""
    network = graph = calculus = None
    if "graph" in data:
        graph, problem = _graph(data, path)
        samples = int(data.get("samples", 1))
    elif "calculus" in data:
        calculus, problem = _calculus(data, path)
        samples = 1
    else:
        net = data["network"]
        fixed_x = data["given"].get("X")
        counted = data.get("samples") or (len(fixed_x) if isinstance(fixed_x, list) else None)
        if counted is None:
            raise _fail(data, ("given", "X"), path, "the number of samples is unknown",
                        "add `samples: N` at the top level, or give X as a fixed array")
        samples = counted
        network = Network(tuple(net["sizes"]), tuple(net["activations"]), net["loss"], float(net["lr"]),
                          float(net.get("weight_decay", 0)))
        _check_network(network, data, path)
        problem = network_problem(network, int(samples))
    _check_names(problem, data, path)
    t = Template(
        name=data["name"], title=data.get("title", data["name"]), description=data["description"], path=path,
        network=network, graph=graph, calculus=calculus, samples=int(samples),
        given={k: _spec(data["given"][k], ("given", k), data, path) for k in problem.given},
        asked={k: float(v) for k, v in data["asked"].items()},
        significant=int(data["rounding"]["significant"]),
        display=Display(**data.get("display", {})), limits=Limits(**data.get("limits", {})),
        instructions=data.get("instructions", "").strip(), grading=dict(data.get("grading", {})), source=text,
    )
    _check_shapes(t, data)
    return replace(t, asked=_asked(t, data, path))


def _asked(t: Template, data: Any, path: Path) -> dict[str, float]:
    """The asked quantities in working order, each in its one spelling; an unknown one names its line."""
    asked = {}
    for q, points in data["asked"].items():
        try:
            asked[questions.canonical(t, q)] = float(points)
        except questions.QuestionError as exc:
            raise _fail(data, ("asked", q), path, exc.what, exc.fix.replace("use some of", "use one of")) from None
    return {q: asked[q] for q in questions.ordered(t, asked)}
