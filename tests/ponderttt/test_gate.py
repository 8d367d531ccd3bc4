"""The inner-loss gate: its online threshold reaches the target update rate."""
import numpy as np
import pytest

# ponderttt imports transformers (extra "ponder"): without it, skip this module
pytest.importorskip("transformers")

from ponderttt.actions import Action  # noqa: E402
from ponderttt.gate import InnerLossGate  # noqa: E402


@pytest.mark.parametrize("rate", [0.1, 0.25, 0.5, 0.8])
@pytest.mark.parametrize("dist", ["lognormal", "shifted"])
def test_gate_reaches_target_rate(rate, dist):
    rng = np.random.default_rng(1)
    n = 4000
    if dist == "lognormal":
        xs = rng.lognormal(3.0, 0.4, n)
    else:  # a level shift halfway: the threshold must follow it
        xs = np.concatenate([rng.normal(100, 5, n // 2), rng.normal(60, 2, n // 2)])
    gate = InnerLossGate(rate)
    acts = gate.run(xs)
    u = np.array([a is Action.UPDATE_1 for a in acts], dtype=float)
    assert abs(u[-1000:].mean() - rate) < 0.04
    assert abs(gate.rate_ema - rate) < 0.2


def test_gate_updates_the_high_losses():
    rng = np.random.default_rng(0)
    xs = rng.normal(10, 1, 3000)
    gate = InnerLossGate(0.3)
    acts = gate.run(xs)
    up = np.array([a is not Action.SKIP for a in acts])
    assert xs[-1000:][up[-1000:]].min() > xs[-1000:][~up[-1000:]].mean()


def test_gate_for_budget_and_bounds():
    assert InnerLossGate.for_budget(2.0).target_rate == pytest.approx(0.5)   # 1 + 2r
    assert InnerLossGate.for_budget(1.0).target_rate == 0.0
    g = InnerLossGate.for_budget(3.0, "UPDATE_4")
    assert g.update_action is Action.UPDATE_4 and g.target_rate == pytest.approx(2 / 11)
    with pytest.raises(ValueError):
        InnerLossGate(1.5)
