"""Named misconceptions: known wrong versions of a problem's steps, each with a message that teaches.

A misconception is a table row: a key, a name, a message, the step roles it mimics (hwgen.engine.Role) and a
builder that returns its wrong version(s) of such a step. A wrong version is a Step with the same name as the
step it mimics; it reads the problem's own quantities and changes only the deliberate mistake (an input put in
place of another, a factor, a sign, a transpose, another table row), so no new mathematics is written here.
Builders find what they need by role and by the table rows steps apply (`op`), never by a quantity's name, so
every row applies to a network of any depth; a graph's gradients (role node_grad) are rebuilt by the graph's own
reverse accumulation (hwgen.graph.Backward) with one consumer's local derivative taken from a wrong version of
the op table, so the graph rows apply to every graph template. A step to which a mistake does not apply (no
derivative to forget in a linear layer) gets no wrong version.

The grader evaluates every wrong version on the student's variant and carries it through the later steps
(a mistake in dYhat, when dYhat is not asked, shows in dZ2); an answer that matches one, where the
wrong value is not also the right value, is `wrong` with the misconception named.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Callable, Mapping

import numpy as np

from ..engine import Step, mm, solve
from ..expr import Expr, Num, Op
from ..graph import ACTIVATION_OPS, OPS, Backward, Row
from ..tables import ACTIVATIONS, LOSSES, Activation

if TYPE_CHECKING:
    from ..bank import Template

Array = np.ndarray


class Structure:
    """What the builders read of a template's problem: its steps by name, the shape of every quantity, which steps
    read which, and a graph's reverse accumulation (None for a network)."""

    def __init__(self, template: Template) -> None:
        self.problem = template.problem
        self.steps = {s.name: s for s in self.problem.steps}
        self.backward = Backward(template.graph, self.problem.given) if template.graph else None

    @cached_property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Every quantity's canonical shape (the steps solved on ones)."""
        ones = {k: np.ones(shape) for k, shape in self.problem.given.items()}
        return {k: np.shape(v) for k, v in solve(self.problem, ones, 0.1).items()}

    def readers(self, name: str, *roles: str) -> list[Step]:
        """The steps of these roles that read `name`, in working order."""
        return [s for s in self.steps.values() if name in s.inputs and s.role in roles]

    def parameter_gradient(self, step: Step) -> bool:
        """Whether an update step reads this step: it is the gradient of a given weight or bias."""
        return bool(self.readers(step.name, "update"))

    def produced_by_activation(self, name: str) -> Step | None:
        """The activation step that computes `name` (a = f(z)), if one does."""
        step = self.steps.get(name)
        return step if step is not None and step.role == "activation" and step.op in ACTIVATIONS else None

    def layer(self, step: Step) -> tuple[str, str, str, Activation]:
        """For an activation-gradient step dZ: the upstream gradient's name dA, the pre-activation Z, the activation
        A (the step reading only Z) and the activation's table row (gradient names are d + the quantity)."""
        z = step.name[1:]
        a = next(s.name for s in self.steps.values() if s.role == "activation" and s.inputs == (z,))
        return f"d{a}", z, a, ACTIVATIONS[step.op]

    def combined(self, step: Step) -> bool:
        """Whether an activation-gradient step reads the loss's inputs itself (softmax with cross-entropy: one line,
        (Yhat - Y) / n), so the loss gradient's mistakes apply to it."""
        return step.role == "activation_grad" and any(s.inputs == step.inputs for s in self.problem.by_role("loss_grad"))


Builder = Callable[[Step, Structure], list[Step]]


@dataclass(frozen=True)
class Misconception:
    """A known mistake: `key` (stable id in the gradebook), `name`, a teaching `message`, the step roles it mimics
    and `forms(step, structure)` -> its wrong version(s) of that step ([] where it does not apply)."""

    key: str
    name: str
    message: str
    roles: tuple[str, ...]
    forms: Builder
    carried: bool = True  # whether later steps are evaluated on the wrong value (not for a mere layout slip)


# ---- a network's activation gradients: dZ from the upstream dA and f'(Z) -------------------------------------------

def _reads(act: Activation, z: str, a: str) -> str:
    """The quantity an activation's derivative is read from: z, or the activation a, as its table row says."""
    return z if act.grad_of == "z" else a


