"""learner.phase_ns: the per-phase breakdown of RTRL steps, and the update's FLOP floor."""
import time

import pytest
import torch

import rtrl_moe as rm
from rtrl_moe.learners.phases import floor_ns, floor_spec, matmul_ns

from .helpers import moe, sequence


@pytest.mark.parametrize("name", ["rtrl", "sparse-rtrl", "tree-rtrl"])
def test_phases_cover_the_steps_and_reset(name):
    model = moe()
    x, y = sequence(2, 12, 5)
    L = rm.make_learner(name, model)
    t0 = time.perf_counter_ns()
    L.gradient(x, y)
    wall = time.perf_counter_ns() - t0
    ph = L.phase_ns
    assert set(ph) == {"jacobian", "update", "readout", "other", "steps"}
    assert ph["steps"] == 12
    assert all(ph[k] > 0 for k in ("jacobian", "update", "readout"))
    # Consecutive clock reads: the phases partition the timed part of gradient(), which is
    # nearly all of it (only the per-step input checks and the iteration lie outside).
    total = sum(ph[k] for k in L.PHASES)
    assert 0.5 * wall < total <= wall
    L.gradient(x[:, :5], y[:, :5])               # gradient() starts a fresh account
    assert L.phase_ns["steps"] == 5
    L.reset_phases()
    assert all(v == 0 for v in L.phase_ns.values())


def test_floor_uses_the_counted_flops_and_the_update_shape():
    model = moe()
    x, y = sequence(3, 10, 5)
    L = rm.make_learner("sparse-rtrl", model)
    with pytest.raises(ValueError):
        floor_spec(L, 3)
    L.gradient(x, y)
    spec = floor_spec(L, 3)
    assert spec["shape"] == rm.flops.matmul_shape("sparse-rtrl", model.cfg, 3)
    assert spec["flops_per_step"] == L.counters["sensitivity_flops"] / 10
    assert spec["flops_per_step"] == rm.flops.sensitivity_update_flops("sparse-rtrl", model.cfg, 3)
    # A floor is the update's FLOPs at the plain matmul's rate: the matmul's own FLOPs take
    # exactly its time.
    B, m, k, n = spec["shape"]
    assert floor_ns(dict(spec, flops_per_step=2 * B * m * k * n), 1234.0) == pytest.approx(1234.0)
    assert matmul_ns((1, 8, 8, 8), torch.float64, min_ns=10_000) > 0
