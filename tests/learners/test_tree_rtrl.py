"""tree-rtrl's lazy flushes, by replay and by tree range products, equal sparse-rtrl."""
import pytest

import rtrl_moe as rm

from .helpers import assert_exact, moe, sequence


@pytest.mark.parametrize("flush", ["tree", "replay", "auto"])
@pytest.mark.parametrize("n", [1, 2, 5, 16])
def test_tree_rtrl_flush_paths_are_exact(flush, n):
    # Buffer smaller than the idle gaps forces flushes at the buffer edge and wrap-around.
    model = moe(n_experts=8, topk=1, n_slots=4)
    x, y = sequence(2, 70, 5)
    ref = rm.make_learner("bptt", model).gradient(x, y)
    L = rm.make_learner("tree-rtrl", model, n=n, flush=flush)
    assert_exact(L.gradient(x, y), ref)
    if flush == "tree" and n > 1:
        assert L.tree.products > 0


def test_tree_rtrl_counts_less_work_than_sparse_when_experts_idle():
    model = moe(n_experts=8, topk=1, d_ff=40)
    x, y = sequence(1, 60, 5)
    sparse = rm.make_learner("sparse-rtrl", model)
    tree = rm.make_learner("tree-rtrl", model, n=16, flush="replay")
    sparse.gradient(x, y)
    tree.gradient(x, y)
    # Replay does the same row updates as sparse-rtrl for an expert's idle steps, but never for
    # an expert that was never active, and computes no J_theta for idle experts.
    assert tree.counters["sensitivity_flops"] <= sparse.counters["sensitivity_flops"]


def test_bad_tree_arguments():
    with pytest.raises(ValueError):
        rm.make_learner("tree-rtrl", moe(), n=0)
    with pytest.raises(ValueError):
        rm.make_learner("tree-rtrl", moe(), flush="sometimes")
