"""How often planted mistakes are named, and how often honest work is told it made one (run from the repo root):

    python bench/misconceptions.py [--seeds 40] [--digits 4] [--bank old|new]

Simulated students (hwgen/grade/simulate.py, `worked`) work every problem of the bundled bank (the five
one-hidden-layer templates, or with --bank new the deeper, softmax, weight-decay, textbook and graph ones) by hand over
--seeds variants each: keeping the template's digits (rounding), one digit fewer, cutting digits off instead of
rounding, or exactly; and, for the planted students, with ONE mistake of MISTAKES in place of the right step
(written here in plain NumPy, independently of hwgen's catalogue), worked on consistently from there. Every
student is graded with hwgen's checks (default grading options) and counted:

- named: a planted mistake that shows (some asked answer is not correct) and that some item names with one of
  the mistake's accepted catalogue keys (a more specific name of the same mistake counts);
- missed: it shows, but no item names it (another name, or none);
- false diagnoses: items of honest students (exact, rounded or cut off) that name any misconception.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hwgen import bank  # noqa: E402
from hwgen.engine import Network, Step, evaluate  # noqa: E402
from hwgen.grade.checks import grade_problem  # noqa: E402
from hwgen.grade.simulate import worked  # noqa: E402
from hwgen.numfmt import round_sig  # noqa: E402
from hwgen.problem import ProblemSpec  # noqa: E402
from hwgen.sampling import sample  # noqa: E402

TEMPLATES = ("xor_net", "bce_net", "regression_3hidden", "relu_sigmoid", "batch_vectorized")
NEW_TEMPLATES = ("mlp_2hidden", "softmax_classifier", "l2_regression", "mazur_222", "circuit_basic",
                 "sigmoid_neuron_graph", "regression_graph_002")


def sig(v: np.ndarray) -> np.ndarray:
    """The logistic function."""
    return 1 / (1 + np.exp(-v))


GRADS = {  # dL/dyhat of each loss, written out here (n = rows)
    "sse": lambda yh, y: 2 * (yh - y), "sse_half": lambda yh, y: yh - y,
    "mse": lambda yh, y: 2 * (yh - y) / len(y), "mse_half": lambda yh, y: (yh - y) / len(y),
    "bce": lambda yh, y: (yh - y) / (yh * (1 - yh)) / len(y),
}
MEAN = {"mse", "mse_half", "bce"}
LOSS_KEYS = {"other_loss_derivative", "lost_factor_2", "dropped_half", "missing_1_over_n", "extra_1_over_n",
             "squared_error_derivative_in_bce"}


@dataclass(frozen=True)
class Mistake:
    """A student's wrong version of one step: step name, the inputs it reads, the wrong value, whether it applies
    to a network, and the catalogue keys that name it."""

    label: str
    step: str
    inputs: tuple[str, ...]
    fn: Callable[..., np.ndarray]
    applies: Callable[[Network], bool]
    keys: frozenset[str]


def _m(label: str, step: str, inputs: tuple[str, ...], fn: Callable[..., np.ndarray], keys: set[str] | str,
       applies: Callable[[Network], bool] = lambda net: True) -> Mistake:
    return Mistake(label, step, inputs, fn, applies, frozenset({keys} if isinstance(keys, str) else keys))


def _sigmoid_at(k: int) -> Callable[[Network], bool]:
    return lambda net: net.activations[k] == "sigmoid"


def _hidden(name: str) -> Callable[[Network], bool]:
    return lambda net: net.activations[0] == name


def _other_losses() -> list[Mistake]:
    """dYhat from every other loss's derivative (e.g. (yhat - y)/n in an SSE net)."""
    out = []
    for other, grad in GRADS.items():
        # BCE's derivative times a sigmoid output's a(1 - a) is (yhat - y)/n: in an MSE-half net that is the
        # right dL/dyhat with the activation derivative left out, the same numbers
        same = {"forgot_activation_derivative"} if other == "bce" else set()
        out.append(_m(f"dYhat of {other}", "dYhat", ("Yhat", "Y"), grad, LOSS_KEYS | same,
                      lambda net, other=other: net.loss != other))
    return out


