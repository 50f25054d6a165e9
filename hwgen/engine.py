"""The step engine: a problem is a list of named steps over given arrays, solved with NumPy.

Canonical network form (design.md): X (n, d), Y (n, o), Wk (size_{k-1}, size_k), bk (size_k,).
Every quantity a student is asked for is one Step; evaluating the steps in order gives the
trace (name -> array) that is the answer key. Renderers and graders only read steps and traces.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from string import Template
from typing import Callable, Literal, Mapping

import numpy as np

from .tables import ACTIVATIONS, LOSSES, Activation, Loss

Array = np.ndarray
Phase = Literal["forward", "loss", "backward", "update"]
# What kind of operation a step is: what misconceptions, degeneracy rules and renderers key on.
Role = Literal["affine", "activation", "loss", "loss_grad", "activation_grad", "transpose_product", "sum_samples",
               "update", "node", "node_grad", "derivative", "chain_product"]

CONSTANTS = ("lr", "n", "lam")  # trace entries that are neither given nor computed: exact, never rounded


@dataclass(frozen=True)
class Network:
    """Layer sizes (d, h1, ..., o), one activation per weight layer, loss name, SGD learning rate and the L2
    weight decay lambda (0: none)."""

    sizes: tuple[int, ...]
    activations: tuple[str, ...]
    loss: str
    lr: float
    weight_decay: float = 0.0

    @property
    def layers(self) -> int:
        """The number of weight layers L (hidden layers + 1)."""
        return len(self.sizes) - 1

    def to_json(self) -> dict:
        """The `network` object of the canonical JSON."""
        decay = {"weight_decay": self.weight_decay} if self.weight_decay else {}
        return {"sizes": list(self.sizes), "activations": list(self.activations), "loss": self.loss, "lr": self.lr,
                **decay}


@dataclass(frozen=True)
class Step:
    """One named quantity: name = fn(*inputs); tex (LaTeX) and code (the NumPy a student writes) are its
    right-hand side with `$input` slots; role says what kind of operation it is."""

    name: str
    inputs: tuple[str, ...]
    fn: Callable[..., Array]
    tex: str
    phase: Phase
    role: Role = "node"
    code: str = ""
    op: str = ""  # the table row it applies (an activation's name for activation and activation_grad steps, the
    # loss's for loss and loss_grad steps, a graph function's for a graph's activation nodes)


@dataclass(frozen=True)
class Problem:
    """What a template asks: its given arrays (name -> canonical shape, in display order), its steps in working
    order, and the name whose rows count the samples (n), if any."""

    given: dict[str, tuple[int, ...]]
    steps: tuple[Step, ...]
    samples_of: str | None = "X"
    constants: dict[str, float] = field(default_factory=dict)  # e.g. the weight decay lam

    @property
    def answers(self) -> tuple[str, ...]:
        """Every computed quantity, in working order."""
        return tuple(s.name for s in self.steps)

    @property
    def inputs(self) -> tuple[str, ...]:
        """The names in a trace that no step computes: the given arrays, lr, n (if counted) and the constants."""
        return (*self.given, "lr", *(("n",) if self.samples_of else ()), *self.constants)

    def by_role(self, *roles: str) -> list[Step]:
        """The steps of these roles, in working order."""
        return [s for s in self.steps if s.role in roles]


def mm(a: Array, b: Array) -> Array:
    """Matrix product (..., p, q) @ (..., q, r) -> (..., p, r), in NumPy's own loops rather than BLAS, whose
    kernel (chosen per CPU) can change the last bit; tiny matrices lose nothing by it."""
    return np.einsum("...ij,...jk->...ik", a, b)


def tr(a: Array) -> Array:
    """Transpose of the last two axes: (..., p, q) -> (..., q, p)."""
    return np.swapaxes(a, -1, -2)


def _row(b: Array) -> Array:
    """A bias (..., h) as a row (..., 1, h) that adds to every sample."""
    return b[..., None, :]


def _fill(tex: str, **slots: str) -> str:
    """Put slot names into a table formula, e.g. _fill(r'\\sigma($z)', z='$Z1') -> r'\\sigma($Z1)'."""
    return Template(tex).safe_substitute(slots)


def _act_grad_step(name: str, upstream: str, z: str, a: str, act: Activation) -> Step:
    """dZ = act's backward of the upstream dA, reading act' from z or from a as the activation table says."""
    if act.grad_of is None:
        return Step(name, (upstream,), lambda d: d, f"${upstream}", "backward", "activation_grad", f"${upstream}",
                    act.name)
    source = z if act.grad_of == "z" else a
    slots = {"d": f"${upstream}", act.grad_of: f"${source}"}
    return Step(name, (upstream, source), act.backward, _fill(act.back_tex, **slots), "backward", "activation_grad",
                _fill(act.back_code, **slots), act.name)


def _update(param: str, lr_name: str = "lr") -> Step:
    """param_new = param - lr * dparam."""
    return Step(f"{param}_new", (param, f"d{param}", lr_name), lambda p, g, lr: p - lr * g,
                f"${param} - ${lr_name} \\, $d{param}", "update", "update", f"${param} - ${lr_name} * $d{param}")


def _squares(*ws: Array) -> Array:
    """Sum of the squared entries of every matrix: (..., p, q) each -> (...)."""
    return sum((w * w).sum(axis=(-2, -1)) for w in ws)


def _loss_step(net: Network, loss: Loss, weights: tuple[str, ...]) -> Step:
    """L = the loss table's row, plus (lam / 2) * the squared weights when the network decays its weights."""
    if not net.weight_decay:
        return Step("L", ("Yhat", "Y"), loss.fn, loss.tex, "loss", "loss", loss.code, net.loss)
    norms = " + ".join(rf"\lVert ${w} \rVert^{{2}}" for w in weights)
    code = " + ".join(f"np.sum(${w} ** 2)" for w in weights)
    return Step("L", ("Yhat", "Y", "lam", *weights), lambda yh, y, lam, *ws: loss.fn(yh, y) + lam / 2 * _squares(*ws),
                rf"{loss.tex} + \frac{{$lam}}{{2}} \left({norms}\right)", "loss", "loss",
                f"{loss.code} + $lam / 2 * ({code})", net.loss)


