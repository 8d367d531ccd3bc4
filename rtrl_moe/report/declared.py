"""The named workloads several claim entries share (as includes), and the rule constructors the
entries use: each claim's own workload and rule are in its entry (claims/d000..d003), declared
before the data; a test requires every claim to have both.

Workloads are the `docs` preset's labels (rtrl_moe/bench/presets.py) on the documents' model DOC,
unless the entry says otherwise and why.  Rules carry the documented figure in one unit (bytes,
bytes/token, x for ratios, fraction for accuracy) and the band: measured/documented in 0.5..2
CONFIRMED, 0.1..10 at best PARTIAL, beyond at best REFUTED; where the sentence's predicate is a
shape ("grows linearly", "regardless of sequence length") and the number illustrates it, beyond the
band is at best PARTIAL (``far=PARTIAL``), never CONFIRMED.
"""
from __future__ import annotations

from dataclasses import replace

from .workload import DOC, Rule, Workload

MiB, KiB = 2 ** 20, 2 ** 10
RTRL_MEM = ("rtrl", "sparse-rtrl")          # the RTRL learners the docs-memory piece measures

#: H and P are properties of the model config: the arithmetic H x P may read them from the docs
#: preset's agreement records of the same model (the memory curves read `measure` records only)
W_MEM = Workload(("docs-memory", "docs-agree", "agree-doc"), DOC, kinds=("measure", "agree"),
                 learners=("bptt", "tbptt") + RTRL_MEM, tasks=("anbn",), lengths="32..2048 (000's memory/time table)",
                 dtype=None, seeds="0", note="memory from docs-memory (float32); H and P also from agreement records")
W_MEM_RTRL = replace(W_MEM, learners=RTRL_MEM)
W_MEM_BPTT = replace(W_MEM, learners=("bptt",))
W_MEM_PAIR = replace(W_MEM, learners=("bptt",) + RTRL_MEM)
#: claims about 10,000+ tokens: no docs piece runs DOC that long, so any preset's DOC records count
W_LONG = Workload(None, DOC, kinds=("measure", "agree"), lengths=">= the claim's length", dtype=None,
                  note="any preset's records of the documents' model (the docs preset stops at 8,192); H and P "
                       "for arithmetic also from its agreement records")
W_TIME = Workload(("docs-time",), DOC, kinds=("measure",), learners=("bptt", "tbptt", "sparse-rtrl"),
                  tasks=("anbn",), lengths="32, 128, 512, 2048", dtype="float32", seeds="0, 1, 2 (pairs)")
W_TREE_ANBN = Workload(("docs-tree-anbn",), DOC, kinds=("measure",), learners=("sparse-rtrl", "tree-rtrl"),
                       tasks=("anbn",), lengths="16, 64, 96, 256", dtype="float32", seeds="0, 1, 2 (pairs)")
W_TREE_HAY = Workload(("docs-tree-haystack",), DOC, kinds=("measure",), learners=("sparse-rtrl", "tree-rtrl"),
                      tasks=("haystack",), lengths="8, 16, 32, 64", dtype="float32", seeds="0, 1, 2 (pairs)")
W_TREE = replace(W_TREE_ANBN, labels=("docs-tree-anbn", "docs-tree-haystack"), tasks=("anbn", "haystack"),
                 lengths="anbn 16..256, haystack 8..64")
W_BUDGET = Workload(("docs-memory", "docs-budget"), DOC, kinds=("measure",), learners=("bptt", "sparse-rtrl"),
                    tasks=("anbn",), lengths="fit over 32..2048; direct run 512..8192", dtype="float32",
                    note="fit from docs-memory; direct run under docs-budget's --budget-mb 256 (stated in the preset)")
W_BUDGET_HAY = replace(W_BUDGET, tasks=("haystack",), note="bptt on haystack: fit from docs-memory, direct run under "
                       "docs-budget's --budget-mb 256")
