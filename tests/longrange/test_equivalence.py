"""The equivalence run: exact learners' per-update losses equal BPTT's at a fixed D."""
from rtrl_moe.longrange import equivalence
from rtrl_moe.longrange.protocol import Point


def test_fixed_delay_and_equal_curves():
    pts = [Point("moe", lab, 64, 0, updates=2, batch=1, dtype="float64", role="equivalence")
           for lab in ("bptt", "sparse-rtrl")]
    ref, got = (equivalence.run(p) for p in pts)
    assert ref["train_delay"] == 64 and len(ref["losses"]) == 2
    assert max(abs(a - b) / abs(b) for a, b in zip(got["losses"], ref["losses"])) < 1e-10
    assert got["tensor_bytes_peak"] > 0 and got["ms_per_token"] > 0
