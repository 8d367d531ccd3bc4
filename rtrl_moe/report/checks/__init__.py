"""Check factories, by theme: each returns a callable df -> Evidence that the claims registry
(claims.py) stores.

A check never bends to pass: it computes what the claim says, what the arithmetic says and what
was measured, and states the verdict with the numbers behind it.  What a check returns and how
parts merge is in ``evidence``; series over T and matched pairs in ``curves``.
"""
from __future__ import annotations

from ..evidence import merge, not_measured
from .accuracy import (
                       MIN_SEEDS,
                       accuracy_compare,
                       accuracy_level,
                       chance_level,
                       rtrl_level_by_proxy,
                       separation,
                       three_way,
)
from .crossover import crossover
from .gpu import gpu_oom, gpu_speedup
from .gradients import EXACT_TOL, exact, exact_core, truncation_bias
from .lengths import fails_at, only_practical, runs_at_length
from .memory import (
                       arith_line,
                       bptt_magnitude,
                       bptt_per_token,
                       h_value,
                       internal_ratio,
                       measured_state,
                       memory_constant,
                       memory_grows,
                       memory_ratio,
                       memory_table_row,
                       no_overhead,
                       product_only,
                       rtrl_const_and_magnitude,
                       rtrl_magnitude,
                       sensitivities_stored,
                       shape_pair,
                       state_arith,
)
from .scale import fails_at_length, jacrev_not_implemented, practical_at, tree_logn
from .speed import flops_ratio, slower, speedup, speedup_range, time_linear

__all__ = [
    "EXACT_TOL", "MIN_SEEDS", "accuracy_compare", "crossover", "accuracy_level", "arith_line", "bptt_magnitude",
    "bptt_per_token", "chance_level", "exact", "exact_core", "fails_at", "flops_ratio", "gpu_oom", "gpu_speedup",
    "h_value", "internal_ratio", "measured_state", "memory_constant", "memory_grows", "memory_ratio",
    "memory_table_row", "merge", "no_overhead", "not_measured", "only_practical",
    "product_only", "rtrl_const_and_magnitude", "rtrl_level_by_proxy", "separation", "rtrl_magnitude", "runs_at_length",
    "sensitivities_stored", "shape_pair", "slower", "speedup", "speedup_range", "state_arith",
    "three_way", "time_linear", "truncation_bias",
    "fails_at_length", "jacrev_not_implemented", "practical_at", "tree_logn",
]
