"""snap-1 / snap-2 against bptt where they must be exact, and their patterns and sizes."""
import pytest
import torch
from torch.func import functional_call, jacrev

import rtrl_moe as rm
from rtrl_moe.learners import snap_pattern

from .helpers import assert_exact, moe, rel_err, sequence


def rnn(cell="tanh", hidden=7, seed=1):
    torch.manual_seed(seed)
    return rm.RecurrentRNN(rm.RNNConfig(d_in=5, d_out=5, hidden=hidden, cell=cell)).double()


class NoRecurrenceRNN(rm.RecurrentRNN):
    """The transition ignores h: J_h = 0, so the sensitivity is just this step's J_theta."""

    def transition(self, x_t, h):
        return self.cell(x_t.mean(1), torch.zeros_like(h)), None


class NoRecurrenceMoE(rm.RecurrentMoE):
    """The transition reads a fixed state, never h: J_h = 0. Built with every slot written
    (topk_write = n_slots), since a copied slot would be a copy of the fixed state, not of h,
    which breaks the routing contract the learners rely on."""

    def transition(self, x_t, h):
        return super().transition(x_t, self.init_state(h.shape[0]))


def no_recurrence_moe():
    torch.manual_seed(0)
    return NoRecurrenceMoE(rm.MoEConfig(d_in=5, d_out=5, d_model=6, n_slots=3, n_experts=4,
                                        topk=2, topk_read=2, topk_write=3, d_ff=7)).double()


def no_recurrence_rnn(cell):
    torch.manual_seed(2)
    return NoRecurrenceRNN(rm.RNNConfig(d_in=5, d_out=5, hidden=7, cell=cell)).double()


def sparse_rnn(hidden=8, seed=3):
    """A tanh RNN whose recurrent weights are a ring (i feeds i and i+1): snap-2's sparse case."""
    model = rnn(hidden=hidden, seed=seed)
    ring = torch.eye(hidden, dtype=torch.bool) | torch.eye(hidden, dtype=torch.bool).roll(1, 0)
    with torch.no_grad():
        model.cell.weight_hh.mul_(ring)
    return model


def gradients(name, model, B, T):
    x, y = sequence(B, T, 5)
    ref = rm.make_learner("bptt", model).gradient(x, y)
    return rm.make_learner(name, model).gradient(x, y), ref


@pytest.mark.parametrize("make", [no_recurrence_moe, lambda: no_recurrence_rnn("tanh"),
                                  lambda: no_recurrence_rnn("gru")])
def test_snap1_is_exact_without_recurrence_through_the_state(make):
    g, ref = gradients("snap-1", make(), B=2, T=25)
    assert_exact(g, ref)


@pytest.mark.parametrize("make", [moe, rnn, lambda: rnn("gru")])
def test_snap1_is_exact_at_one_step_and_not_beyond(make):
    model = make()
    assert_exact(*gradients("snap-1", model, B=2, T=1))
    # The contrast: with recurrence it drops real terms, so the exactness above is not vacuous.
    assert rel_err(*gradients("snap-1", model, B=2, T=20)) > 1e-3


@pytest.mark.parametrize("T", [1, 2])
def test_snap2_is_exact_up_to_two_steps_on_a_sparse_rnn(T):
    assert_exact(*gradients("snap-2", sparse_rnn(), B=2, T=T))


def test_snap2_drops_terms_after_two_steps_on_a_sparse_rnn_and_is_smaller_than_rtrl():
    model = sparse_rnn()
    assert rel_err(*gradients("snap-2", model, B=2, T=12)) > 1e-4
    L = rm.make_learner("snap-2", model)
    P = sum(p.numel() for n, p in model.named_parameters() if n.startswith("cell."))
    # Ring: each unit's parameters reach itself and its successor after two steps.
    assert L.state_numbers() == 2 * P < model.H * P


@pytest.mark.parametrize("make", [moe, rnn, lambda: rnn("gru")])
def test_snap2_pattern_is_full_and_so_exact_on_the_dense_models(make):
    # Documented: dense W_hh, or the MoE's read mixing every unit, fill the two-step pattern.
    assert_exact(*gradients("snap-2", make(), B=2, T=20))


def _dense_jacobian_support(model, T=30, seed=4):
    """Union over a sequence of the support of J_theta, over every row of the state."""
    names = model.state_param_names()
    params = dict(model.named_parameters())
    x, _ = sequence(1, T, 5, seed=seed)
    h = model.init_state(1)
    support = None
    for t in range(T):
        def f(ps, hh=h, xt=x[:, t:t + 1]):
            return functional_call(model, {**params, **ps}, (xt, hh), {"part": "transition"})[0][0]
        J = jacrev(f)({n: params[n].detach() for n in names})
        flat = torch.cat([J[n].reshape(model.H, -1) for n in names], 1).ne(0)
        support = flat if support is None else support | flat
        with torch.no_grad():
            h = model.transition(x[:, t:t + 1], h)[0]
    return support


def _pattern_mask(model, order):
    names = model.state_param_names()
    P = sum(dict(model.named_parameters())[n].numel() for n in names)
    S, d = (model.cfg.n_slots, model.cfg.d_model) if hasattr(model.cfg, "n_slots") else (1, model.H)
    mask = torch.zeros(model.H, P, dtype=torch.bool)
    seen = torch.zeros(P, dtype=torch.long)
    for units, cols in snap_pattern.groups(model, names, order):
        rows = (torch.arange(S)[:, None] * d + units[None, :]).flatten()
        mask[rows[:, None], cols[None, :]] = True
        seen[cols] += 1
    assert bool((seen == 1).all()), "every parameter column must be in exactly one group"
    return mask


@pytest.mark.parametrize("make", [moe, rnn, lambda: rnn("gru")])
def test_snap1_pattern_covers_every_observed_jacobian_entry_and_no_more_than_needed(make):
    model = make()
    support = _dense_jacobian_support(model)
    mask = _pattern_mask(model, 1)
    assert not bool((support & ~mask).any()), "J_theta has entries outside the snap-1 pattern"
    # Tight for the RNN (one unit per column). On the MoE the per-unit candidate columns must
    # not have been lumped into the dense group.
    if isinstance(model, rm.RecurrentRNN):
        assert torch.equal(support, mask)
    else:
        assert mask.sum(0).min() == model.cfg.n_slots


def _state_param_count(model):
    return sum(p.numel() for n, p in model.named_parameters() if not n.startswith("out."))


def test_memory_formulas_match_what_is_held():
    # The documents' config: the numbers quoted in snap.py's docstring.
    model = rm.RecurrentMoE(rm.MoEConfig()).double()
    P, H, S, d = _state_param_count(model), model.H, 4, 32
    Pc = 2 * d * d + d
    assert (P, Pc) == (29728, 2080)
    assert rm.make_learner("snap-1", model).state_numbers() == H * (P - Pc) + S * Pc == 3547264
    assert rm.make_learner("snap-2", model).state_numbers() == H * P
    for cell in ("tanh", "gru"):
        r = rnn(cell, hidden=9)
        Pr = _state_param_count(r)
        assert rm.make_learner("snap-1", r).state_numbers() == Pr
        assert rm.make_learner("snap-2", r).state_numbers() == r.H * Pr


@pytest.mark.parametrize("name", ["snap-1", "snap-2"])
@pytest.mark.parametrize("make", [moe, rnn])
def test_held_sensitivity_has_the_stated_size(name, make):
    model = make()
    x, y = sequence(3, 6, 5)
    L = rm.make_learner(name, model)
    L.gradient(x, y)
    assert sum(P.numel() for P in L.P) == 3 * L.state_numbers()
