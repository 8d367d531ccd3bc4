"""TTT-Linear: the inner step against a hand-derived gradient, state handling."""
import pytest

# the optional GPT-2 dependency (extra "ponder"): without it, skip this module
pytest.importorskip("transformers")

import torch  # noqa: E402

from ponderttt import TTTConfig, TTTLinear  # noqa: E402


def _layer(d=8, H=2, eta_base=0.7):
    torch.manual_seed(3)
    layer = TTTLinear(TTTConfig(d_model=d, n_heads=H, eta_base=eta_base)).double()
    with torch.no_grad():  # non-trivial slow parameters, so each term of the formula matters
        layer.W0.normal_(0, 0.3)
        layer.b0.normal_(0, 0.1)
        layer.ln_weight.uniform_(0.5, 1.5)
        layer.ln_bias.normal_(0, 0.1)
        layer.lr_logit.normal_(0, 1.0)
    return layer


def _hand_step(W, b, x, t, g, beta, eta, eps):
    """One step for one head, derived by hand (no autograd):
    z = xW + b, y = g * (z - mu) / s + beta, l = 1/n sum_t ||y_t - t_t||^2."""
    n, hd = x.shape
    z = x @ W + b
    mu = z.mean(-1, keepdim=True)
    s = ((z - mu) ** 2).mean(-1, keepdim=True).add(eps).sqrt()
    zh = (z - mu) / s
    y = g * zh + beta
    dy = 2.0 * (y - t) / n
    dzh = dy * g
    # LayerNorm backward: dz = (dzh - mean(dzh) - zh * mean(dzh * zh)) / s
    dz = (dzh - dzh.mean(-1, keepdim=True) - zh * (dzh * zh).mean(-1, keepdim=True)) / s
    gW = x.T @ dz
    gb = dz.sum(0, keepdim=True)
    loss = ((y - t) ** 2).sum(-1).mean()
    return W - eta * gW, b - eta * gb, loss


def test_inner_step_matches_hand_computed_float64():
    layer = _layer()
    H, n = 2, 5
    torch.manual_seed(4)
    h = torch.randn(1, n, 8, dtype=torch.float64)
    state = layer.init_state(1)
    with torch.no_grad():
        xk, xv = layer.project_kv(h)
    losses = layer.update(state, h, 1)
    eta = 0.7 * torch.sigmoid(layer.lr_logit.detach())
    for head in range(H):
        W, b, loss = _hand_step(layer.W0[head].detach(), layer.b0[head].detach(), xk[0, head],
                                xv[0, head] - xk[0, head], layer.ln_weight[head].detach(),
                                layer.ln_bias[head].detach(), eta[head], layer.cfg.ln_eps)
        torch.testing.assert_close(state.W[0, head], W, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(state.b[0, head], b, rtol=1e-12, atol=1e-12)
    # the reported inner loss is the mean over heads of the loss before the step
    hand = [(_hand_step(layer.W0[i].detach(), layer.b0[i].detach(), xk[0, i],
                        xv[0, i] - xk[0, i], layer.ln_weight[i].detach(),
                        layer.ln_bias[i].detach(), eta[i], layer.cfg.ln_eps)[2]) for i in range(H)]
    assert losses[0] == pytest.approx(float(sum(hand) / H), rel=1e-12)
    assert not torch.equal(state.W, layer.W0.detach().unsqueeze(0))


def test_inner_steps_lower_the_inner_loss_with_a_small_step():
    layer = _layer(eta_base=0.05)
    h = torch.randn(1, 16, 8, dtype=torch.float64)
    state = layer.init_state(1)
    losses = layer.update(state, h, 4)
    assert len(losses) == 4 and all(b < a for a, b in zip(losses, losses[1:]))


def test_forward_uses_current_fast_weights():
    layer = _layer()
    h = torch.randn(1, 6, 8, dtype=torch.float64)
    s0 = layer.init_state(1)
    s1 = s0.clone()
    layer.update(s1, h, 1)
    assert not torch.allclose(layer(h, s0), layer(h, s1))
    # and the output is o(x_Q + LN(x_Q W + b)) per head, by hand for W0
    xq = layer.q(h).view(1, 6, 2, 4).transpose(1, 2)
    z = xq @ layer.W0.unsqueeze(0) + layer.b0.unsqueeze(0)
    z = torch.nn.functional.layer_norm(z, (4,), eps=layer.cfg.ln_eps)
    z = xq + z * layer.ln_weight + layer.ln_bias
    torch.testing.assert_close(layer(h, s0), layer.o(z.transpose(1, 2).reshape(1, 6, 8)))


def test_init_state_is_a_fresh_copy_of_W0():
    layer = _layer()
    s = layer.init_state(2)
    assert s.steps == 0 and s.W.shape == (2, 2, 4, 4)
    torch.testing.assert_close(s.W[1], layer.W0.detach())
    layer.update(s, torch.randn(2, 5, 8, dtype=torch.float64), 1)
    torch.testing.assert_close(layer.init_state(2).W[0], layer.W0.detach())  # W0 untouched