MISTAKES: list[Mistake] = [
    _m("forgot f'(Z2)", "dZ2", ("dYhat",), lambda d: d, "forgot_activation_derivative",
       lambda net: net.activations[1] != "linear"),
    _m("forgot f'(Z1)", "dZ1", ("dA1",), lambda d: d, "forgot_activation_derivative"),
    _m("dA1 @ sigma'(A1)^T", "dZ1", ("dA1", "A1"), lambda d, a: d @ (a * (1 - a)).T, "matmul_for_hadamard",
       _sigmoid_at(0)),
    _m("dW1 transposed", "dW1", ("X", "dZ1"), lambda x, d: (x.T @ d).T, "transposed_gradient"),
    _m("dW2 transposed", "dW2", ("A1", "dZ2"), lambda a, d: d.T @ a, "transposed_gradient",
       lambda net: net.sizes[2] > 1),
    _m("L without 1/n", "L", ("Yhat", "Y"), lambda yh, y: ((yh - y) ** 2).sum(), "missing_1_over_n",
       lambda net: net.loss == "mse"),
    _m("dYhat without 1/n", "dYhat", ("Yhat", "Y"), lambda yh, y: yh - y, {"missing_1_over_n"} | LOSS_KEYS,
       lambda net: net.loss == "mse_half"),
    _m("L with 1/n", "L", ("Yhat", "Y"), lambda yh, y: ((yh - y) ** 2).sum() / len(y), "extra_1_over_n",
       lambda net: net.loss == "sse"),
    _m("dW2 with 1/n (sum loss)", "dW2", ("A1", "dZ2"), lambda a, d: a.T @ d / len(d), "extra_1_over_n",
       lambda net: net.loss not in MEAN),
    _m("dW1 with 1/n (sum loss)", "dW1", ("X", "dZ1"), lambda x, d: x.T @ d / len(d), "extra_1_over_n",
       lambda net: net.loss not in MEAN),
    _m("db2 with 1/n (sum loss)", "db2", ("dZ2",), lambda d: d.mean(axis=0), {"extra_1_over_n", "bias_gradient_averaged"},
       lambda net: net.loss not in MEAN),
    _m("L without 1/2", "L", ("Yhat", "Y"), lambda yh, y: ((yh - y) ** 2).sum() / (len(y) if "mse" in "" else 1),
       "dropped_half", lambda net: net.loss == "sse_half"),
    _m("dYhat without the 2", "dYhat", ("Yhat", "Y"), lambda yh, y: yh - y, {"lost_factor_2"} | LOSS_KEYS,
       lambda net: net.loss == "sse"),
    _m("dYhat = yhat - y in BCE", "dYhat", ("Yhat", "Y"), lambda yh, y: yh - y,
       {"squared_error_derivative_in_bce"} | LOSS_KEYS, lambda net: net.loss == "bce"),
    _m("dYhat = y - yhat", "dYhat", ("Yhat", "Y"), lambda yh, y: -GRADS["sse"](yh, y), "error_sign",
       lambda net: net.loss == "sse"),
    _m("dA1 = A1 * dZ2", "dA1", ("A1", "dZ2"), lambda a, d: a * d, "weight_gradient_for_error",
       lambda net: net.sizes[2] == 1),
    _m("dA1 through W2_new", "dA1", ("dZ2", "W2", "A1", "lr"), lambda d, w, a, lr: d @ (w - lr * a.T @ d).T,
       "updated_weights_in_backprop"),
    _m("W1 + lr dW1", "W1_new", ("W1", "dW1", "lr"), lambda w, g, lr: w + lr * g, "update_sign"),
    _m("b2 without lr", "b2_new", ("b2", "db2"), lambda b, g: b - g, "update_without_lr"),
    _m("Z1 without b1", "Z1", ("X", "W1"), lambda x, w: x @ w, "forgot_bias"),
    _m("Z2 from Z1", "Z2", ("Z1", "W2", "b2"), lambda z, w, b: z @ w + b, "pre_activation_for_activation",
       lambda net: net.activations[0] != "linear"),
    _m("db1 averaged", "db1", ("dZ1",), lambda d: d.mean(axis=0), "bias_gradient_averaged"),
    _m("dZ1 = dA1 * A1", "dZ1", ("dA1", "A1"), lambda d, a: d * a, "activation_for_derivative", _sigmoid_at(0)),
    _m("sigmoid' at Z1: Z1(1 - Z1)", "dZ1", ("dA1", "Z1"), lambda d, z: d * z * (1 - z), "derivative_at_z",
       _sigmoid_at(0)),
    # the three the catalogue missed (issue 11, item 8), and their kin from the tables
    _m("sigmoid' on A1: sigma(A1)(1 - sigma(A1))", "dZ1", ("dA1", "A1"), lambda d, a: d * sig(a) * (1 - sig(a)),
       "derivative_at_activation", _sigmoid_at(0)),
    _m("sigmoid' on Yhat: sigma(Yhat)(1 - sigma(Yhat))", "dZ2", ("dYhat", "Yhat"),
       lambda d, a: d * sig(a) * (1 - sig(a)), "derivative_at_activation", _sigmoid_at(1)),
    _m("tanh' for sigmoid: 1 - A1^2", "dZ1", ("dA1", "A1"), lambda d, a: d * (1 - a * a), "other_activation_derivative",
       _sigmoid_at(0)),
    _m("ReLU' for sigmoid: [Z1 > 0]", "dZ1", ("dA1", "Z1"), lambda d, z: d * (z > 0),  # all z > 0: f' left out
       {"other_activation_derivative", "forgot_activation_derivative"}, _sigmoid_at(0)),
    _m("sigmoid' for ReLU: A1(1 - A1)", "dZ1", ("dA1", "A1"), lambda d, a: d * a * (1 - a),
       "other_activation_derivative", _hidden("relu")),
    *_other_losses(),
]


