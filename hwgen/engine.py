"""The step engine: a one-hidden-layer network as a list of named steps, solved with NumPy.

Canonical form (design.md): X (n, d), Y (n, o), W1 (d, h), b1 (h,), W2 (h, o), b2 (o,).
Every quantity a student is asked for is one Step; evaluating the steps in order gives the
trace (name -> array) that is the answer key. Renderers and graders only read steps and traces.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Template
from typing import Callable, Literal, Mapping

import numpy as np

from .tables import ACTIVATIONS, LOSSES, Activation

Array = np.ndarray
Phase = Literal["forward", "loss", "backward", "update"]

GIVEN_NAMES = ("X", "Y", "W1", "b1", "W2", "b2")
PARAMS = ("W1", "b1", "W2", "b2")


@dataclass(frozen=True)
class Network:
    """Layer sizes (d, h, o), hidden and output activation, loss name and SGD learning rate."""

    sizes: tuple[int, int, int]
    activations: tuple[str, str]
    loss: str
    lr: float

    def to_json(self) -> dict:
        """The `network` object of the canonical JSON."""
        return {"sizes": list(self.sizes), "activations": list(self.activations), "loss": self.loss, "lr": self.lr}


@dataclass(frozen=True)
class Step:
    """One named quantity: name = fn(*inputs); tex is its right-hand side with `$input` slots."""

    name: str
    inputs: tuple[str, ...]
    fn: Callable[..., Array]
    tex: str
    phase: Phase


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
    """dZ = dA * act'(.), reading act' from z or from a as the activation table says."""
    if act.grad_of is None:
        return Step(name, (upstream,), lambda d: d, f"${upstream}", "backward")
    source = z if act.grad_of == "z" else a
    return Step(name, (upstream, source), lambda d, v: d * act.grad(v),
                f"${upstream} \\odot " + _fill(act.grad_tex, **{act.grad_of: f"${source}"}), "backward")


def _update(param: str, lr_name: str = "lr") -> Step:
    """param_new = param - lr * dparam."""
    return Step(f"{param}_new", (param, f"d{param}", lr_name), lambda p, g, lr: p - lr * g,
                f"${param} - ${lr_name} \\, $d{param}", "update")


def build_steps(net: Network) -> list[Step]:
    """The steps of one forward pass, the loss, backpropagation and one SGD step, in working order.

    Every step's fn also takes a batch of inputs on leading axes (e.g. X as (m, n, d)), which lets the
    rounding analysis move many entries in one call."""
    act1, act2, loss = ACTIVATIONS[net.activations[0]], ACTIVATIONS[net.activations[1]], LOSSES[net.loss]
    return [
        Step("Z1", ("X", "W1", "b1"), lambda X, W, b: mm(X, W) + _row(b), "$X $W1 + $b1", "forward"),
        Step("A1", ("Z1",), act1.fn, _fill(act1.tex, z="$Z1"), "forward"),
        Step("Z2", ("A1", "W2", "b2"), lambda A, W, b: mm(A, W) + _row(b), "$A1 $W2 + $b2", "forward"),
        Step("Yhat", ("Z2",), act2.fn, _fill(act2.tex, z="$Z2"), "forward"),
        Step("L", ("Yhat", "Y"), loss.fn, loss.tex, "loss"),
        Step("dYhat", ("Yhat", "Y"), loss.grad, loss.grad_tex, "backward"),
        _act_grad_step("dZ2", "dYhat", "Z2", "Yhat", act2),
        Step("dW2", ("A1", "dZ2"), lambda A, d: mm(tr(A), d), r"$A1^{\top} $dZ2", "backward"),
        Step("db2", ("dZ2",), lambda d: d.sum(axis=-2), r"\textstyle\sum_{i} $dZ2", "backward"),
        Step("dA1", ("dZ2", "W2"), lambda d, W: mm(d, tr(W)), r"$dZ2 $W2^{\top}", "backward"),
        _act_grad_step("dZ1", "dA1", "Z1", "A1", act1),
        Step("dW1", ("X", "dZ1"), lambda X, d: mm(tr(X), d), r"$X^{\top} $dZ1", "backward"),
        Step("db1", ("dZ1",), lambda d: d.sum(axis=-2), r"\textstyle\sum_{i} $dZ1", "backward"),
        *(_update(p) for p in PARAMS),
    ]


ANSWER_NAMES = tuple(s.name for s in build_steps(Network((1, 1, 1), ("linear", "linear"), "sse", 0.1)))


def solve(steps: list[Step], given: Mapping[str, Array], lr: float) -> dict[str, Array]:
    """Evaluate the steps in order: the trace holds the given arrays, `lr`, `n` and every step's value."""
    trace: dict[str, Array] = {k: np.asarray(given[k], dtype=float) for k in GIVEN_NAMES}
    trace["lr"] = np.asarray(float(lr))
    trace["n"] = np.asarray(float(len(trace["X"])))
    with np.errstate(all="ignore"):
        for step in steps:
            trace[step.name] = np.asarray(step.fn(*(trace[i] for i in step.inputs)), dtype=float)
    return trace


def evaluate(step: Step, values: Mapping[str, Array]) -> Array:
    """One step on any values (e.g. a student's own earlier answers): (inputs' shapes) -> array."""
    with np.errstate(all="ignore"):
        return np.asarray(step.fn(*(np.asarray(values[i], dtype=float) for i in step.inputs)), dtype=float)