def _no_derivative(step: Step, s: Structure) -> list[Step]:
    """dZ = dA: the activation derivative left out (graph: a function gate's local derivative taken as 1)."""
    if step.role == "node_grad":
        return _graph_rows(step, s, lambda e: [_local(f, lambda a: (Num(1.0),)) for f in _functions(e, ACTIVATION_OPS)])
    up, z, a, act = s.layer(step)
    return [] if act.grad_of is None else [replace(step, inputs=(up,), fn=lambda d: d)]


def _plain(step: Step, s: Structure) -> tuple[str, str, str, Activation] | None:
    """The layer of an activation-gradient step that multiplies dA by f' entry by entry (not a linear layer, not
    softmax's coupled backward), else None."""
    if step.role != "activation_grad":
        return None
    layer = s.layer(step)
    return None if layer[3].grad_of is None or layer[3].coupled else layer


def _matmul_for_hadamard(step: Step, s: Structure) -> list[Step]:
    """dZ = dA @ act'(.)^T or dA^T @ act'(.): a matrix product in place of the element-wise one."""
    layer = _plain(step, s)
    if layer is None:
        return []
    up, z, a, act = layer
    inputs = (up, _reads(act, z, a))
    return [replace(step, inputs=inputs, fn=lambda d, v: mm(d, act.grad(v).T)),
            replace(step, inputs=inputs, fn=lambda d, v: mm(d.T, act.grad(v)))]


def _activation_for_derivative(step: Step, s: Structure) -> list[Step]:
    """dZ = dA * f(z) (the activation a itself), or dA * f(a) (the activation applied to a)."""
    layer = _plain(step, s)
    if layer is None:
        return []
    up, z, a, act = layer
    value = (lambda v: v) if act.grad_of == "a" else act.fn  # the step reads a, or z
    inputs = (up, _reads(act, z, a))
    return [replace(step, inputs=inputs, fn=lambda d, v: d * value(v)),
            replace(step, inputs=inputs, fn=lambda d, v: d * act.fn(value(v)))]


def _derivative_at_activation(step: Step, s: Structure) -> list[Step]:
    """dZ = dA * f'(a) written in z, evaluated at a: sigma(a)(1 - sigma(a)) in place of a(1 - a), read off the table
    as the derivative of f at f(z)."""
    layer = _plain(step, s)
    if layer is None or layer[3].grad_of != "a":
        return []
    up, z, a, act = layer
    return [replace(step, inputs=(up, a), fn=lambda d, v: d * act.grad(act.fn(v)))]


def _other_activation_derivative(step: Step, s: Structure) -> list[Step]:
    """dZ = dA * g'(.) for every other (non-linear) activation g of the table, each read as its table row says
    (from a = f(z), the student's own activations, or from z): tanh's 1 - a^2 in a sigmoid layer, ReLU's [z > 0]."""
    layer = _plain(step, s)
    if layer is None:
        return []
    up, z, a, act = layer
    return [replace(step, inputs=(up, _reads(other, z, a)), fn=lambda d, v, g=other.grad: d * g(v))
            for other in ACTIVATIONS.values() if other is not act and other.grad_of is not None and not other.output_only]


def _softmax_diagonal(step: Step, s: Structure) -> list[Step]:
    """dZ = dA * a(1 - a): a coupled activation's (softmax's) Jacobian diagonal alone, as if each output moved
    with its own input only."""
    if step.role != "activation_grad":
        return []
    up, z, a, act = s.layer(step)
    return [replace(step, inputs=(up, a), fn=lambda d, v: d * act.grad(v))] if act.coupled else []


def _derivative_at_z(step: Step, s: Structure) -> list[Step]:
    """dZ = dA * z(1 - z): a derivative written in terms of a, evaluated at z."""
    layer = _plain(step, s)
    if layer is None or layer[3].grad_of != "a":
        return []
    up, z, a, act = layer
    return [replace(step, inputs=(up, z), fn=lambda d, v: d * act.grad(v))]


# ---- gradients of the weights, back-propagated errors, updates ------------------------------------------------------

def _transposed(step: Step, s: Structure) -> list[Step]:
    """The step's result transposed: dW = (X^T dZ)^T = dZ^T X, or a per-sample quantity with samples as columns."""
    return [replace(step, fn=lambda *a, f=step.fn: f(*a).T)]


