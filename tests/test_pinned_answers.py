"""Today's answers stay today's: `solve --json` (and the tolerances the sampler stores) for every bundled
template of the first bank x 20 seeds, pinned as SHA-256 digests taken before the engine was generalised.

Regenerate (only for a change that is meant to move the numbers, saying why in the commit):
    python -m tests.test_pinned_answers > tests/data/pinned_answers.json
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from hwgen import bank
from hwgen.sampling import sample

from .conftest import run_cli

PINNED = Path(__file__).parent / "data" / "pinned_answers.json"
SEEDS = range(20)
FULL_SEED = 0  # stored in full, so a failure shows which number moved


def _outputs(name: str, seed: int) -> tuple[dict, dict]:
    """The canonical JSON of `hwgen solve NAME --seed SEED --json` and the manifest record of the variant."""
    variant = sample(bank.load(name), seed)
    return variant.to_json(), variant.record("p1")


def _digest(doc: dict) -> str:
    """SHA-256 of the JSON text as `hwgen solve --json` prints it."""
    return hashlib.sha256(json.dumps(doc).encode()).hexdigest()


def snapshot(names: list[str]) -> dict:
    """The pinned form: per template and seed the digests of the solve JSON and of the record; seed 0 in full."""
    out: dict = {}
    for name in names:
        entry: dict = {"solve": {}, "record": {}}
        for seed in SEEDS:
            doc, record = _outputs(name, seed)
            entry["solve"][str(seed)], entry["record"][str(seed)] = _digest(doc), _digest(record)
            if seed == FULL_SEED:
                entry["full"] = doc
        out[name] = entry
    return out


OLD_BANK = ["batch_vectorized", "bce_net", "regression_3hidden", "relu_sigmoid", "xor_net"]


@pytest.fixture(scope="module")
def pinned() -> dict:
    """The digests taken from main before the redesign."""
    return json.loads(PINNED.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", OLD_BANK)
def test_answers_and_tolerances_are_todays(pinned, name):
    pin = pinned[name]
    doc, _ = _outputs(name, FULL_SEED)
    assert doc == pin["full"]
    now = snapshot([name])[name]
    moved = [s for s in map(str, SEEDS) if now["solve"][s] != pin["solve"][s]]
    assert not moved, f"{name}: solve --json changed for seeds {moved}"
    moved = [s for s in map(str, SEEDS) if now["record"][s] != pin["record"][s]]
    assert not moved, f"{name}: stored tolerances changed for seeds {moved}"


def test_the_cli_prints_the_pinned_text(pinned):
    out = run_cli("solve", "relu_sigmoid", "--seed", "7", "--json", check=True).stdout
    assert hashlib.sha256(out.rstrip("\n").encode()).hexdigest() == pinned["relu_sigmoid"]["solve"]["7"]


if __name__ == "__main__":
    print(json.dumps(snapshot(OLD_BANK), indent=1, sort_keys=True))
