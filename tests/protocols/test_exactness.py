"""rtrl_moe.protocols.exactness: the documents' RTRL against BPTT on upstream's cell."""
import random

import torch

from rtrl_moe.protocols import exactness as ex

TINY = dict(d_model=8, n_heads=2, n_slots=4, n_experts=3, topk=2, topk_read=2, topk_write=2,
            d_in=4, d_out=3)


def _by_arm(points):
    out = {}
    for p in points:
        out.setdefault(p["arm"], []).append(p)
    return out


def test_dense_rtrl_is_exact_and_the_documents_formula_is_not():
    r = ex.gradient_agreement(0, lengths=(1, 5), dtype="float64", model_cfg=TINY)
    arms = _by_arm(r["points"])
    assert {p["T"] for p in arms["rtrl"]} == {1, 5}
    assert max(p["rel_err"] for p in arms["rtrl"]) <= 1e-10
    assert min(p["cosine"] for p in arms["rtrl"]) > 1 - 1e-12
    # the formula P[W] = J[W, R] P[R] + J_theta[W] on a cell that scales unwritten slots by 0.6
    assert max(p["rel_err"] for p in arms["sparse-rtrl-readonly"]) > 1e-6
    # the restated documents' step: with the previous P in the last product it is BPTT ...
    assert max(p["rel_err"] for p in arms["blockrtrl-full-fixed"]) <= 1e-10
    # ... and as the documents assemble it, it is not, even at one step (P_0 = 0 there, and
    # the documents add dL/dh_0 . dh_1/dtheta)
    one = [p for p in arms["blockrtrl-full"] if p["T"] == 1]
    assert one[0]["rel_err"] > 1e-3


def test_float32_is_reported_beside():
    r = ex.gradient_agreement(1, lengths=(3,), learners=("rtrl",), documents=(),
                              dtype="float32", model_cfg=TINY)
    (p,) = r["points"]
    assert p["dtype"] == "float32" and 0 <= p["rel_err"] < 1e-3


def test_compare_measures_a_wrong_gradient():
    ref = {"a": torch.tensor([1.0, 2.0], dtype=torch.float64),
           "b": torch.tensor([3.0], dtype=torch.float64)}
    same = ex.compare(dict(ref), ref, ["a", "b"])
    assert same["rel_err"] == 0 and abs(same["cosine"] - 1) < 1e-15
    flipped = ex.compare({k: -v for k, v in ref.items()}, ref, ["a", "b"])
    assert abs(flipped["rel_err"] - 2) < 1e-12 and abs(flipped["cosine"] + 1) < 1e-12
    one_off = ex.compare({"a": ref["a"], "b": ref["b"] * 2}, ref, ["a", "b"])
    assert one_off["worst_param"] == "b" and abs(one_off["worst_param_rel_err"] - 1) < 1e-12
    missing = ex.compare({"a": ref["a"]}, ref, ["a", "b"])      # a missing tensor counts as zero
    assert missing["worst_param"] == "b" and missing["worst_param_rel_err"] == 1


def test_inputs_are_seeded_and_carry_one_target():
    a = ex.random_sequence(6, 8, 4, random.Random("0-6"), torch.float64)
    b = ex.random_sequence(6, 8, 4, random.Random("0-6"), torch.float64)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert a[0].shape == (1, 6, 8) and (a[0].sum(-1) == 1).all()
    assert (a[1][0, :-1] == -100).all() and 0 <= int(a[1][0, -1]) < 4
    x, y, n, m = ex.anbn_sequence(random.Random(3), torch.float32)
    assert x.shape == (1, n + m, 2) and int(y[0, -1]) == int(n == m)


def test_the_piece_is_registered_with_the_files_it_runs():
    from rtrl_moe.protocols.registry import piece
    p = piece("upstream_exactness")
    assert p.fn is ex.upstream_exactness and p.script == "debug_gradients.py"
    files = p.library_files("upstream")
    assert {"protocols/exactness.py", "upstream.py", "learners/rtrl.py",
            "learners/bptt.py"} <= set(files)
