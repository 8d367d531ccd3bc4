"""The rebuild of upstream's block RTRL (rtrl.py routed as train.py): exact with every index,
the documents' inexact formula with train.py's routing; and the speed piece on a tiny config."""
import math
import random

import pytest
import torch

from rtrl_moe.learners import make_learner
from rtrl_moe.protocols import PIECES
from rtrl_moe.protocols.tasks import one_hot, random_tokens
from rtrl_moe.protocols.upstream_rtrl import (
    UpstreamBlockRTRL,
    tracked_params,
    train_py_sequence,
    upstream_routing,
)
from rtrl_moe.upstream import UpstreamConfig, UpstreamMoE

TINY = dict(d_in=3, d_out=3, d_model=8, n_slots=4, n_experts=4, topk=2, topk_read=2,
            topk_write=2)


def _setup(seed=0, T=6, **over):
    torch.manual_seed(seed)
    model = UpstreamMoE(UpstreamConfig(**{**TINY, **over}, n_heads=2)).double()
    rng = random.Random(seed)
    x = one_hot(random_tokens(T, TINY["d_in"], rng), TINY["d_in"]).double()
    y = torch.tensor([rng.randrange(TINY["d_out"])])
    yy = torch.full((1, T), -100, dtype=torch.long)
    yy[0, -1] = y
    return model, x, y, yy


def _rel(a: dict, b: dict) -> float:
    names = sorted(set(a) | set(b))
    def flat(g):
        return torch.cat([g[n].reshape(-1) if n in g else torch.zeros(0) for n in names])
    ref = {n: b.get(n, torch.zeros_like(a[n])) if n in a else b[n] for n in names}
    got = {n: a.get(n, torch.zeros_like(ref[n])) for n in names}
    fa, fb = flat(got), flat(ref)
    return float((fa - fb).norm() / fb.norm())


def _rebuild(model, x, y, routing, tracked="train.py"):
    learner = UpstreamBlockRTRL(tracked_params(model, tracked), 1, model.H)
    return train_py_sequence(model, learner, x, y, routing)


@pytest.mark.parametrize("seed", [0, 1])
def test_every_index_is_exact_rtrl(seed):
    model, x, y, yy = _setup(seed)
    g_bptt = make_learner("bptt", model).gradient(x, yy)
    g = _rebuild(model, x, y, "all")
    assert _rel(g, g_bptt) < 1e-10
    assert _rel(_rebuild(model, x, y, "all", tracked="state"), g_bptt) < 1e-10


def test_train_py_routing_is_exact_only_where_it_restricts_nothing():
    # The last call (the one with the loss) goes through autograd whole, paired with P_{T-1}:
    # exact. Every earlier step uses P[W] = J[W, R] P[R] + J_theta[W] with unwritten rows kept,
    # which this cell does not satisfy (it scales them by 0.6; written slots read every slot).
    model, x, y, yy = _setup(0, T=1)
    assert _rel(_rebuild(model, x, y, "train.py"), make_learner("bptt", model).gradient(x, yy)) < 1e-10
    model, x, y, yy = _setup(0, T=8, topk_read=4, topk_write=4)     # every slot read and written
    assert _rel(_rebuild(model, x, y, "train.py"), make_learner("bptt", model).gradient(x, yy)) < 1e-10
    model, x, y, yy = _setup(0, T=8)
    g = _rebuild(model, x, y, "train.py")
    g_bptt = make_learner("bptt", model).gradient(x, yy)
    # not BPTT, and not our sparse-rtrl-readonly either (that one also restricts the last step)
    g_doc = make_learner("sparse-rtrl-readonly", model, jacobian="torch.func").gradient(x, yy)
    assert _rel(g, g_bptt) > 1e-3 and _rel(g, g_doc) > 1e-3


def test_routing_lists_the_written_and_read_slots_and_the_picked_experts():
    model, x, _, _ = _setup(0)
    h = model.init_state(1)
    _, _, route = model(x[:, :1], h)
    active, write, read = upstream_routing(model, route)
    d = TINY["d_model"]
    assert write == [r for s in sorted(route.write[0].tolist()) for r in range(s * d, s * d + d)]
    assert read == [r for s in sorted(route.read[0].tolist()) for r in range(s * d, s * d + d)]
    experts = {n.split(".")[-1] for n in active if n.startswith("state_experts.")}
    assert experts == {str(e) for e in route.experts[0].tolist()}
    assert not any(n.startswith("out_") for n in active)
    # train.py's filter ("not output_") keeps the out_* block; "state" does not
    assert any(n.startswith("out_") for n in tracked_params(model))
    assert not any(n.startswith("out_") for n in tracked_params(model, "state"))
    with pytest.raises(ValueError):
        upstream_routing(model, route, "some")


def test_the_piece_runs_on_a_tiny_config_through_the_runner(tmp_path):
    from rtrl_moe.protocols.runner import run
    from rtrl_moe.records import load_results
    out = tmp_path / "p.jsonl"
    (rec,) = run(["upstream_rtrl_speed"], [0], out, "upstream", log=lambda *_: None,
                 overrides=dict(seq_len=4, blocks=2, warmup=1, model_cfg=TINY))
    assert rec["status"] == "ok", rec["message"]
    m = rec["metrics"]
    assert set(m["ms_per_token_median"]) == {"upstream-train-py", "upstream-state-only",
                                             "sparse-rtrl"}
    assert all(len(v) == 2 for v in m["ns_per_token"].values())
    fastest = min(m["ms_per_token_upstream"], m["ms_per_token_upstream_state_only"])
    assert math.isclose(m["ratio"], fastest / m["ms_per_token_sparse_rtrl"], rel_tol=1e-9)
    assert m["threads"] == 1 and len(m["load_avg_1m_samples"]) == 4
    assert "floor_fraction" not in m          # the floor is the documents' config's only
    assert list(load_results(out)["config.protocol"]) == ["upstream_rtrl_speed"]


def test_the_piece_records_depend_on_the_learner_files():
    files = PIECES["upstream_rtrl_speed"].library_files("upstream")
    for f in ("learners/base.py", "learners/rtrl.py", "learners/sparse_rtrl.py",
              "learners/static_step.py", "learners/moe_jacobian.py", "upstream.py", "moe.py",
              "protocols/upstream_rtrl.py", "flops.py", "bench/timing.py"):
        assert f in files