def dsig(a: np.ndarray) -> np.ndarray:
    """The sigmoid's derivative from its output."""
    return a * (1 - a)


F2, F1 = "forgot_activation_derivative", "other_activation_derivative"
# The new bank: each template's own planted mistakes, written out from its layers or nodes (every d<name> of a
# graph is d out / d name; n = 3 samples where a template has them).
NEW_MISTAKES: dict[str, list[Mistake]] = {
    "mlp_2hidden": [
        _m("forgot f'(Z3)", "dZ3", ("dYhat",), lambda d: d, F2),
        _m("forgot tanh'(Z2)", "dZ2", ("dA2",), lambda d: d, F2),
        _m("forgot f'(Z1)", "dZ1", ("dA1",), lambda d: d, F2),
        _m("sigmoid' in the tanh layer", "dZ2", ("dA2", "A2"), lambda d, a: d * dsig(a), F1),
        _m("tanh' in the sigmoid layer", "dZ1", ("dA1", "A1"), lambda d, a: d * (1 - a * a), F1),
        _m("tanh' at Z2: 1 - Z2^2", "dZ2", ("dA2", "Z2"), lambda d, z: d * (1 - z * z), "derivative_at_z"),
        _m("sigmoid' on A1", "dZ1", ("dA1", "A1"), lambda d, a: d * dsig(sig(a)), "derivative_at_activation"),
        _m("dA2 = A2 * dZ3", "dA2", ("A2", "dZ3"), lambda a, d: a * d, "weight_gradient_for_error"),
        _m("dA1 through W2_new", "dA1", ("dZ2", "W2", "A1", "lr"), lambda d, w, a, lr: d @ (w - lr * a.T @ d).T,
           "updated_weights_in_backprop"),
        _m("Z2 from Z1", "Z2", ("Z1", "W2", "b2"), lambda z, w, b: z @ w + b, "pre_activation_for_activation"),
        _m("dW3 from Z2", "dW3", ("Z2", "dZ3"), lambda z, d: z.T @ d, "pre_activation_for_activation"),
        _m("Z3 without b3", "Z3", ("A2", "W3"), lambda a, w: a @ w, "forgot_bias"),
        _m("dYhat without 1/n", "dYhat", ("Yhat", "Y"), lambda yh, y: yh - y, {"missing_1_over_n"} | LOSS_KEYS),
        _m("db1 averaged", "db1", ("dZ1",), lambda d: d.mean(axis=0), "bias_gradient_averaged"),
        _m("W1 + lr dW1", "W1_new", ("W1", "dW1", "lr"), lambda w, g, lr: w + lr * g, "update_sign"),
        _m("W1 without lr", "W1_new", ("W1", "dW1"), lambda w, g: w - g, "update_without_lr"),
    ],
    "softmax_classifier": [
        _m("dZ2 = Yhat - Y (no 1/n)", "dZ2", ("Yhat", "Y"), lambda yh, y: yh - y, "missing_1_over_n"),
        _m("dZ2 = (Y - Yhat) / n", "dZ2", ("Yhat", "Y"), lambda yh, y: (y - yh) / 3, "error_sign"),
        _m("dZ2 = dYhat (softmax' forgotten)", "dZ2", ("Yhat", "Y"), lambda yh, y: -y / yh / 3, F2),
        _m("softmax' as its diagonal", "dZ2", ("Yhat", "Y"), lambda yh, y: -y / yh / 3 * dsig(yh),
           {"softmax_diagonal", F1}),
        _m("L without 1/n", "L", ("Yhat", "Y"), lambda yh, y: -(y * np.log(yh)).sum(), "missing_1_over_n"),
        _m("dW2 transposed", "dW2", ("A1", "dZ2"), lambda a, d: d.T @ a, "transposed_gradient"),
        _m("forgot tanh'(Z1)", "dZ1", ("dA1",), lambda d: d, F2),
        _m("sigmoid' in the tanh layer", "dZ1", ("dA1", "A1"), lambda d, a: d * dsig(a), F1),
        _m("dA1 through W2_new", "dA1", ("dZ2", "W2", "A1", "lr"), lambda d, w, a, lr: d @ (w - lr * a.T @ d).T,
           "updated_weights_in_backprop"),
        _m("Z1 without b1", "Z1", ("X", "W1"), lambda x, w: x @ w, "forgot_bias"),
        _m("W2 + lr dW2", "W2_new", ("W2", "dW2", "lr"), lambda w, g, lr: w + lr * g, "update_sign"),
    ],
    "l2_regression": [
        _m("dW2 without lambda W2", "dW2", ("A1", "dZ2"), lambda a, d: a.T @ d, "forgot_weight_decay"),
        _m("dW1 without lambda W1", "dW1", ("X", "dZ1"), lambda x, d: x.T @ d, "forgot_weight_decay"),
        _m("L without the decay", "L", ("Yhat", "Y"), lambda yh, y: ((yh - y) ** 2).mean(), "forgot_weight_decay"),
        _m("dYhat without 1/n", "dYhat", ("Yhat", "Y"), lambda yh, y: 2 * (yh - y), {"missing_1_over_n"} | LOSS_KEYS),
        _m("dYhat without the 2", "dYhat", ("Yhat", "Y"), lambda yh, y: (yh - y) / 3, {"lost_factor_2"} | LOSS_KEYS),
        _m("forgot tanh'(Z1)", "dZ1", ("dA1",), lambda d: d, F2),
        _m("sigmoid' in the tanh layer", "dZ1", ("dA1", "A1"), lambda d, a: d * dsig(a), F1),
        _m("dA1 = A1 * dZ2", "dA1", ("A1", "dZ2"), lambda a, d: a * d, "weight_gradient_for_error"),
        _m("Z1 without b1", "Z1", ("X", "W1"), lambda x, w: x @ w, "forgot_bias"),
        _m("W1 + lr dW1", "W1_new", ("W1", "dW1", "lr"), lambda w, g, lr: w + lr * g, "update_sign"),
        _m("W2 without lr", "W2_new", ("W2", "dW2"), lambda w, g: w - g, "update_without_lr"),
    ],
    "mazur_222": [
        _m("forgot f'(Z2)", "dZ2", ("dYhat",), lambda d: d, F2),
        _m("tanh' for sigmoid in Z1", "dZ1", ("dA1", "A1"), lambda d, a: d * (1 - a * a), F1),
        _m("dW1 transposed", "dW1", ("X", "dZ1"), lambda x, d: d.T @ x, "transposed_gradient"),
        _m("dW2 transposed", "dW2", ("A1", "dZ2"), lambda a, d: d.T @ a, "transposed_gradient"),
        _m("L without 1/2", "L", ("Yhat", "Y"), lambda yh, y: ((yh - y) ** 2).sum(), "dropped_half"),
        _m("W1 + lr dW1", "W1_new", ("W1", "dW1", "lr"), lambda w, g, lr: w + lr * g, "update_sign"),
    ],
    "circuit_basic": [
        _m("dq: only f's path", "dq", ("df", "z"), lambda d, z: d * z, "missed_fan_out_sum"),
        _m("dq: only the square's path", "dq", ("dxpysqr", "q"), lambda d, q: 2 * q * d, "missed_fan_out_sum"),
        _m("dx: only q's path", "dx", ("dq",), lambda d: d, "missed_fan_out_sum"),
        _m("dy: only sigy's path", "dy", ("dsigy", "sigy"), lambda d, s: d * dsig(s), "missed_fan_out_sum"),
        _m("dz = df * z", "dz", ("df", "z"), lambda d, z: d * z, "product_operand"),
        _m("dinvden = dg * invden", "dinvden", ("dg", "invden"), lambda d, i: d * i, "product_operand"),
        _m("dden = dinvden / den^2", "dden", ("dinvden", "den"), lambda d, den: d / den ** 2, "local_derivative_sign"),
        _m("dq: d(q^2)/dq = q", "dq", ("df", "z", "dxpysqr", "q"), lambda d, z, dx, q: d * z + dx * q, "lost_factor_2"),
        _m("dy: tanh' at sigy", "dy", ("dq", "dsigy", "sigy"), lambda dq, d, s: dq + d * (1 - s * s),
           "other_function_derivative"),
        _m("dy: sigmoid' forgotten", "dy", ("dq", "dsigy"), lambda dq, d: dq + d, F2),
        _m("num = x + y (y for sigmoid(y))", "num", ("x", "y"), lambda x, y: x + y, "pre_activation_for_activation"),
    ],
    "sigmoid_neuron_graph": [
        _m("dh = df / h^2", "dh", ("df", "h"), lambda d, h: d / h ** 2, "local_derivative_sign"),
        _m("dd = de", "dd", ("de",), lambda d: d, "local_derivative_sign"),
        _m("de = dg (exp' forgotten)", "de", ("dg",), lambda d: d, F2),
        _m("de = dg g (1 - g)", "de", ("dg", "g"), lambda d, g: d * g * (1 - g), "other_function_derivative"),
        _m("dw0 = da * w0", "dw0", ("da", "w0"), lambda d, w: d * w, "product_operand"),
        _m("dx1 = db * x1", "dx1", ("db", "x1"), lambda d, x: d * x, "product_operand"),
    ],
    "regression_graph_002": [
        _m("dyhat = yhat - y", "dyhat", ("yhat", "y"), lambda yh, y: yh - y, "lost_factor_2"),
        _m("df1 = dh1 * f1", "df1", ("dh1", "f1"), lambda d, f: d * f, "product_operand"),
        _m("dv1 = sum dh1 * v1", "dv1", ("dh1", "v1"), lambda d, v: np.sum(d * v), "product_operand"),
        _m("de1 = df1 (sigmoid' forgotten)", "de1", ("df1",), lambda d: d, F2),
        _m("de1 = df1 (1 - f1^2)", "de1", ("df1", "f1"), lambda d, f: d * (1 - f * f), "other_function_derivative"),
        _m("dw12 = sum dd1 * w12", "dw12", ("dd1", "w12"), lambda d, w: np.sum(d * w), "product_operand"),
        _m("h1 = e1 * v1", "h1", ("e1", "v1"), lambda e, v: e * v, "pre_activation_for_activation"),
        _m("dv1 = sum dh1 * e1", "dv1", ("dh1", "e1"), lambda d, e: np.sum(d * e), "pre_activation_for_activation"),
        _m("dw11 averaged over the samples", "dw11", ("dd1", "x1"), lambda d, x: np.mean(d * x), "bias_gradient_averaged"),
        _m("dv0 averaged over the samples", "dv0", ("dyhat",), lambda d: np.mean(d), "bias_gradient_averaged"),
    ],
}


