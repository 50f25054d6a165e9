"""Named misconceptions: known wrong versions of the engine's steps, each with a message that teaches.

A misconception is a table row: a key, a name, a message, the steps it mimics and a builder that returns
its wrong version(s) of such a step for a network. A wrong version is a Step with the same name as the
step it mimics; it keeps that step's inputs and fn and changes only the deliberate mistake (an input put
in place of another, a factor, a sign, a transpose, the wrong table entry), so no new mathematics is
written here. A network to which a mistake does not apply (no derivative to forget with a linear output)
gets no wrong version.

The grader evaluates every wrong version on the student's variant and carries it through the later steps
(a mistake in dYhat, when dYhat is not asked, shows in dZ2); an answer that matches one, where the
wrong value is not also the right value, is `wrong` with the misconception named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Callable

import numpy as np

from ..engine import Network, Step, build_steps, mm
from ..tables import ACTIVATIONS, LOSSES, Activation

Array = np.ndarray
Builder = Callable[[Network, Step, dict[str, Step]], list[Step]]


@dataclass(frozen=True)
class Misconception:
    """A known mistake: `key` (stable id in the gradebook), `name`, a teaching `message`, the steps it mimics
    and `forms(network, step, steps)` -> its wrong version(s) of that step ([] where it does not apply)."""

    key: str
    name: str
    message: str
    steps: tuple[str, ...]
    forms: Builder
    carried: bool = True  # whether later steps are evaluated on the wrong value (not for a mere layout slip)


def _layer(step: Step) -> int:
    """The layer k of a per-layer step (dZk, dWk, Zk, ...), from its name."""
    return int(re.sub(r"\D", "", step.name))


def _activation(net: Network, step: Step) -> Activation:
    """The activation whose derivative a dZk step takes: layer k's."""
    return ACTIVATIONS[net.activations[_layer(step) - 1]]


def _pre_and_post(step: Step, steps: dict[str, Step]) -> tuple[str, str]:
    """The names of a dZk step's pre-activation Zk and activation (Ak, or Yhat for the output layer)."""
    z = f"Z{_layer(step)}"
    return z, next(s.name for s in steps.values() if s.inputs == (z,))


def _averages(net: Network) -> bool:
    """Whether the network's loss has a 1/n: the same rows twice give the same loss (read off the table)."""
    loss, yhat, y = LOSSES[net.loss], np.array([[0.3]]), np.array([[1.0]])
    return bool(np.isclose(loss.fn(np.vstack([yhat, yhat]), np.vstack([y, y])), loss.fn(yhat, y)))


def _squared_error(net: Network) -> float | None:
    """For a squared-error loss, its factor in front of the sum of squares for one sample (1 or 1/2, read
    off the table); None for other losses."""
    if net.loss == "bce":
        return None
    return float(LOSSES[net.loss].fn(np.array([[1.0]]), np.array([[0.0]])))


def _swap(step: Step, old: str, new: str) -> Step:
    """The step with input `old` replaced by `new` (same fn)."""
    return replace(step, inputs=tuple(new if i == old else i for i in step.inputs))


def _no_derivative(net: Network, step: Step, steps: dict[str, Step]) -> list[Step]:
    """dZ = dA: the activation derivative left out."""
    return [] if _activation(net, step).grad_of is None else [replace(step, fn=lambda d, v: d)]


def _matmul_for_hadamard(net: Network, step: Step, steps: dict[str, Step]) -> list[Step]:
    """dZ = dA @ act'(.)^T or dA^T @ act'(.): a matrix product in place of the element-wise one."""
    act = _activation(net, step)
    if act.grad_of is None:
        return []
    return [replace(step, fn=lambda d, v: mm(d, act.grad(v).T)), replace(step, fn=lambda d, v: mm(d.T, act.grad(v)))]


def _activation_for_derivative(net: Network, step: Step, steps: dict[str, Step]) -> list[Step]:
    """dZ = dA * f(z) (the activation a itself), or dA * f(a) (the activation applied to a)."""
    act = _activation(net, step)
    if act.grad_of is None:
        return []
    value = (lambda v: v) if act.grad_of == "a" else act.fn  # the step reads a, or z
    return [replace(step, fn=lambda d, v: d * value(v)), replace(step, fn=lambda d, v: d * act.fn(value(v)))]


