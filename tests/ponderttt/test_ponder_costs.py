"""Cost accounting: nominal units, the 1 + 2k rule, analytic FLOPs against torch's counter."""
import math

import pytest

# the optional GPT-2 dependency (extra "ponder"): without it, skip this module
pytest.importorskip("transformers")

import torch  # noqa: E402

from ponderttt import (  # noqa: E402
    SCALES,
    Action,
    build_model,
    chunk_flops,
    cost_table,
    make_tokens,
    profile_chunk,
    rule_cost,
    run_stream,
)


def test_nominal_units_and_rule():
    assert [a.nominal_cost for a in Action] == [1, 3, 5, 12]
    assert [a.steps for a in Action] == [0, 1, 2, 4]
    assert [rule_cost(a.steps) for a in Action] == [1, 3, 5, 9]
    rows = {r["action"]: r for r in cost_table()}
    assert rows["UPDATE_4"]["nominal"] == 12 and rows["UPDATE_4"]["rule_1_plus_2k"] == 9


def test_document_totals_for_20_chunks():
    # "cost=20.0 / 60.0 / 100.0 / 240.0" for 20 chunks: the stream's own sum
    model = build_model("tiny")
    tokens = make_tokens(20 * 16)
    got = [run_stream(model, tokens, a, chunk_size=16, seq_len=0).total_cost for a in Action]
    assert got == [20.0, 60.0, 100.0, 240.0]


@pytest.mark.parametrize("action", list(Action))
def test_analytic_flops_equal_torch_flop_counter(action):
    model = build_model("tiny")
    ids = make_tokens(48, seed=2).unsqueeze(0)
    assert profile_chunk(model, ids, action) == chunk_flops(model.scale, 48, action).total


def test_flops_grow_by_the_inner_step_only():
    sc, n = SCALES["125m"], 512
    f = {a: chunk_flops(sc, n, a) for a in Action}
    d, hd = sc.n_embd, sc.n_embd // sc.n_head
    assert f[Action.UPDATE_1].total - f[Action.SKIP].total == 4 * n * d * d + 4 * n * d * hd
    assert f[Action.UPDATE_4].total - f[Action.UPDATE_2].total == 2 * 4 * n * d * hd
    # the 125m backbone by the usual 2 * params * tokens rule, within the attention term
    body = 12 * 12 * d * d
    assert f[Action.SKIP].backbone == 12 * 4 * n * n * d + 2 * body * n


def test_param_counts_of_scales():
    assert SCALES["125m"].n_params() == 124_439_808  # GPT-2 small
    assert SCALES["350m"].n_params() == 354_823_168  # GPT-2 medium
    assert 0.95e9 < SCALES["1b"].n_params() < 1.05e9
    m = build_model("tiny")
    assert sum(p.numel() for p in m.lm.parameters()) == SCALES["tiny"].n_params()
    assert all(not p.requires_grad for p in m.lm.parameters())
    assert all(p.requires_grad for p in m.trainable_parameters())


def test_run_reports_time_and_flops_per_chunk():
    model = build_model("tiny")
    res = run_stream(model, make_tokens(3 * 32), "UPDATE_2", chunk_size=32)
    for c in res.chunks:
        assert c.seconds > 0 and c.update_seconds > 0
        assert c.seconds >= c.backbone_seconds + c.update_seconds + c.head_seconds - 1e-9
        assert c.flops_analytic == chunk_flops(model.scale, 32, "UPDATE_2").total
    assert math.isfinite(res.tokens_per_s) and res.tokens_per_s > 0
    skip = run_stream(model, make_tokens(3 * 32), "SKIP", chunk_size=32)
    assert all(c.update_seconds < 1e-3 for c in skip.chunks)
    assert torch.get_num_threads() == 1
