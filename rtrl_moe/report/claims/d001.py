"""Document 001: the design notes (formula, a^n b^n, haystack).

One entry per claim, each holding everything about it (quote, plain words,
reading, the bench's workload and rule, the as-documented protocol pieces, check or sums, and
why a refutation holds of any implementation). Quotes are verbatim (tests check them)."""
from __future__ import annotations

from .. import checks as c
from ..checks.savings import (
                              fails_where_rtrl_runs,
)
from ..declared import (
                              SPARSE_PEAK,
                              W_AGREE,
                              W_AGREE_TBPTT,
                              W_BUDGET,
                              W_BUDGET_HAY,
                              W_DENSE_SPARSE,
                              W_JACREV,
                              W_LONG,
                              W_MEM_PAIR,
                              W_TRAIN,
                              W_TRAIN_PROXY,
                              accuracy_rule,
                              rule,
)
from ..evidence import PARTIAL
from ..protocol_checks import (
                              check_train_anbn_bptt,
                              check_train_anbn_rtrl,
)
from ..protocol_exactness import DOCS_RTRL, exactness_check
from .entry import (
                              ANBN_5K,
                              CONST_TEST,
                              D001,
                              MAG_READ,
                              MEM_READ,
                              PAIR,
                              RTRL_READ,
                              Claim,
                              MiB,
)

