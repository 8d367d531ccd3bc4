import torch
import torch.nn.functional as F

import rtrl_moe as rm


def moe(seed=0, **overrides):
    torch.manual_seed(seed)
    base = dict(d_in=5, d_out=5, d_model=6, n_slots=5, n_experts=4, topk=2, topk_read=2,
                topk_write=2, d_ff=7)
    base.update(overrides)
    return rm.RecurrentMoE(rm.MoEConfig(**base)).double()


def sequence(B, T, d_in, seed=1, every=3):
    g = torch.Generator().manual_seed(seed)
    x = F.one_hot(torch.randint(0, d_in, (B, T), generator=g), d_in).double()
    y = torch.randint(0, d_in, (B, T), generator=g)
    y[:, ::every] = -100
    y[:, -1] = torch.randint(0, d_in, (B,), generator=g)   # at least one target
    return x, y


def rel_err(g, ref):
    num = sum(((g[n] - ref[n]) ** 2).sum() for n in ref) ** 0.5
    den = sum((ref[n] ** 2).sum() for n in ref) ** 0.5
    return float(num / den)


def assert_exact(g, ref, tol=1e-10):
    assert set(g) == set(ref)
    for n in ref:
        scale = float(ref[n].norm())
        err = float((g[n] - ref[n]).norm())
        assert err <= tol * max(scale, 1e-12) + 1e-14, f"{n}: |diff|={err:.3e} |ref|={scale:.3e}"
    assert rel_err(g, ref) <= tol
