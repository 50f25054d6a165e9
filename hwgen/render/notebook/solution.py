"""The instructor's solution code: each Step written as the NumPy line a student would type.

The formulas are those of hwgen/engine.py and hwgen/tables.py, spelled in NumPy instead of LaTeX
(one entry per step, activation and loss, as tables.py has one per LaTeX formula); the tests
evaluate every spelling against the engine's trace, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Callable

from ...engine import PARAMS, Network, Step
from ...problem import answer_variable

# Activation name -> a = f(z), in terms of {z}.
ACTIVATION_CODE: dict[str, str] = {
    "sigmoid": "1 / (1 + np.exp(-{z}))",
    "tanh": "np.tanh({z})",
    "relu": "np.maximum({z}, 0)",
    "linear": "{z}",
}

# Activation name -> da/dz, in terms of {z} or {a} (as tables.Activation.grad_of says); linear has none.
ACTIVATION_GRAD_CODE: dict[str, str] = {
    "sigmoid": "{a} * (1 - {a})",
    "tanh": "(1 - {a} ** 2)",
    "relu": "({z} > 0)",
}

# Loss name -> (L, dL/dYhat), in terms of {Yhat} and {Y}; n is len({Y}).
LOSS_CODE: dict[str, tuple[str, str]] = {
    "sse": ("np.sum(({Yhat} - {Y}) ** 2)", "2 * ({Yhat} - {Y})"),
    "sse_half": ("np.sum(({Yhat} - {Y}) ** 2) / 2", "{Yhat} - {Y}"),
    "mse": ("np.sum(({Yhat} - {Y}) ** 2) / len({Y})", "2 * ({Yhat} - {Y}) / len({Y})"),
    "mse_half": ("np.sum(({Yhat} - {Y}) ** 2) / (2 * len({Y}))", "({Yhat} - {Y}) / len({Y})"),
    "bce": ("-np.sum({Y} * np.log({Yhat}) + (1 - {Y}) * np.log(1 - {Yhat})) / len({Y})",
            "({Yhat} - {Y}) / ({Yhat} * (1 - {Yhat})) / len({Y})"),
}

# Steps whose spelling does not depend on the network's activations or loss, in terms of their inputs.
STEP_CODE: dict[str, str] = {
    "Z1": "{X} @ {W1} + {b1}",
    "Z2": "{A1} @ {W2} + {b2}",
    "dW2": "{A1}.T @ {dZ2}",
    "db2": "{dZ2}.sum(axis=0)",
    "dA1": "{dZ2} @ {W2}.T",
    "dW1": "{X}.T @ {dZ1}",
    "db1": "{dZ1}.sum(axis=0)",
    **{f"{p}_new": f"{{{p}}} - {{lr}} * {{d{p}}}" for p in PARAMS},
}


def _activation_grad(step: Step, act: str) -> str:
    """dZ = upstream * act'(.): the upstream is the step's first input, the activation's argument its second."""
    if len(step.inputs) == 1:
        return f"{{{step.inputs[0]}}}"
    grad = ACTIVATION_GRAD_CODE[act].format(z=f"{{{step.inputs[1]}}}", a=f"{{{step.inputs[1]}}}")
    return f"{{{step.inputs[0]}}} * {grad}"


def step_code(steps: list[Step], net: Network) -> dict[str, str]:
    """Step name -> its right-hand side in NumPy, with `{input}` slots, for this network."""
    hidden, output = net.activations
    loss, loss_grad = LOSS_CODE[net.loss]
    by_network: dict[str, Callable[[Step], str]] = {
        "A1": lambda s: ACTIVATION_CODE[hidden].format(z="{Z1}"),
        "Yhat": lambda s: ACTIVATION_CODE[output].format(z="{Z2}"),
        "L": lambda s: loss,
        "dYhat": lambda s: loss_grad,
        "dZ2": lambda s: _activation_grad(s, output),
        "dZ1": lambda s: _activation_grad(s, hidden),
    }
    return {s.name: by_network[s.name](s) if s.name in by_network else STEP_CODE[s.name] for s in steps}


def solution_lines(problem: str, steps: list[Step], net: Network, quantity: str, known: set[str]) -> list[str]:
    """Lines computing `quantity` from the given arrays and the names in `known` (updated in place).

    Every step the quantity needs and no earlier cell computed is written out, in working order:
    `p1_Z1 = p1_X @ p1_W1 + p1_b1`, then `p1_A1 = ...`, ... and last `p1_<quantity> = ...`.
    """
    code = step_code(steps, net)
    by_name = {s.name: s for s in steps}
    needed = _closure(by_name, quantity, known)
    lines = []
    for step in steps:
        if step.name in needed:
            names = {i: answer_variable(problem, i) for i in step.inputs}
            lines.append(f"{answer_variable(problem, step.name)} = {code[step.name].format(**names)}")
            known.add(step.name)
    return lines


def _closure(by_name: dict[str, Step], quantity: str, known: set[str]) -> set[str]:
    """The steps needed for `quantity` that are not known yet (given arrays and lr are always known)."""
    needed, todo = set(), [quantity]
    while todo:
        name = todo.pop()
        if name in known or name in needed or name not in by_name:
            continue
        needed.add(name)
        todo.extend(by_name[name].inputs)
    return needed
