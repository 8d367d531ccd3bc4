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


def _layer(seed=0, d=32, H=4, o_std=0.05, contribution="delta"):
    torch.manual_seed(seed)
    layer = MiniBatchTTT(MiniBatchTTTConfig(d, H, contribution=contribution))
    if o_std:
        torch.nn.init.normal_(layer.o.weight, std=o_std)
    return layer


def test_zero_init_output_leaves_backbone_alone():
    layer = _layer(o_std=0)
    res, _ = layer(torch.randn(1, 64, 32), 4)
    assert torch.count_nonzero(res) == 0


def test_skip_is_the_bare_backbone_exactly():
    """Issue 32: at init (o = 0) every action is the identity, and in the delta layer SKIP is
    the bare backbone for any slow weights: the logits are bit-for-bit the backbone's."""
    torch.manual_seed(1)
    head = torch.nn.Linear(32, 50, bias=False)
    h, ids = torch.randn(2, 64, 32), torch.randint(0, 50, (2, 64))
    bare = chunk_loss(head, h, torch.zeros_like(h), ids)
    for k in ACTION_STEPS:                                    # at init, every action
        res, _ = _layer(o_std=0)(h, k)
        assert torch.equal(chunk_loss(head, h, res, ids), bare)
    trained = _layer(o_std=0.5)                               # any slow weights: SKIP
    for p in trained.parameters():
        torch.nn.init.normal_(p, std=0.3)
    res, _ = trained(h, 0)
    assert torch.equal(head(h + res), head(h))
    assert torch.equal(chunk_loss(head, h, res, ids), bare)
    full = _layer(o_std=0.5, contribution="full")             # the earlier layer: SKIP moves
    assert not torch.equal(full(h, 0)[0], torch.zeros_like(h))
    with pytest.raises(ValueError, match="contribution"):
        MiniBatchTTT(MiniBatchTTTConfig(32, 4, contribution="gated"))


@pytest.mark.parametrize("contribution", ["delta", "full"])
def test_causal_at_mini_batch_level(contribution):
    layer = _layer(contribution=contribution)
    h = torch.randn(1, 64, 32)
    h2 = h.clone()
    h2[:, 40:] += torch.randn(1, 24, 32)          # change mini-batches 2 (from token 40) and 3
    for k in ACTION_STEPS:
        if k == 0 and contribution == "delta":
            continue                              # SKIP adds nothing there
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
