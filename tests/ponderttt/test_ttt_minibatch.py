"""The causal mini-batch TTT-Linear: scoring before each mini-batch's update, UPDATE_k distinct."""
import pytest
import torch

from ponderttt.ttt_minibatch import (
    ACTION_STEPS,
    MiniBatchTTT,
    MiniBatchTTTConfig,
    chunk_loss,
    outcome_rows,
    train_slow_weights,
)


def _layer(seed=0, d=32, H=4, o_std=0.05):
    torch.manual_seed(seed)
    layer = MiniBatchTTT(MiniBatchTTTConfig(d, H))
    if o_std:
        torch.nn.init.normal_(layer.o.weight, std=o_std)
    return layer


def test_zero_init_output_leaves_backbone_alone():
    layer = _layer(o_std=0)
    res, _ = layer(torch.randn(1, 64, 32), 4)
    assert torch.count_nonzero(res) == 0


def test_causal_at_mini_batch_level():
    layer = _layer()
    h = torch.randn(1, 64, 32)
    h2 = h.clone()
    h2[:, 40:] += torch.randn(1, 24, 32)          # change mini-batches 2 (from token 40) and 3
    for k in ACTION_STEPS:
        a, _ = layer(h, k)
        b, _ = layer(h2, k)
        assert torch.allclose(a[:, :32], b[:, :32])          # mini-batches 0, 1: unchanged
        assert not torch.allclose(a[:, 48:], b[:, 48:])


def test_skip_reads_w0_and_updates_differ():
    layer = _layer()
    h = torch.randn(1, 64, 32)
    outs = [layer(h, k)[0] for k in ACTION_STEPS]
    assert torch.allclose(outs[0][:, :16], outs[1][:, :16])   # mini-batch 0: no step yet
    for i in range(1, 4):                                       # 1, 2, 4 steps end apart
        for j in range(i):
            assert (outs[i][:, 16:] - outs[j][:, 16:]).abs().max() > 1e-6
    with pytest.raises(ValueError, match="mini-batch"):
        layer(torch.randn(1, 20, 32), 1)


def test_outer_training_lowers_the_loss():
    torch.manual_seed(0)
    head = torch.nn.Linear(32, 50, bias=False)
    hid = torch.randn(4, 64, 32)
    ids = torch.randint(0, 50, (4, 64))
    layer = _layer(o_std=0)
    before = outcome_rows(layer, head, hid, ids)[0].mean()
    hist = train_slow_weights(layer, head, hid, ids, 60, lr=3e-3, seed=0)
    after, recon, secs = outcome_rows(layer, head, hid, ids)
    assert len(hist) == 60 and after.mean() < before - 0.05
    assert after.shape == (4, 4) and recon.shape == (4,) and secs.shape == (4, 2)
    assert float(chunk_loss(head, hid[:1], torch.zeros_like(hid[:1]), ids[:1])) > 0
