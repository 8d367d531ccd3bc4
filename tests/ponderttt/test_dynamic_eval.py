"""The seed's UPDATE_k: k Adam steps on all weights, scored before the update, state carried."""
import pytest
import torch

pytest.importorskip("transformers")

from ponderttt.dynamic_eval import DynamicEvaluator, chunk_flops, run_interleaved  # noqa: E402


def _tiny():
    from ponderttt.backbone import load_backbone
    return load_backbone("gpt2-random", scale="tiny")


def test_skip_changes_nothing_and_updates_carry_state():
    bb = _tiny()
    ids = torch.randint(0, 1000, (2, 32))
    w = bb.lm.transformer.wte.weight.clone()
    out = run_interleaved(bb.lm, ids)
    assert torch.equal(bb.lm.transformer.wte.weight, w)     # the base model is never trained
    first = {a: r["chunk_losses"][0] for a, r in out.items()}
    assert len(set(first.values())) == 1                    # chunk 0 scored before any update
    assert [len(s) for s in out["UPDATE_4"]["step_losses"]] == [4, 4]
    ev = DynamicEvaluator(bb.lm, 2)
    ev.chunk(ids[:1])
    assert not torch.equal(ev.lm.transformer.wte.weight, w)


def test_flops_are_3k_forward_passes():
    bb = _tiny()
    ids = torch.randint(0, 1000, (1, 32))
    f = {k: chunk_flops(bb.lm, ids, k) for k in (0, 1, 2)}
    assert f[1] / f[0] == pytest.approx(3.0, rel=0.02)      # forward + backward (2 forwards)
    assert f[2] / f[0] == pytest.approx(6.0, rel=0.02)


def test_real_backbone_learns_a_repeated_chunk(smollm2):
    """On the pretrained model, one Adam step on a chunk lowers the loss of the same text seen
    again (dynamic evaluation works); SKIP scores both the same."""
    import sysconfig
    from pathlib import Path
    text = Path(sysconfig.get_paths()["stdlib"], "json", "scanner.py").read_text()
    ids = smollm2.tokenize(text)[:48]
    chunks = torch.stack([ids, ids])
    out = run_interleaved(smollm2.lm, chunks, actions=("SKIP", "UPDATE_1"))
    s, u = out["SKIP"]["chunk_losses"], out["UPDATE_1"]["chunk_losses"]
    assert s[0] == pytest.approx(s[1]) and u[0] == pytest.approx(s[0], rel=1e-5)
    assert u[1] < s[1] - 0.01
