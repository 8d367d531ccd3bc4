"""PonderTTT in torch: GPT-2 with a TTT-Linear layer, run chunk by chunk with SKIP/UPDATE_k.

Public API (docs/PONDERTTT.md)::

    from ponderttt import build_model, make_tokens, run_stream, Action
    model = build_model("125m")                       # random init; weights="path" to load
    tokens = make_tokens(10 * 512, seed=0)            # or real=True: stdlib code, byte-level
    res = run_stream(model, tokens, "UPDATE_1", chunk_size=512)
    res.losses, res.average_loss, res.total_cost, [c.seconds for c in res.chunks]
"""
from .actions import INNER_STEPS, NOMINAL_COST, Action, cost_table, rule_cost
from .config import SCALES, ScaleConfig, TTTConfig, get_scale
from .data import make_tokens, stdlib_tokens, synthetic_tokens
from .flops import ChunkFlops, chunk_flops, count_flops
from .gate import InnerLossGate
from .model import PonderModel, build_model
from .oracle import OutcomeTable, budget_oracle, hindsight_oracle, outcome_table, recovery
from .policy import PIDLagrangian, PolicyTrainer, PPOConfig
from .stream import ChunkResult, StreamResult, chunk_step, profile_chunk, run_stream
from .ttt import FastWeights, TTTLinear

__all__ = [
    "Action", "INNER_STEPS", "NOMINAL_COST", "cost_table", "rule_cost",
    "SCALES", "ScaleConfig", "TTTConfig", "get_scale",
    "make_tokens", "stdlib_tokens", "synthetic_tokens",
    "ChunkFlops", "chunk_flops", "count_flops",
    "PonderModel", "build_model",
    "ChunkResult", "StreamResult", "chunk_step", "profile_chunk", "run_stream",
    "FastWeights", "TTTLinear",
    "OutcomeTable", "outcome_table", "hindsight_oracle", "budget_oracle", "recovery",
    "InnerLossGate", "PIDLagrangian", "PolicyTrainer", "PPOConfig",
]