def _weight_transposed(step: Step, s: Structure) -> list[Step]:
    """A weight's gradient (a transpose-product that an update reads) transposed."""
    return _transposed(step, s) if s.parameter_gradient(step) else []


def _samples_as_columns(step: Step, s: Structure) -> list[Step]:
    """A per-sample matrix (not a parameter's gradient) with samples as columns."""
    return _transposed(step, s) if not s.parameter_gradient(step) and len(s.shapes[step.name]) == 2 else []


def _without_decay(step: Step) -> Callable[[Array, Array], Array]:
    """A weight gradient's fn of (A, dZ) alone: its weight-decay inputs (lam, W), if any, taken as 0."""
    extra = (0.0,) * (len(step.inputs) - 2)
    return lambda a, d: step.fn(a, d, *extra)


def _weight_gradient_for_error(step: Step, s: Structure) -> list[Step]:
    """dA = the next weights' gradient a_j delta in place of delta w_j (seed 004): per sample, row i =
    (A_i^T dZ_i)^T, or summed over the samples, dW^T. Defined where the next layer has one unit, where it fits dA."""
    if step.role != "transpose_product" or s.parameter_gradient(step):
        return []
    dz = step.inputs[0]
    grads = [g for g in s.readers(dz, "transpose_product") if s.parameter_gradient(g)]
    if not grads or s.shapes[dz][-1] != 1:
        return []
    before, weight_grad = grads[0].inputs[0], _without_decay(grads[0])
    return [replace(step, inputs=(dz, before),
                    fn=lambda d, a: np.concatenate([weight_grad(a[i:i + 1], d[i:i + 1]).T for i in range(len(d))])),
            replace(step, inputs=(dz, before), fn=lambda d, a: weight_grad(a, d).T)]


def _updated_weights(step: Step, s: Structure) -> list[Step]:
    """dA = dZ W_new^T: the error sent back through the weights after their update."""
    if step.role != "transpose_product" or s.parameter_gradient(step):
        return []
    return [_swap(step, w, u.name) for w in step.inputs for u in s.readers(w, "update") if u.inputs[0] == w]


def _update_sign(step: Step, s: Structure) -> list[Step]:
    """W_new = W + lr dW."""
    return [replace(step, fn=lambda p, g, lr, f=step.fn: f(p, -g, lr))]


def _update_without_lr(step: Step, s: Structure) -> list[Step]:
    """W_new = W - dW."""
    return [replace(step, fn=lambda p, g, lr, f=step.fn: f(p, g, 1.0))]


def _swap(step: Step, old: str, new: str) -> Step:
    """The step with input `old` replaced by `new` (same fn)."""
    return replace(step, inputs=tuple(new if i == old else i for i in step.inputs))


def _no_bias(step: Step, s: Structure) -> list[Step]:
    """Z = X W (no + b)."""
    return [replace(step, fn=lambda x, w, b, f=step.fn: f(x, w, 0 * b))]


def _pre_activation(step: Step, s: Structure) -> list[Step]:
    """Z where A = f(Z) belongs: in the next layer's Z or a graph node reading A, or in a weight's gradient (not in
    Z's own gradient, whose f' may be read from A)."""
    if step.role == "transpose_product" and not s.parameter_gradient(step):
        return []
    out = []
    for name in step.inputs:
        act = s.produced_by_activation(name)
        if act is not None and act.op != "linear" and step.name != f"d{act.inputs[0]}":
            out.append(_swap(step, name, act.inputs[0]))
    return out


def _bias_mean(step: Step, s: Structure) -> list[Step]:
    """db = mean of dZ over the samples instead of the sum (graph: the gradient of a quantity with one number, read
    by per-sample nodes, divided by the number of samples)."""
    if step.role == "sum_samples":
        return [replace(step, fn=lambda d, f=step.fn: f(d) / len(d))]
    back = s.backward
    x = step.name[1:]
    if back is None or back.samples is None or x in back.shapes.per_sample or \
            not any(c in back.shapes.per_sample for c in back.consumers(x)):
        return []
    return [replace(step, fn=lambda *v, f=step.fn, n=back.samples: f(*v) / n)]