def _derivative_at_activation(net: Network, step: Step, steps: dict[str, Step]) -> list[Step]:
    """dZ = dA * f'(a) written in z, evaluated at a: sigma(a)(1 - sigma(a)) in place of a(1 - a), read off the table
    as the derivative of f at f(z)."""
    act = _activation(net, step)
    if act.grad_of != "a" or step.inputs[1:] != _pre_and_post(step, steps)[1:]:
        return []
    return [replace(step, fn=lambda d, a: d * act.grad(act.fn(a)))]


def _other_activation_derivative(net: Network, step: Step, steps: dict[str, Step]) -> list[Step]:
    """dZ = dA * g'(.) for every other (non-linear) activation g of the table, each read as its table row says
    (from a = f(z), the student's own activations, or from z): tanh's 1 - a^2 in a sigmoid layer, ReLU's [z > 0]."""
    act = _activation(net, step)
    z, a = _pre_and_post(step, steps)
    if act.grad_of is None or len(step.inputs) != 2 or step.inputs[1] not in (z, a):
        return []  # no derivative to replace (a linear layer), or a layer with its own backward (softmax with CE)
    return [replace(step, inputs=(step.inputs[0], z if other.grad_of == "z" else a),
                    fn=lambda d, v, g=other.grad: d * g(v))
            for other in ACTIVATIONS.values() if other is not act and other.grad_of is not None and not other.output_only]


def _derivative_at_z(net: Network, step: Step, steps: dict[str, Step]) -> list[Step]:
    """dZ = dA * z(1 - z): a derivative written in terms of a, evaluated at z."""
    if _activation(net, step).grad_of != "a":
        return []
    return [_swap(step, step.inputs[1], _pre_and_post(step, steps)[0])]


def _transposed(net: Network, step: Step, steps: dict[str, Step]) -> list[Step]:
    """The step's result transposed: dW = (X^T dZ)^T = dZ^T X, or a per-sample quantity with samples as columns."""
    return [replace(step, fn=lambda *a, f=step.fn: f(*a).T)]


def _without_mean(net: Network, step: Step, steps: dict[str, Step]) -> list[Step]:
    """The loss (or its gradient) without its 1/n."""
    return [replace(step, fn=lambda yh, y, f=step.fn: f(yh, y) * len(y))] if _averages(net) else []


def _with_mean(net: Network, step: Step, steps: dict[str, Step]) -> list[Step]:
    """The loss (or its gradient) divided by n although the loss is a sum."""
    return [] if _averages(net) else [replace(step, fn=lambda yh, y, f=step.fn: f(yh, y) / len(y))]


def _dropped_half(net: Network, step: Step, steps: dict[str, Step]) -> list[Step]:
    """The loss (or its gradient) of a 1/2 loss without the 1/2."""
    return [replace(step, fn=lambda yh, y, f=step.fn: f(yh, y) * 2)] if _squared_error(net) == 0.5 else []


def _lost_two(net: Network, step: Step, steps: dict[str, Step]) -> list[Step]:
    """The gradient of a squared error without the 2 that differentiating the square brings down."""
    return [replace(step, fn=lambda yh, y, f=step.fn: f(yh, y) / 2)] if _squared_error(net) == 1.0 else []


def _squared_error_gradient(net: Network, step: Step, steps: dict[str, Step]) -> list[Step]:
    """dYhat from a squared-error row of the loss table in a BCE net."""
    if net.loss != "bce":
        return []
    return [replace(step, fn=loss.grad) for name, loss in LOSSES.items() if name != "bce"]


def _other_loss_gradient(net: Network, step: Step, steps: dict[str, Step]) -> list[Step]:
    """dYhat from every other row of the loss table: (yhat - y)/n in an SSE net, 2 (yhat - y) in an MSE net, ..."""
    return [replace(step, fn=loss.grad) for name, loss in LOSSES.items() if name != net.loss]


def _flipped_error(net: Network, step: Step, steps: dict[str, Step]) -> list[Step]:
    """dYhat from (y - yhat) instead of (yhat - y)."""
    return [replace(step, fn=lambda yh, y, f=step.fn: -f(yh, y))]


def _update_sign(net: Network, step: Step, steps: dict[str, Step]) -> list[Step]:
    """W_new = W + lr dW."""
    return [replace(step, fn=lambda p, g, lr, f=step.fn: f(p, -g, lr))]


def _update_without_lr(net: Network, step: Step, steps: dict[str, Step]) -> list[Step]:
    """W_new = W - dW."""
    return [replace(step, fn=lambda p, g, lr, f=step.fn: f(p, g, 1.0))]