def _weight_grad(k: int, before: str, decay: bool) -> Step:
    """dWk = before^T dZk (+ lam Wk with weight decay)."""
    dz, w = f"dZ{k}", f"W{k}"
    if not decay:
        return Step(f"dW{k}", (before, dz), lambda A, d: mm(tr(A), d), rf"${before}^{{\top}} ${dz}", "backward",
                    "transpose_product", f"${before}.T @ ${dz}")
    return Step(f"dW{k}", (before, dz, "lam", w), lambda A, d, lam, W: mm(tr(A), d) + lam * W,
                rf"${before}^{{\top}} ${dz} + $lam \, ${w}", "backward", "transpose_product",
                f"${before}.T @ ${dz} + $lam * ${w}")


def network_problem(net: Network, samples: int) -> Problem:
    """A network of any depth as a Problem: given X (n, d), Y (n, o), Wk (size_{k-1}, size_k), bk (size_k,)."""
    count = net.layers
    given: dict[str, tuple[int, ...]] = {"X": (samples, net.sizes[0]), "Y": (samples, net.sizes[-1])}
    for k in range(1, count + 1):
        given |= {f"W{k}": (net.sizes[k - 1], net.sizes[k]), f"b{k}": (net.sizes[k],)}
    return Problem(given, tuple(build_steps(net)), constants={"lam": net.weight_decay} if net.weight_decay else {})


