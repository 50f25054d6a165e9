"""bench/misconceptions.py on a few variants: planted mistakes (written there in plain NumPy) are named at the
issue's rate, and honest work (exact, rounded or cut off, to the digits asked or one fewer) is never told it made
one."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "misconceptions.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_misconceptions", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_planted_mistakes_are_named_and_honest_work_is_not():
    bench = _bench()
    planted, per_label, false, honest = bench.measure(seeds=3, digits=4)
    shown = planted["named"] + planted["missed"]
    assert shown > 250 and planted["named"] / shown >= 0.9, (planted, per_label)
    assert false == [] and sum(honest.values()) > 1000
    for label in ("sigmoid' on A1: sigma(A1)(1 - sigma(A1))", "dYhat of mse_half", "dW1 with 1/n (sum loss)"):
        assert per_label[(label, "named")] > 0 and per_label[(label, "missed")] == 0, label  # the three


def test_new_bank_mistakes_are_named_and_honest_work_is_not():
    """The deeper, softmax, weight-decay, textbook and graph templates, with their own planted mistakes (fan-out sums,
    product operands, gate derivatives and signs for the graphs): named at 85% or more, honest work never."""
    bench = _bench()
    planted, per_label, false, honest = bench.measure(seeds=3, digits=4, templates=bench.NEW_TEMPLATES)
    shown = planted["named"] + planted["missed"]
    assert shown > 150 and planted["named"] / shown >= 0.85, (planted, per_label)
    assert false == [] and sum(honest.values()) > 1000
    for label in ("dq: only f's path", "dz = df * z", "dh = df / h^2", "de1 = df1 (1 - f1^2)", "forgot tanh'(Z2)",
                  "dZ2 = Yhat - Y (no 1/n)", "dW2 without lambda W2"):
        assert per_label[(label, "named")] > 0, label