def _no_bias(net: Network, step: Step, steps: dict[str, Step]) -> list[Step]:
    """Z = X W (no + b)."""
    return [replace(step, fn=lambda x, w, b, f=step.fn: f(x, w, 0 * b))]


def _pre_activation(net: Network, step: Step, steps: dict[str, Step]) -> list[Step]:
    """Z1 where A1 belongs (in Z2 or in dW2)."""
    return [] if net.activations[0] == "linear" else [_swap(step, "A1", "Z1")]


def _updated_weights(net: Network, step: Step, steps: dict[str, Step]) -> list[Step]:
    """dA1 = dZ2 W2_new^T: the error sent back through the weights after their update."""
    return [_swap(step, "W2", "W2_new")]


def _weight_gradient_for_error(net: Network, step: Step, steps: dict[str, Step]) -> list[Step]:
    """dA1 = the output weights' gradient a_j delta in place of delta w_j (seed 004): per sample, row i =
    (A1_i^T dZ2_i)^T, or summed over the samples, dW2^T. Defined for one output unit, where it fits dA1."""
    if net.sizes[2] != 1:
        return []
    dW2 = steps["dW2"].fn
    return [replace(step, inputs=("dZ2", "A1"),
                    fn=lambda d, a: np.concatenate([dW2(a[i:i + 1], d[i:i + 1]).T for i in range(len(d))])),
            replace(step, inputs=("dZ2", "A1"), fn=lambda d, a: dW2(a, d).T)]


def _bias_mean(net: Network, step: Step, steps: dict[str, Step]) -> list[Step]:
    """db = mean of dZ over the samples instead of the sum."""
    return [replace(step, fn=lambda d, f=step.fn: f(d) / len(d))]


DZ, DW, UPDATES = ("dZ1", "dZ2"), ("dW1", "dW2"), ("W1_new", "b1_new", "W2_new", "b2_new")
PER_SAMPLE = ("Z1", "A1", "Z2", "Yhat", "dYhat", "dZ2", "dA1", "dZ1")