def _decay_left_out(step: Step, s: Structure) -> list[Step]:
    """L or dW with weight decay, the decay term left out (lam taken as 0)."""
    if "lam" not in step.inputs:
        return []
    k = step.inputs.index("lam")
    return [replace(step, fn=lambda *v, f=step.fn: f(*v[:k], 0.0 * v[k], *v[k + 1:]))]


# ---- the loss and its gradient --------------------------------------------------------------------------------------

def _averages(loss: str) -> bool:
    """Whether a loss has a 1/n: the same rows twice give the same loss (read off the table)."""
    fn, yhat, y = LOSSES[loss].fn, np.array([[0.3]]), np.array([[1.0]])
    return bool(np.isclose(fn(np.vstack([yhat, yhat]), np.vstack([y, y])), fn(yhat, y)))


def _squared_error(loss: str) -> float | None:
    """For a squared-error loss (one that needs no particular output), its factor in front of the sum of squares
    for one sample (1 or 1/2, read off the table); None for the cross-entropies."""
    return None if LOSSES[loss].needs else float(LOSSES[loss].fn(np.array([[1.0]]), np.array([[0.0]])))


def _data_scaled(step: Step, factor: Callable[[Array], float]) -> Step:
    """The loss (or its gradient) with its data term (the loss table's row) times factor(y): any weight-decay term
    stays as it is."""
    data = LOSSES[step.op].fn if step.role == "loss" else LOSSES[step.op].grad
    return replace(step, fn=lambda yh, y, *rest, f=step.fn: f(yh, y, *rest) + (factor(y) - 1) * data(yh, y))


def _without_mean(step: Step, s: Structure) -> list[Step]:
    """The loss (or its gradient, or softmax-with-cross-entropy's (Yhat - Y) / n) without its 1/n."""
    if s.combined(step):
        return [replace(step, fn=lambda yh, y, f=step.fn: f(yh, y) * len(y))]
    return [_data_scaled(step, len)] if step.role in ("loss", "loss_grad") and _averages(step.op) else []


def _with_mean(step: Step, s: Structure) -> list[Step]:
    """The loss (or its gradient) divided by n although the loss is a sum."""
    return [] if _averages(step.op) else [_data_scaled(step, lambda y: 1 / len(y))]


def _dropped_half(step: Step, s: Structure) -> list[Step]:
    """The loss (or its gradient) of a 1/2 loss without the 1/2."""
    return [_data_scaled(step, lambda y: 2.0)] if _squared_error(step.op) == 0.5 else []


def _lost_two(step: Step, s: Structure) -> list[Step]:
    """The gradient of a squared error without the 2 that differentiating the square brings down (graph: a power's
    local derivative without its exponent in front)."""
    if step.role == "node_grad":
        drop = _local("pow", lambda a: (Op("pow", (a[0], Num(a[1].value - 1.0))), Num(0.0)))  # type: ignore[union-attr]
        return _graph_rows(step, s, lambda e: [drop] if _functions(e, ("pow",)) else [])
    return [replace(step, fn=lambda yh, y, f=step.fn: f(yh, y) / 2)] if _squared_error(step.op) == 1.0 else []


def _squared_error_gradient(step: Step, s: Structure) -> list[Step]:
    """dYhat from a squared-error row of the loss table in a BCE net."""
    if step.op != "bce":
        return []
    return [replace(step, fn=loss.grad) for name, loss in LOSSES.items() if not loss.needs]


def _other_loss_gradient(step: Step, s: Structure) -> list[Step]:
    """dYhat from every other row of the loss table: (yhat - y)/n in an SSE net, 2 (yhat - y) in an MSE net, ..."""
    return [replace(step, fn=loss.grad) for name, loss in LOSSES.items() if name != step.op]


def _flipped_error(step: Step, s: Structure) -> list[Step]:
    """dYhat (or softmax-with-cross-entropy's dZ) from (y - yhat) instead of (yhat - y)."""
    if step.role == "activation_grad" and not s.combined(step):
        return []
    return [replace(step, fn=lambda yh, y, f=step.fn: -f(yh, y))]


# ---- a graph's gradients: reverse accumulation with one consumer's local derivative wrong ---------------------------

RowsFor = Callable[[Expr], list[dict[str, Row]]]  # a consumer's expression -> wrong op-table rows that apply to it


