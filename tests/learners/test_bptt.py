"""bptt against an independent unrolled autograd computation; tbptt and ckpt-bptt against bptt."""
import pytest
import torch
import torch.nn.functional as F

import rtrl_moe as rm

from .helpers import assert_exact, moe, rel_err, sequence


def unrolled_reference(model, x, y):
    h = model.init_state(x.shape[0])
    logits = []
    for t in range(x.shape[1]):
        out, h, _ = model.step(x[:, t:t + 1], h)
        logits.append(out)
    logits = torch.stack(logits, 1)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=-100)
    names, params = zip(*model.named_parameters())
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    return {n: torch.zeros_like(p) if g is None else g for n, p, g in zip(names, params, grads)}, loss


@pytest.mark.parametrize("B,T", [(1, 1), (1, 17), (3, 40)])
def test_bptt_matches_unrolled_autograd(B, T):
    model = moe()
    x, y = sequence(B, T, 5)
    ref, loss = unrolled_reference(model, x, y)
    learner = rm.make_learner("bptt", model)
    assert_exact(learner.gradient(x, y), ref, tol=1e-12)
    assert learner.stats["loss"] == pytest.approx(float(loss.detach()), rel=1e-12)


def test_bptt_on_rnn_matches_unrolled_autograd():
    torch.manual_seed(3)
    model = rm.RecurrentRNN(rm.RNNConfig(d_in=5, d_out=5, hidden=9, cell="gru")).double()
    x, y = sequence(2, 25, 5)
    ref, _ = unrolled_reference(model, x, y)
    assert_exact(rm.make_learner("bptt", model).gradient(x, y), ref, tol=1e-12)


@pytest.mark.parametrize("k", [1, 4, None])
def test_ckpt_bptt_is_exact(k):
    model = moe()
    x, y = sequence(2, 30, 5)
    ref = rm.make_learner("bptt", model).gradient(x, y)
    kwargs = {} if k is None else {"k": k}
    assert_exact(rm.make_learner("ckpt-bptt", model, **kwargs).gradient(x, y), ref)


def test_tbptt_equals_bptt_when_window_covers_sequence_and_differs_otherwise():
    model = moe()
    x, y = sequence(2, 24, 5)
    ref = rm.make_learner("bptt", model).gradient(x, y)
    assert_exact(rm.make_learner("tbptt", model, k=24).gradient(x, y), ref)
    assert rel_err(rm.make_learner("tbptt", model, k=3).gradient(x, y), ref) > 1e-6


def test_stream_and_tensor_give_the_same_gradient():
    model = moe()
    x, y = sequence(2, 12, 5)
    stream = ((x[:, t:t + 1], y[:, t]) for t in range(12))
    for name in ("bptt", "tbptt", "sparse-rtrl"):
        a = rm.make_learner(name, model).gradient(x, y)
        b = rm.make_learner(name, model).gradient(
            (x[:, t:t + 1], y[:, t]) for t in range(12))
        assert_exact(b, a, tol=1e-14)
    del stream


def test_bad_inputs_are_clear_errors():
    model = moe()
    x, y = sequence(1, 4, 5)
    with pytest.raises(ValueError, match="unknown learner"):
        rm.make_learner("nope", model)
    with pytest.raises(ValueError, match="bad arguments"):
        rm.make_learner("bptt", model, k=3)
    with pytest.raises(ValueError, match="y must be"):
        rm.make_learner("bptt", model).gradient(x, y[:, :2])
    with pytest.raises(ValueError, match="empty sequence"):
        rm.make_learner("rtrl", model).gradient(iter(()))
