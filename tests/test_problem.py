"""Problems of an assignment: overrides, points and the manifest round trip."""

from __future__ import annotations

import pytest

from hwgen.errors import HwgenError
from hwgen.problem import ProblemSpec, answer_variable, apply_overrides, scale_points
from hwgen.sampling import sample


def test_overrides_change_asked_lr_and_rounding(templates):
    t = apply_overrides(templates["xor_net"], {"asked": ["dW1", "L"], "lr": 0.1, "significant": 3})
    assert list(t.asked) == ["L", "dW1"] and t.network.lr == 0.1 and t.significant == 3
    assert sample(t, 1).lr == 0.1
    with pytest.raises(HwgenError, match="unknown quantity 'dW9'"):
        apply_overrides(templates["xor_net"], {"asked": ["dW9"]})
    with pytest.raises(HwgenError, match="unknown override"):
        apply_overrides(templates["xor_net"], {"momentum": 0.9})


def test_points_scale_to_the_problem_total(templates):
    pts = scale_points(templates["xor_net"].asked, 10)
    assert sum(pts.values()) == pytest.approx(10)
    assert pts["dW1"] == pytest.approx(2 * pts["Z1"])


def test_manifest_round_trip_needs_no_bank_file(templates):
    t = apply_overrides(templates["bce_net"], {"lr": 0.2})
    spec = ProblemSpec("p2", t, scale_points(t.asked, 10), {"lr": 0.2})
    back = ProblemSpec.from_manifest(spec.to_manifest())
    assert back.key == "p2" and back.template.name == "bce_net" and back.template.network.lr == 0.2
    assert back.asked == spec.asked
    assert sample(back.template, 9).to_json() == sample(t, 9).to_json()
    assert answer_variable("p2", "dW1") == back.variable("dW1") == "p2_dW1"


def test_scaled_points_add_up_exactly_to_the_total(templates):
    for total in (7, 10, 20, 33.5):
        for t in templates.values():
            assert sum(scale_points(t.asked, total).values()) == pytest.approx(total, abs=1e-12)