def _functions(e: Expr, names: Mapping[str, object] | tuple[str, ...]) -> list[str]:
    """The ops of `names` that expression e applies, in order of first appearance."""
    if not isinstance(e, Op):
        return []
    found = [e.op] if e.op in names else []
    return list(dict.fromkeys(found + [f for a in e.args for f in _functions(a, names)]))


def _local(op: str, local: Callable[[tuple[Expr, ...]], tuple[Expr, ...]]) -> dict[str, Row]:
    """One op's table row with other local derivatives."""
    return {op: replace(OPS[op], local=local)}


def _graph_rows(step: Step, s: Structure, rows_for: RowsFor) -> list[Step]:
    """d<x> by reverse accumulation with one consumer's term differentiated with a wrong version of the op table
    (one form per consumer and wrong version that changes that term)."""
    back = s.backward
    if back is None or step.role != "node_grad" or step.name[1:] == back.graph.output:
        return []
    x = step.name[1:]
    users = back.consumers(x)
    right = [back.term(x, c) for c in users]
    out = []
    for k, c in enumerate(users):
        for rows in rows_for(back.exprs[c]):
            wrong = back.term(x, c, {**OPS, **rows})
            if wrong != right[k]:
                out.append(back.step(x, [*right[:k], wrong, *right[k + 1:]]))
    return out


def _fan_out(step: Step, s: Structure) -> list[Step]:
    """d<x> for an x read by several nodes: one consumer's term kept, the others' left out."""
    back = s.backward
    if back is None or step.role != "node_grad" or step.name[1:] == back.graph.output:
        return []
    x = step.name[1:]
    users = back.consumers(x)
    return [back.step(x, [back.term(x, c)]) for c in users] if len(users) > 1 else []


SWAPPED_PRODUCT = _local("mul", lambda a: (a[0], a[1]))  # d(ab)/da = a, d(ab)/db = b
SIGN_SLIPS = {**_local("sub", lambda a: (Num(1.0), Num(1.0))), **_local("neg", lambda a: (Num(1.0),)),
              **_local("div", lambda a: (Op("div", (Num(1.0), a[1])), Op("div", (a[0], Op("pow", (a[1], Num(2.0)))))))}
FUNCTION_GATES = ("sigmoid", "tanh", "relu", "exp", "log", "sqrt")


def _product_operand(step: Step, s: Structure) -> list[Step]:
    """A product's local derivative with respect to one factor taken as that factor itself, not the other one."""
    return _graph_rows(step, s, lambda e: [SWAPPED_PRODUCT] if _functions(e, ("mul",)) else [])


def _local_sign(step: Step, s: Structure) -> list[Step]:
    """A subtraction's, negation's or division's local derivative without its minus sign."""
    return _graph_rows(step, s, lambda e: [SIGN_SLIPS] if _functions(e, tuple(SIGN_SLIPS)) else [])


def _as_function(e: Expr, old: str, new: str) -> Expr:
    """e with every application of function `old` turned into one of `new` (another function's derivative written
    in terms of its own value becomes one written in this gate's value)."""
    if not isinstance(e, Op):
        return e
    return Op(new if e.op == old else e.op, tuple(_as_function(a, old, new) for a in e.args))


def _other_function(f: str, g: str) -> dict[str, Row]:
    """Function gate f's row with g's local derivative, g's value in it read as f's (tanh's 1 - y^2 with y = sigma(x))."""
    return _local(f, lambda a: tuple(_as_function(d, g, f) for d in OPS[g].local(a)))


def _other_function_derivative(step: Step, s: Structure) -> list[Step]:
    """A function gate's local derivative taken from another function of the table."""
    return _graph_rows(step, s, lambda e: [_other_function(f, g) for f in _functions(e, FUNCTION_GATES)
                                           for g in FUNCTION_GATES if g != f])