W_AGREE = Workload(("docs-agree", "agree-doc"), DOC, kinds=("agree",), lengths="16, 64, 256", dtype=None,
                   note="float64 decides; float32 beside")
#: truncation bias on the documents' model: docs-agree's tbptt points (window k = 8, T = 16..256)
W_AGREE_TBPTT = replace(W_AGREE, learners=("tbptt",), note="float64; window k = 8 < T")
#: the train preset's pieces: other presets' training runs (e.g. the frontier's RNN) are not this workload
TRAIN_PIECES = ("train-anbn-5k", "train-pair", "train-003", "train-trajectory")
W_TRAIN = Workload(TRAIN_PIECES, DOC, model_type=("moe", "rnn"), kinds=("train",), lengths="the claim's T",
                   dtype="float32", seeds=">= 5 for beats/similar",
                   note="the documents' MoE; the RNN baseline's size is not stated in 003, any one RNN config")
W_TRAIN_MOE = replace(W_TRAIN, model_type=("moe",), note="the documents' MoE only")
#: RTRL at 5,000 steps by the bptt proxy: its float64 same-seed trajectories are part of the evidence
W_TRAIN_PROXY = replace(W_TRAIN_MOE, dtype=None, note="the documents' MoE; pieces train-anbn-5k (bptt, float32), "
                        "train-pair (float32) and train-trajectory (float64 and float32)")
#: the docs-scale preset's FLOP-ratio piece (rtrl vs the sparse updates, T = 64, 3 seeds in one run); docs-memory
#: stays listed for its synthetic tests, its real points are memory-only and carry no sensitivity timing
W_DENSE_SPARSE = replace(W_MEM_RTRL, labels=W_MEM.labels + ("docs-dense-sparse",),
                         learners=RTRL_MEM + ("sparse-rtrl-readonly",), lengths="T = 64 (docs-dense-sparse)",
                         seeds="0, 1, 2 (the three learners of a seed back to back)",
                         note="timed pairs from docs-dense-sparse; FLOP counts analytic, time decides")
W_JACREV = Workload(("docs-dense-sparse",), DOC, kinds=("measure",), learners=("sparse-rtrl",), tasks=("anbn",),
                    lengths="T = 64", dtype="float32", note="nothing decides it; the Jacobian phase share is shown")
W_TREE_N = Workload(("docs-tree-n",), DOC, kinds=("measure",), learners=("tree-rtrl",), tasks=("anbn",),
                    lengths="T = 256 (>= 2n for n = 4..128)", dtype="float32", seeds="0, 1, 2")
#: claims with a memory part and an accuracy part: the train preset's pieces beside docs-memory, one workload
W_MEM_TRAIN = replace(W_TRAIN, labels=TRAIN_PIECES + W_MEM.labels, kinds=("measure", "agree", "train"),
                      lengths="memory at docs-memory's lengths (bptt fitted to T = 10,000); accuracy at the piece's T",
                      note="accuracy from the train preset's pieces, memory from docs-memory, the documents' model")
W_GPU = Workload(None, DOC, kinds=("measure",), note="cuda records of the documents' model")
W_ARITH = Workload((), None, note="the document's own arithmetic; no record")
W_H2048 = Workload(None, {"d_model": 512, "n_slots": 4}, note="a model with H = 2048; not measured")


#: the documents' memory figures are torch.cuda.max_memory_allocated: its nearest CPU metric decides with RSS
SPARSE_PEAK = ("sparse-rtrl tensor_bytes_peak at the longest T (nearest to the documents' "
               "torch.cuda.max_memory_allocated), and rss_peak (RSS above baseline) at the same point: the band on "
               "both, PARTIAL where they disagree")


def rule(metric, documented=None, unit=None, **kw):
    return Rule(metric, kw.pop("text", ""), documented, unit, **kw)


def accuracy_rule(target, tol):
    return rule("metrics.final_accuracy (mean over seeds)", target, "fraction",
              band=((target - tol) / target, (target + tol) / target), near=None)