def mistakes_for(name: str, net: Network | None) -> list[Mistake]:
    """The planted mistakes of a template: its own (new bank), or those of MISTAKES that apply to its network."""
    if name in NEW_MISTAKES:
        return NEW_MISTAKES[name]
    return [m for m in MISTAKES if net is not None and m.applies(net)]


def _items(spec: ProblemSpec, record: dict, values: dict) -> list:
    """The items of canonical values handed in as the student's notebook shows them (the problem's layout)."""
    show = spec.template.display
    return grade_problem(spec, record, {q: show.value(values[q], q).tolist() for q in spec.asked}, {}, {})


def measure(seeds: int, digits: int, templates: tuple[str, ...] = TEMPLATES) -> tuple[Counter, Counter, list[str], Counter]:
    """Counts of named / missed / invisible planted mistakes (per mistake label), the false diagnoses of honest
    students (as text) and the number of honest items graded."""
    planted, per_label, false, honest = Counter(), Counter(), [], Counter()
    for name in templates:
        t = bank.load(name)
        spec = ProblemSpec("p1", t, dict(t.asked))
        net = t.network
        for seed in range(seeds):
            record = sample(t, seed).to_json() | {"key": "p1"}
            students = {"exact": {q: np.asarray(record["answers"][q], dtype=float) for q in spec.asked},
                        f"rounded to {t.significant}": worked(spec, record, t.significant),
                        f"rounded to {t.significant - 1}": worked(spec, record, t.significant - 1),
                        f"cut off at {t.significant}": worked(spec, record, t.significant, chop=True),
                        f"cut off at {t.significant - 1}": worked(spec, record, t.significant - 1, chop=True)}
            for who, values in students.items():
                for item in _items(spec, record, values):
                    honest[who] += 1
                    if item.misconception:
                        false.append(f"{name} seed {seed} {who}: {item.quantity} named {item.misconception}")
            for mistake in mistakes_for(name, net):
                if mistake.step not in {s.name for s in t.steps}:
                    continue
                step = Step(mistake.step, mistake.inputs, mistake.fn, "", "backward")
                try:
                    values = worked(spec, record, max(digits, t.significant), {mistake.step: step})
                except ValueError:  # a wrong shape the later steps cannot take: the mistake in that answer alone
                    values = worked(spec, record, max(digits, t.significant))
                    values[mistake.step] = round_sig(evaluate(step, values), max(digits, t.significant))
                items = _items(spec, record, values)
                if all(i.status == "correct" for i in items):
                    planted["invisible"] += 1
                    continue
                named = any(i.misconception in mistake.keys for i in items)
                planted["named" if named else "missed"] += 1
                per_label[(mistake.label, "named" if named else "missed")] += 1
    return planted, per_label, false, honest


def main() -> int:
    """Run the measurement and print it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=40, help="variants per template (default 40)")
    parser.add_argument("--digits", type=int, default=4, help="digits the planted students keep (default 4)")
    parser.add_argument("--bank", choices=("old", "new"), default="old",
                        help="the five one-hidden-layer templates (default) or the new ones")
    args = parser.parse_args()
    planted, per_label, false, honest = measure(args.seeds, args.digits,
                                                TEMPLATES if args.bank == "old" else NEW_TEMPLATES)
    shown = planted["named"] + planted["missed"]
    print(f"planted mistakes that show: {shown} (and {planted['invisible']} that change no asked answer)")
    print(f"named: {planted['named']} = {planted['named'] / max(shown, 1):.1%}; missed: {planted['missed']}")
    for label in dict.fromkeys(label for label, _ in per_label):
        n, m = per_label[(label, "named")], per_label[(label, "missed")]
        print(f"  {label:<48} named {n:4d} of {n + m:4d}")
    print(f"honest items graded: {sum(honest.values())} ({', '.join(f'{k}: {v}' for k, v in honest.items())})")
    print(f"false diagnoses on honest work: {len(false)}")
    for line in false[:20]:
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