CLAIMS: list[Claim] = [
    Claim("001-sparse-formula", D001, "The core algorithm correctly implements sparse sensitivity updates",
          "P_t[write] = J_h[write, read] P_t[read] + J_theta is correct",
          "the documents' update is our sparse-rtrl-readonly; 'correct' = exact (rel. error <= 1e-10 in float64); "
          "it drops the old sensitivity of a slot that is written but not read",
          "agree: sparse-rtrl-readonly (sparse-rtrl beside); rel_err, float64",
          "exact at every length -> CONFIRMED; inexact everywhere -> REFUTED",
          c.exact(("sparse-rtrl-readonly",)),
          also=("   - `P_t[write] = J_h[write, read] @ P_t[read] + J_θ`",
                "3. **Sparse Updates**: Only compute/store sensitivities for active dimensions"),
          structural=("P[W] = J[W,R] P[R] + J_theta drops J[W, W\\R] P[W\\R]: inexact by algebra whenever a "
                      "written slot was not read"),
          workload=W_AGREE,
          rule=rule("rel_err in float64"),
          pieces=('upstream_exactness',),
          protocol_check=exactness_check(DOCS_RTRL),
          finding="exactness:formula"),
    Claim("001-write-sparsity", D001, "Write sparsity reduces computation from O(H²) to O(k²)",
          "cost falls from O(H^2) to O(k^2)",
          "H = state size, k = written state dims (topk_write x d_model): the sensitivity update shrinks by "
          "(k/H)^2 = (topk_write/n_slots)^2",
          "measure: sparse-rtrl-readonly (the documents' update) and sparse-rtrl (exact) vs rtrl, same run and "
          "config (docs-scale preset, docs-dense-sparse piece: T = 64, 3 seeds); sensitivity_flops_per_step, "
          "sensitivity_ns_per_step",
          "arithmetic (k/H)^2 from the config; the FLOP counts are analytic, so the measured time ratio "
          "sensitivity_ns_per_step sparse/dense decides: within 0.5..2x of (k/H)^2 CONFIRMED, within 0.1..10x "
          "PARTIAL, beyond REFUTED; the FLOP ratio shown beside",
          c.flops_ratio(None, "(k/H)^2", square_write=True),
          workload=W_DENSE_SPARSE,
          rule=rule("sensitivity_ns_per_step sparse / dense (time; FLOP counts are analytic)", 0.25, "x")),
    Claim("001-jacrev-opt", D001, "Would reduce computation from O(HW) to O(W²) for W write indices",
          "O(HW) -> O(W^2) with sparse jacrev argnums", "a proposed optimisation",
          "nothing decides it: neither the documents nor this library implement it; beside it, sparse-rtrl's "
          "Jacobian phase share of the step (docs-scale preset, docs-dense-sparse piece), the most it could save",
          "NOT MEASURED by construction (no learner differentiates over W input columns only); the arithmetic W/H "
          "and the measured Jacobian share are shown",
          c.jacrev_not_implemented("sparse-rtrl"),
          workload=W_JACREV,
          rule=rule("none (never implemented); sparse-rtrl's Jacobian phase share beside")),
    Claim("001-anbn-bptt-95", D001, "- **BPTT**: Achieves ~95% accuracy in 5K steps",
          "~95% on a^n b^n in 5,000 steps", "BPTT on the MoE model; task anbn",
          "train: bptt, moe, anbn, every seed; final_accuracy, steps",
          "mean over seeds in 90..100%; NOT MEASURED if runs stopped before 5,000 steps below it",
          c.accuracy_level("bptt", 0.95, 0.05, task="anbn", lr=2e-3, min_steps=5000, doc_text="~95% in 5K steps",
                           preset=ANBN_5K),
          workload=W_TRAIN,
          rule=accuracy_rule(0.95, 0.05),
          pieces=('train_anbn_bptt',),
          protocol_check=check_train_anbn_bptt,
          differs=("train_anbn.py scores online training accuracy (last 100 of 5,000 steps) of upstream's cell, "
                  "chance 50%; the bench scores next-symbol accuracy on held-out a^n b^n sequences of the "
                  "documents' MoE, whose chance level is higher (stated beside each figure)"),
          finding="accuracy:level"),
    Claim("001-anbn-rtrl-95", D001, "- **RTRL**: Achieves ~95% accuracy in 5K steps (similar performance)",
          "~95% on a^n b^n in 5,000 steps", "RTRL = sparse-rtrl on the MoE model; task anbn",
          "train: sparse-rtrl, moe, anbn, every seed; final_accuracy, steps",
          "mean over seeds in 90..100%; sparse-rtrl at 5,000 steps is read from bptt's runs only where the proxy "
          "is shown (float64 same-seed trajectories together; final accuracies not told apart at 300 steps)",
          c.rtrl_level_by_proxy(0.95, 0.05, task="anbn", min_steps=5000, doc_text="~95% in 5K steps",
                                level_preset=ANBN_5K, pair_preset=PAIR),
          workload=W_TRAIN_PROXY,
          rule=accuracy_rule(0.95, 0.05),
          pieces=('train_anbn_rtrl',),
          protocol_check=check_train_anbn_rtrl),
    Claim("001-mem-80mb", D001, "- **Memory**: RTRL uses constant ~80MB, BPTT grows with max sequence length",
          "RTRL constant ~80 MB; BPTT grows", RTRL_READ + "; " + MEM_READ + "; " + MAG_READ,
          "measure: RTRL learners and bptt; tensor_bytes_peak at all lengths (rss_peak beside)",
          CONST_TEST + " for RTRL; growth >= 2%, linear, for bptt; both must hold",
          c.shape_pair(doc_abs="~80 MB", rep="sparse-rtrl"),
          workload=W_MEM_PAIR,
          rule=rule(SPARSE_PEAK, 80 * MiB, "B", far=PARTIAL)),
    Claim("001-haystack-oom", D001, "- **BPTT (full)**: OOMs at seq_len > 1024",
          "BPTT OOM above T = 1024 on haystack",
          "the OOM length depends on the machine: what transfers is that BPTT exceeds a stated budget while "
          "RTRL does not", "measure with --budget-mb, task haystack: bptt status vs RTRL learners",
          "as 000-bptt-oom-1024, on haystack (fit and direct run under docs-budget's 256 MiB)",
          c.crossover("bptt", 1024, task="haystack"),
          workload=W_BUDGET_HAY,
          rule=rule("T* where the bytes-per-token fit reaches a stated budget; the first OOM "
                                          "length of the direct run under docs-budget's 256 MiB", 1024,
                                          "tokens")),
    Claim("001-tbptt-bias", D001, "- **BPTT (truncated)**: Can run but loses gradient signal",
          "truncated BPTT's gradient is biased", "loses signal = gradient differs from full BPTT when T > k",
          "agree: tbptt at several windows k, T > k; rel_err, cosine (float64)",
          "rel_err > 1e-6 at every point -> CONFIRMED; at none -> REFUTED", c.truncation_bias(),
          workload=W_AGREE_TBPTT,
          rule=rule("rel_err of tbptt vs bptt in float64")),
    Claim("001-rtrl-10k", D001, "- **RTRL**: Runs at constant memory for seq_len = 10,000+",
          "constant memory at T >= 10,000", RTRL_READ + "; any task (memory does not depend on the task's data)",
          "measure: RTRL learners; tensor_bytes_peak", CONST_TEST + "; PARTIAL if T = 10,000 not reached",
          c.memory_constant(min_longest=10_000),
          workload=W_LONG,
          rule=rule("tensor_bytes_peak growth over T")),
    Claim("001-exact-recursion", D001, "2. **Sensitivity Recursion**: P_t = J_h @ P_{t-1} + J_θ",
          "the dense recursion gives the gradient", "dense RTRL (rtrl) is exact",
          "agree: rtrl; rel_err, float64", "rel_err <= 1e-10 at every length",
          c.exact(("rtrl",)),
          also=("1. **RTRL Update**: dL/dθ = Σ_t (dL/dh_t) · P_t where P_t = dh_t/dθ",),
          workload=W_AGREE,
          rule=rule("rel_err in float64"),
          pieces=('upstream_exactness',),
          protocol_check=exactness_check(("rtrl", "blockrtrl-full-fixed"))),
    Claim("001-const-vs-linear", D001,
          "# This will show that RTRL memory stays constant while BPTT grows linearly",
          "RTRL constant, BPTT linear", RTRL_READ + "; " + MEM_READ,
          "measure: RTRL learners and bptt; tensor_bytes_peak",
          CONST_TEST + " for RTRL; growth >= 2%, r2 >= 0.98 for bptt", c.shape_pair(),
          workload=W_MEM_PAIR,
          rule=rule("tensor_bytes_peak growth, line fit")),
    Claim("001-enables-training", D001,
          "RTRL enables training on sequences where BPTT fails due to memory constraints",
          "RTRL trains at lengths where BPTT runs out of memory",
          "two parts: under one stated budget BPTT runs out of memory at a length where sparse-rtrl completes "
          "(docs-budget, 256 MiB); 'enables training' = sparse-rtrl trained to above chance at such a length",
          "measure: bptt and sparse-rtrl under docs-budget's --budget-mb 256; status",
          "memory part: bptt OOM at a T where sparse-rtrl ran -> CONFIRMED, bptt ran wherever sparse-rtrl did "
          "-> REFUTED; training part NOT MEASURED (no training run at 2,048+ tokens): at best PARTIAL",
          lambda df: c.merge([fails_where_rtrl_runs("bptt", "sparse-rtrl")(df),
                              c.not_measured("no train run of sparse-rtrl at the lengths where bptt ran out of memory "
                                             "under the budget (2,048+ tokens under docs-budget's 256 MiB); one "
                                             "above chance there would decide it")(df)],
                             ["BPTT fails where RTRL runs", "RTRL trains there"], "memory"),
          workload=W_BUDGET,
          rule=rule("status of bptt and sparse-rtrl under docs-budget's 256 MiB; a train run "
                                          "at that length")),
]