def build_steps(net: Network) -> list[Step]:
    """The steps of one forward pass, the loss, backpropagation and one SGD step, in working order:
    Zk, Ak (k < L), Yhat, L, dYhat, then for k = L..1 dZk, dWk, dbk, dA(k-1), and last Wk_new, bk_new.

    Every step's fn also takes a batch of inputs on leading axes (e.g. X as (m, n, d)), which lets the
    rounding analysis move many entries in one call."""
    count, loss = net.layers, LOSSES[net.loss]
    acts = [ACTIVATIONS[a] for a in net.activations]
    outs = [f"A{k}" for k in range(1, count)] + ["Yhat"]
    ins = ["X"] + outs[:-1]
    steps: list[Step] = []
    for k in range(1, count + 1):
        x, w, b, z = ins[k - 1], f"W{k}", f"b{k}", f"Z{k}"
        steps += [Step(z, (x, w, b), lambda X, W, b: mm(X, W) + _row(b), f"${x} ${w} + ${b}", "forward", "affine",
                       f"${x} @ ${w} + ${b}"),
                  Step(outs[k - 1], (z,), acts[k - 1].fn, _fill(acts[k - 1].tex, z=f"${z}"), "forward", "activation",
                       _fill(acts[k - 1].code, z=f"${z}"), acts[k - 1].name)]
    weights = tuple(f"W{k}" for k in range(1, count + 1))
    steps += [_loss_step(net, loss, weights),
              Step("dYhat", ("Yhat", "Y"), loss.grad, loss.grad_tex, "backward", "loss_grad", loss.grad_code, net.loss)]
    for k in range(count, 0, -1):
        if k == count and loss.needs == net.activations[-1] == "softmax":  # softmax with cross-entropy: one line
            steps.append(Step(f"dZ{k}", ("Yhat", "Y"), lambda yh, y: (yh - y) / y.shape[-2],
                              r"\frac{1}{$n} ($Yhat - $Y)", "backward", "activation_grad", "($Yhat - $Y) / len($Y)",
                              "softmax"))
        else:
            steps.append(_act_grad_step(f"dZ{k}", "dYhat" if k == count else f"dA{k}", f"Z{k}", outs[k - 1],
                                        acts[k - 1]))
        dz = f"dZ{k}"
        steps += [_weight_grad(k, ins[k - 1], bool(net.weight_decay)),
                  Step(f"db{k}", (dz,), lambda d: d.sum(axis=-2), rf"\textstyle\sum_{{i}} ${dz}", "backward",
                       "sum_samples", f"${dz}.sum(axis=0)")]
        if k > 1:
            steps.append(Step(f"dA{k - 1}", (dz, f"W{k}"), lambda d, W: mm(d, tr(W)), rf"${dz} $W{k}^{{\top}}",
                              "backward", "transpose_product", f"${dz} @ $W{k}.T"))
    steps += [_update(f"{p}{k}") for k in range(1, count + 1) for p in "Wb"]
    return steps


def inputs(problem: Problem, given: Mapping[str, Array], lr: float) -> dict[str, Array]:
    """What the steps start from: the given arrays, `lr`, `n` (if the problem counts samples) and its constants."""
    trace: dict[str, Array] = {k: np.asarray(given[k], dtype=float) for k in problem.given}
    trace["lr"] = np.asarray(float(lr))
    if problem.samples_of:
        trace["n"] = np.asarray(float(len(trace[problem.samples_of])))
    return trace | {k: np.asarray(float(v)) for k, v in problem.constants.items()}


def solve(problem: Problem, given: Mapping[str, Array], lr: float) -> dict[str, Array]:
    """Evaluate the steps in order: the trace holds the inputs (given arrays, lr, n, constants) and every step's
    value."""
    trace = inputs(problem, given, lr)
    with np.errstate(all="ignore"):
        for step in problem.steps:
            trace[step.name] = np.asarray(step.fn(*(trace[i] for i in step.inputs)), dtype=float)
    return trace


def evaluate(step: Step, values: Mapping[str, Array]) -> Array:
    """One step on any values (e.g. a student's own earlier answers): (inputs' shapes) -> array."""
    with np.errstate(all="ignore"):
        return np.asarray(step.fn(*(np.asarray(values[i], dtype=float) for i in step.inputs)), dtype=float)