CATALOGUE: tuple[Misconception, ...] = (
    Misconception("forgot_activation_derivative", "forgot the activation derivative",
                  "the error must be multiplied, entry by entry, by the derivative of the activation before it "
                  "goes further back: delta = dL/dA * f'(Z) (for the sigmoid f'(z) = a(1 - a)).", DZ, _no_derivative),
    Misconception("matmul_for_hadamard", "matrix product where the element-wise product belongs",
                  "multiplying by the activation derivative is element-wise (the Hadamard product: each entry times "
                  "the matching entry, * in NumPy), not a matrix product (@); delta has the same shape as Z.",
                  DZ, _matmul_for_hadamard),
    Misconception("activation_for_derivative", "the activation where its derivative belongs",
                  "the chain rule needs the derivative f'(z) (for the sigmoid sigma'(z) = sigma(z)(1 - sigma(z)) = "
                  "a(1 - a)), not sigma(z) = a itself, nor sigma applied to a.", DZ, _activation_for_derivative),
    Misconception("derivative_at_activation", "derivative evaluated at the activation instead of its input",
                  "f'(z) = sigma(z)(1 - sigma(z)) is the derivative at the pre-activation z; written in the "
                  "activation a = sigma(z) it is a(1 - a). sigma(a)(1 - sigma(a)) applies the sigmoid twice.",
                  ("activation_grad",), _derivative_at_activation),
    Misconception("other_activation_derivative", "another activation's derivative",
                  "each layer's delta uses the derivative of that layer's own activation: a(1 - a) for the sigmoid, "
                  "1 - a^2 for tanh, [z > 0] for ReLU; this answer used another activation's.",
                  ("activation_grad",), _other_activation_derivative),
    Misconception("derivative_at_z", "derivative formula evaluated at z instead of a",
                  "the derivative written in terms of the activation (a(1 - a) for the sigmoid, 1 - a^2 for tanh) "
                  "needs a = f(z), the activation, not the pre-activation z.", DZ, _derivative_at_z),
    Misconception("transposed_gradient", "transposed gradient",
                  "a weight's gradient is laid out like the weight as the problem writes it (with samples as rows, "
                  "dL/dW1 = X^T delta1 is inputs x hidden units like W1); this answer is its transpose.", DW,
                  _transposed),
    Misconception("samples_as_columns", "samples laid out the other way",
                  "this answer is the problem's layout transposed (samples as rows where the problem has them as "
                  "columns, or the other way round). Its worksheet and notebook show which way; a square matrix can "
                  "only be read that way. Transpose it.", PER_SAMPLE, _transposed, carried=False),
    Misconception("missing_1_over_n", "forgot the 1/n",
                  "this loss is a mean over the n samples, so the 1/n stays in the loss and in every gradient that "
                  "follows from it.", ("L", "dYhat"), _without_mean),
    Misconception("extra_1_over_n", "1/n where the loss has none",
                  "this loss is a sum over the samples, not a mean: there is no 1/n in the loss or in its gradients.",
                  ("L", "dYhat"), _with_mean),
    Misconception("dropped_half", "dropped the 1/2 of the loss",
                  "this loss has 1/2 in front of the squares; it stays in the loss, and in the gradient it cancels "
                  "the 2 from the square: dL/dyhat = (yhat - y), not 2 (yhat - y).", ("L", "dYhat"), _dropped_half),
    Misconception("lost_factor_2", "lost the 2 of the squared error's derivative",
                  "the derivative of (yhat - y)^2 is 2 (yhat - y): with no 1/2 in front of the loss, the 2 stays "
                  "in dL/dyhat and in every gradient after it.", ("dYhat",), _lost_two),
    Misconception("squared_error_derivative_in_bce", "squared-error derivative in a cross-entropy network",
                  "for binary cross-entropy dL/dyhat = (yhat - y) / (yhat (1 - yhat)) / n; (yhat - y) is the "
                  "derivative of the squared error. With a sigmoid output the two factors combine to "
                  "delta2 = (yhat - y) / n.", ("dYhat",), _squared_error_gradient),
    Misconception("other_loss_derivative", "another loss's derivative",
                  "dL/dyhat is the derivative of this problem's loss (see its formula: a sum or a mean, with or "
                  "without 1/2, squared error or cross-entropy); this answer is the derivative of another loss.",
                  ("loss_grad",), _other_loss_gradient),
    Misconception("error_sign", "error taken as y - yhat",
                  "the loss gradient is prediction minus target, (yhat - y); (y - yhat) flips the sign of every "
                  "gradient after it.", ("dYhat",), _flipped_error),
    Misconception("weight_gradient_for_error", "a weight's gradient used in place of the back-propagated error",
                  "the error reaching hidden unit j is delta2 times the weight it travels back along "
                  "(dL/da_j = delta2 w_j); a_j delta2 is that weight's own gradient dL/dw_j.",
                  ("dA1",), _weight_gradient_for_error),
    Misconception("updated_weights_in_backprop", "updated weights used to back-propagate",
                  "back-propagation uses the weights of the forward pass: compute every gradient with W2 as it was, "
                  "and only then update the weights.", ("dA1",), _updated_weights),
    Misconception("update_sign", "wrong sign in the update",
                  "gradient descent steps against the gradient: W_new = W - lr * dL/dW, so that the loss goes down.",
                  UPDATES, _update_sign),
    Misconception("update_without_lr", "forgot the learning rate",
                  "one SGD step moves by the learning rate times the gradient: W_new = W - lr * dL/dW.",
                  UPDATES, _update_without_lr),
    Misconception("forgot_bias", "forgot the bias",
                  "every unit adds its bias: Z = X W + b, with b added to every row (sample).", ("Z1", "Z2"), _no_bias),
    Misconception("pre_activation_for_activation", "pre-activation used where the activation belongs",
                  "the next layer and the output weights' gradient take the hidden activations A1 = f(Z1), "
                  "not the pre-activations Z1.", ("Z2", "dW2"), _pre_activation),
    Misconception("bias_gradient_averaged", "bias gradient averaged instead of summed",
                  "dL/db adds up delta over the samples (every sample's error reaches the same bias); any 1/n "
                  "already sits inside delta.", ("db1", "db2"), _bias_mean),
)

BY_KEY: dict[str, Misconception] = {m.key: m for m in CATALOGUE}


@lru_cache(maxsize=64)
def wrong_steps(net: Network) -> tuple[tuple[Misconception, Step], ...]:
    """Every catalogued wrong step that applies to this network, in catalogue order."""
    steps = {s.name: s for s in build_steps(net)}
    return tuple((m, form) for m in CATALOGUE for step in _targets(m, steps) for form in m.forms(net, step, steps))


def _targets(m: Misconception, steps: dict[str, Step]) -> list[Step]:
    """The steps a misconception mimics: those it names, in its order, then those of the roles it names (any layer)."""
    return [steps[n] for n in m.steps if n in steps] + [s for s in steps.values() if s.role in m.steps]
