"""Outcome tables and oracles: the table is the stream's own result; the DP is brute force's."""
import numpy as np
import pytest

pytest.importorskip("transformers")

from ponderttt import build_model, make_tokens, run_stream  # noqa: E402
from ponderttt.oracle import (  # noqa: E402
    ACTIONS,
    COSTS,
    OutcomeTable,
    brute_force_oracle,
    budget_oracle,
    hindsight_oracle,
    oracle_at_cost,
    outcome_table,
    recovery,
)


@pytest.mark.parametrize("seed", range(6))
def test_budget_dp_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    T = 5
    L = rng.normal(10.0, 0.05, size=(T, 4))
    for budget in (T, T + 2, 2 * T, 3 * T + 1, 5 * T, 12 * T):
        dp, bf = budget_oracle(L, budget), brute_force_oracle(L, budget)
        v_dp, v_bf = L[np.arange(T), dp].sum(), L[np.arange(T), bf].sum()
        assert v_dp == pytest.approx(v_bf, abs=1e-12), (budget, dp, bf)
        assert COSTS[dp].sum() <= budget


def test_budget_dp_respects_budget_and_unconstrained_is_hindsight():
    rng = np.random.default_rng(0)
    L = rng.normal(size=(30, 4))
    assert (budget_oracle(L, 12 * 30) == hindsight_oracle(L)).all()
    assert (budget_oracle(L, 30) == 0).all()            # only all-SKIP fits
    with pytest.raises(ValueError, match="below the cheapest"):
        budget_oracle(L, 29)
    for b in (40, 55, 90, 200):
        assert COSTS[budget_oracle(L, b)].sum() <= b


def test_recovery():
    assert recovery(11.0, 10.9, 10.8) == pytest.approx(0.5)
    assert recovery(11.0, 11.0, 11.0) is None          # the oracle does not beat SKIP


@pytest.fixture(scope="module")
def model():
    return build_model("tiny", seed=0)


def test_table_equals_stream_with_one_chunk_per_sequence(model):
    tok = make_tokens(6 * 32, seed=3)
    tab = outcome_table(model, tok, 32)
    assert tab.losses.shape == (6, 4) and tab.n == 6
    for j, a in enumerate(ACTIONS):
        res = run_stream(model, tok, a, chunk_size=32, seq_len=32)
        assert np.array_equal(np.array(res.losses), tab.losses[:, j]), a
        if a.steps:  # inner loss before the update is the table's gate feature
            assert np.allclose([c.inner_loss_before for c in res.chunks], tab.inner_before)
    # a mixed sequence selects exactly what the stream gives for the same actions
    acts = [0, 3, 1, 2, 0, 1]
    res = run_stream(model, tok, [ACTIONS[i] for i in acts], chunk_size=32, seq_len=32)
    loss, cost = tab.select(acts)
    assert loss == pytest.approx(res.average_loss, abs=1e-12)
    assert cost == res.total_cost / 6
    # round trip, and a broken table is refused
    again = OutcomeTable.from_dict(tab.to_dict())
    assert np.array_equal(again.losses, tab.losses)
    d = tab.to_dict()
    d["costs"] = [1, 3, 5, 9]
    with pytest.raises(ValueError):
        OutcomeTable.from_dict(d)


def test_oracle_at_cost_uses_the_budget():
    L = np.array([[10.0, 9.0, 9.5, 9.9], [10.0, 9.8, 9.7, 9.0], [10.0, 10.1, 10.2, 10.3]])
    tab = OutcomeTable(L, np.zeros(3), 32)
    loss, cost, acts = oracle_at_cost(tab, 1.0)
    assert list(acts) == [0, 0, 0] and cost == 1.0
    loss, cost, acts = oracle_at_cost(tab, 5.0 / 3)     # 5 units: one UPDATE_1
    assert list(acts) == [1, 0, 0] and loss == pytest.approx((9.0 + 10 + 10) / 3)
    loss, cost, acts = oracle_at_cost(tab, 15.0 / 3)    # 15 units: UPDATE_4 does not fit
    assert list(acts) == [1, 2, 0] and cost == 3.0
    loss, cost, acts = oracle_at_cost(tab, 16.0 / 3)    # 16: UPDATE_1 + UPDATE_4 + SKIP
    assert list(acts) == [1, 3, 0] and cost == pytest.approx(16 / 3)
