"""Analytic work of the RTRL sensitivity update: the FLOP floor the harness compares against.

A matmul of [m, k] by [k, n] counts 2*m*k*n FLOPs. Per step and example, with H state numbers,
P state parameters, kw = topk_write * d_model written rows and m = |R ∪ W| * d_model columns:

* ``rtrl``: P <- J_h P + J_theta is 2*H*H*P;
* ``sparse-rtrl``: P[W] <- J[W, C] P[C] + J_theta[W] is 2*kw*m*P (C padded to a fixed size);
* ``sparse-rtrl-readonly``: as above with C = R;
* ``tree-rtrl``: the core columns every step plus, on average, the topk/n_experts share of the
  expert columns that are active. Flushes depend on the routing; the learner's
  ``counters["sensitivity_flops"]`` counts what actually ran.
"""
from __future__ import annotations


def state_param_count(model) -> int:
    """P: parameters that touch the recurrent state."""
    names = set(model.state_param_names())
    return sum(p.numel() for n, p in model.named_parameters() if n in names)


def expert_param_count(model) -> int:
    return sum(p.numel() for g in model.expert_param_groups()
               for n, p in model.named_parameters() if n in set(g))


def _sparse_columns(learner_name: str, cfg) -> int:
    """|C| * d_model: the slots a sparse update reads (R for the documents' formula, R ∪ W
    padded to a fixed size otherwise)."""
    slots = (cfg.topk_read if learner_name == "sparse-rtrl-readonly"
             else min(cfg.n_slots, cfg.topk_read + cfg.topk_write))
    return slots * cfg.d_model


def sensitivity_update_flops(learner_name: str, cfg, batch_size: int = 1,
                             n_state_params: int | None = None) -> int:
    """Expected FLOPs of one step's sensitivity update (0 for the BPTT learners)."""
    from .moe import MoEConfig, RecurrentMoE
    from .rnn import RecurrentRNN

    model = RecurrentMoE(cfg) if isinstance(cfg, MoEConfig) else RecurrentRNN(cfg)
    P = state_param_count(model) if n_state_params is None else n_state_params
    H = cfg.H
    if learner_name == "rtrl":
        return 2 * batch_size * H * H * P
    if not isinstance(cfg, MoEConfig) or learner_name not in (
            "sparse-rtrl", "sparse-rtrl-readonly", "tree-rtrl"):
        return 0
    kw = cfg.topk_write * cfg.d_model
    m = _sparse_columns(learner_name, cfg)
    if learner_name == "tree-rtrl":
        experts = expert_param_count(model)
        P = (P - experts) + experts * cfg.topk / cfg.n_experts
    return int(2 * batch_size * kw * m * P)


def matmul_shape(learner_name: str, cfg, batch_size: int = 1, n_state_params: int | None = None):
    """(batch, m, k, n) of the batched matmul that dominates the update, for a roofline probe."""
    from .moe import MoEConfig, RecurrentMoE
    from .rnn import RecurrentRNN

    model = RecurrentMoE(cfg) if isinstance(cfg, MoEConfig) else RecurrentRNN(cfg)
    P = state_param_count(model) if n_state_params is None else n_state_params
    if learner_name == "rtrl" or not isinstance(cfg, MoEConfig):
        return batch_size, cfg.H, cfg.H, P
    return batch_size, cfg.topk_write * cfg.d_model, _sparse_columns(learner_name, cfg), P