CATALOGUE: tuple[Misconception, ...] = (
    Misconception("forgot_activation_derivative", "forgot the activation derivative",
                  "the error must be multiplied, entry by entry, by the derivative of the activation before it "
                  "goes further back: delta = dL/dA * f'(Z) (for the sigmoid f'(z) = a(1 - a)).",
                  ("activation_grad", "node_grad"), _no_derivative),
    Misconception("matmul_for_hadamard", "matrix product where the element-wise product belongs",
                  "multiplying by the activation derivative is element-wise (the Hadamard product: each entry times "
                  "the matching entry, * in NumPy), not a matrix product (@); delta has the same shape as Z.",
                  ("activation_grad",), _matmul_for_hadamard),
    Misconception("activation_for_derivative", "the activation where its derivative belongs",
                  "the chain rule needs the derivative f'(z) (for the sigmoid sigma'(z) = sigma(z)(1 - sigma(z)) = "
                  "a(1 - a)), not sigma(z) = a itself, nor sigma applied to a.", ("activation_grad",),
                  _activation_for_derivative),
    Misconception("derivative_at_activation", "derivative evaluated at the activation instead of its input",
                  "f'(z) = sigma(z)(1 - sigma(z)) is the derivative at the pre-activation z; written in the "
                  "activation a = sigma(z) it is a(1 - a). sigma(a)(1 - sigma(a)) applies the sigmoid twice.",
                  ("activation_grad",), _derivative_at_activation),
    Misconception("other_activation_derivative", "another activation's derivative",
                  "each layer's delta uses the derivative of that layer's own activation: a(1 - a) for the sigmoid, "
                  "1 - a^2 for tanh, [z > 0] for ReLU; this answer used another activation's.",
                  ("activation_grad",), _other_activation_derivative),
    Misconception("softmax_diagonal", "softmax differentiated entry by entry",
                  "every softmax output shares one denominator, so each z_k moves every output: "
                  "dL/dz_k = a_k (dL/da_k - sum_j dL/da_j a_j). The diagonal a_k(1 - a_k) alone leaves the other "
                  "outputs out; with cross-entropy the whole backward is (yhat - y) / n.",
                  ("activation_grad",), _softmax_diagonal),
    Misconception("derivative_at_z", "derivative formula evaluated at z instead of a",
                  "the derivative written in terms of the activation (a(1 - a) for the sigmoid, 1 - a^2 for tanh) "
                  "needs a = f(z), the activation, not the pre-activation z.", ("activation_grad",), _derivative_at_z),
    Misconception("transposed_gradient", "transposed gradient",
                  "a weight's gradient is laid out like the weight as the problem writes it (with samples as rows, "
                  "dL/dW1 = X^T delta1 is inputs x hidden units like W1); this answer is its transpose.",
                  ("transpose_product",), _weight_transposed),
    Misconception("samples_as_columns", "samples laid out the other way",
                  "this answer is the problem's layout transposed (samples as rows where the problem has them as "
                  "columns, or the other way round). Its worksheet and notebook show which way; a square matrix can "
                  "only be read that way. Transpose it.",
                  ("affine", "activation", "loss_grad", "activation_grad", "transpose_product"), _samples_as_columns,
                  carried=False),
    Misconception("missing_1_over_n", "forgot the 1/n",
                  "this loss is a mean over the n samples, so the 1/n stays in the loss and in every gradient that "
                  "follows from it.", ("loss", "loss_grad", "activation_grad"), _without_mean),
    Misconception("extra_1_over_n", "1/n where the loss has none",
                  "this loss is a sum over the samples, not a mean: there is no 1/n in the loss or in its gradients.",
                  ("loss", "loss_grad"), _with_mean),
    Misconception("dropped_half", "dropped the 1/2 of the loss",
                  "this loss has 1/2 in front of the squares; it stays in the loss, and in the gradient it cancels "
                  "the 2 from the square: dL/dyhat = (yhat - y), not 2 (yhat - y).", ("loss", "loss_grad"),
                  _dropped_half),
    Misconception("lost_factor_2", "lost the 2 of the squared error's derivative",
                  "the derivative of (yhat - y)^2 is 2 (yhat - y): with no 1/2 in front of the loss, the 2 stays "
                  "in dL/dyhat and in every gradient after it.", ("loss_grad", "node_grad"), _lost_two),
    Misconception("squared_error_derivative_in_bce", "squared-error derivative in a cross-entropy network",
                  "for binary cross-entropy dL/dyhat = (yhat - y) / (yhat (1 - yhat)) / n; (yhat - y) is the "
                  "derivative of the squared error. With a sigmoid output the two factors combine to "
                  "delta2 = (yhat - y) / n.", ("loss_grad",), _squared_error_gradient),
    Misconception("other_loss_derivative", "another loss's derivative",
                  "dL/dyhat is the derivative of this problem's loss (see its formula: a sum or a mean, with or "
                  "without 1/2, squared error or cross-entropy); this answer is the derivative of another loss.",
                  ("loss_grad",), _other_loss_gradient),
    Misconception("error_sign", "error taken as y - yhat",
                  "the loss gradient is prediction minus target, (yhat - y); (y - yhat) flips the sign of every "
                  "gradient after it.", ("loss_grad", "activation_grad"), _flipped_error),
    Misconception("weight_gradient_for_error", "a weight's gradient used in place of the back-propagated error",
                  "the error reaching hidden unit j is delta2 times the weight it travels back along "
                  "(dL/da_j = delta2 w_j); a_j delta2 is that weight's own gradient dL/dw_j.",
                  ("transpose_product",), _weight_gradient_for_error),
    Misconception("updated_weights_in_backprop", "updated weights used to back-propagate",
                  "back-propagation uses the weights of the forward pass: compute every gradient with W2 as it was, "
                  "and only then update the weights.", ("transpose_product",), _updated_weights),
    Misconception("update_sign", "wrong sign in the update",
                  "gradient descent steps against the gradient: W_new = W - lr * dL/dW, so that the loss goes down.",
                  ("update",), _update_sign),
    Misconception("update_without_lr", "forgot the learning rate",
                  "one SGD step moves by the learning rate times the gradient: W_new = W - lr * dL/dW.",
                  ("update",), _update_without_lr),
    Misconception("forgot_bias", "forgot the bias",
                  "every unit adds its bias: Z = X W + b, with b added to every row (sample).", ("affine",), _no_bias),
    Misconception("pre_activation_for_activation", "pre-activation used where the activation belongs",
                  "the next layer and the output weights' gradient take the hidden activations A1 = f(Z1), "
                  "not the pre-activations Z1.", ("affine", "transpose_product", "node", "node_grad"), _pre_activation),
    Misconception("bias_gradient_averaged", "bias gradient averaged instead of summed",
                  "dL/db adds up delta over the samples (every sample's error reaches the same bias, as it reaches "
                  "any weight shared by the samples); any 1/n already sits inside delta.", ("sum_samples", "node_grad"),
                  _bias_mean),
    Misconception("forgot_weight_decay", "forgot the weight decay",
                  "with weight decay the loss adds (lambda / 2) times the sum of the squared weights, so each "
                  "weight's gradient gains lambda W: dL/dW = A^T delta + lambda W.", ("loss", "transpose_product"),
                  _decay_left_out),
    Misconception("missed_fan_out_sum", "kept one path's gradient where a quantity feeds several nodes",
                  "a quantity read by several nodes gets the gradients coming back along every path, added up: "
                  "dout/dx = sum over the nodes c that read x of dout/dc * dc/dx.", ("node_grad",), _fan_out),
    Misconception("product_operand", "wrong factor in a product's local derivative",
                  "a product sends each factor the gradient times the OTHER factor: d(a b)/da = b, d(a b)/db = a.",
                  ("node_grad",), _product_operand),
    Misconception("other_function_derivative", "another function's derivative",
                  "each gate's local derivative is its own function's: sigma(x)(1 - sigma(x)) for the sigmoid, "
                  "1 - tanh(x)^2 for tanh, [x > 0] for ReLU, exp(x) for exp, 1/x for log, 1/(2 sqrt(x)) for sqrt; "
                  "this answer used another function's.", ("node_grad",), _other_function_derivative),
    Misconception("local_derivative_sign", "lost the minus sign of a local derivative",
                  "subtracting, negating and dividing send a minus sign back: d(a - b)/db = -1, d(-a)/da = -1, "
                  "d(a/b)/db = -a/b^2.", ("node_grad",), _local_sign),
)

BY_KEY: dict[str, Misconception] = {m.key: m for m in CATALOGUE}


@lru_cache(maxsize=64)
def wrong_steps(template: Template) -> tuple[tuple[Misconception, Step], ...]:
    """Every catalogued wrong step that applies to this template's problem, in catalogue order."""
    s = Structure(template)
    return tuple((m, form) for m in CATALOGUE for step in s.problem.steps if step.role in m.roles
                 for form in m.forms(step, s))
