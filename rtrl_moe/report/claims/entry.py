"""A claim's entry: everything about one claim in one place, and the readings several entries share.

An entry holds the verbatim quote and its plain words; how we read it; the bench's workload and
rule (declared before the data; the named workloads are in ``declared.py``, as shared includes);
the as-documented side: the protocol pieces that re-run the document's experiment, the claim's
own check of them, or the document's sums; and, where a refutation on the bench holds of any
implementation, its reason (``structural``), where the bench runs a different experiment from
the document's, how (``differs``). Generic code judges every entry (``judge.py``,
``as_documented.py``, ``headline.py``).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import pandas as pd

from ..evidence import Evidence
from ..judge import judge
from ..workload import Rule, Workload

D000 = "000_0768a7c8117524ad.txt"
D001 = "001_8e28e08b2c77ec9e.txt"
D002 = "002_2d1a4664ad96a01e.txt"
D003 = "003_e63134a16e36cea4.txt"
SOURCES = (D000, D001, D002, D003)
#: the train preset's pieces (rtrl_moe/bench/presets.py, train()) the accuracy claims are declared on
ANBN_5K, PAIR, T003 = "train-anbn-5k", "train-pair", "train-003"
KiB, MiB, GiB = 2 ** 10, 2 ** 20, 2 ** 30

HXP = "RTRL holds H x P sensitivities on any model at the documents' config (upstream's has ~12k state parameters)"
RTRL_READ = ("'RTRL' in the documents is their BlockRTRL with sparse read/write; memory claims are checked "
             "on every RTRL learner we have (rtrl, sparse-rtrl, tree-rtrl)")
MEM_READ = ("memory = tensor_bytes_peak, the exact count of what the learner holds (deterministic, "
            "machine-independent); RSS is shown beside it")
ARITH_READ = ("RTRL must hold its sensitivity matrix: H x P entries (H = n_slots x d_model, P = state "
              "parameters, metrics.n_state_params), not H; BPTT 'memory' = bytes autograd saved for backward "
              "(tensor_bytes_saved_peak), whose floor is T x H x 4 B; document 'MB' read as MiB")
SPEED_READ = ("'full updates' = sparse-rtrl (same sparse read/write, no lazy tree); the tree variant = tree-rtrl; "
              "ratio of time_step_median_ns within one run_id and config")
CONST_TEST = "constant = growth shortest -> longest under 2%, every series; slope in B/token reported"
#: the documents' memory magnitudes are torch.cuda.max_memory_allocated (benchmark_memory.py, demo_extreme.py)
MAG_READ = ("the figure is the documents' torch.cuda.max_memory_allocated; its nearest CPU metric is "
            "tensor_bytes_peak, and RSS above baseline (rss_peak) is judged beside it: where the two give different "
            "verdicts the claim is PARTIAL; the magnitude is sparse-rtrl's (the documents' RTRL is their sparse "
            "BlockRTRL), the shape every RTRL learner's")
NO_LONG_TRAINING = ("no preset trains any learner at 10,000+ tokens (train-003 stops at T = 128); train runs of the "
                    "three arms at T >= 10,000 with >= 5 seeds would decide it")


@dataclass(frozen=True)
class Claim:
    id: str
    source: str                     # file name in ../shared/claims/
    quote: str                      # exact sentence or table row
    documented: str                 # the documented value in plain words, as the document writes it
    reading: str                    # how we read it (which memory, model, machine)
    measured: str                   # learner, task, config, lengths, fields
    test: str                       # the check and its tolerance
    check: Callable[[pd.DataFrame], Evidence]
    also: tuple = field(default=())  # other places the document says the same
    workload: Workload | None = None  # which records decide the bench's verdict
    rule: Rule | None = None          # how the bench's verdict is decided (its text defaults to ``test``)
    #: why a refutation on the bench holds of any implementation ('' where it rests on our model)
    structural: str = ""
    #: how the bench's experiment differs from the document's own ('' where it runs the same one)
    differs: str = ""
    #: the protocol pieces (rtrl_moe.protocols) that re-run the document's experiment for this claim
    pieces: tuple = ()
    #: the check of the part of its pieces this claim is about (else every piece's check, combined)
    protocol_check: Callable[[pd.DataFrame], Evidence] | None = None
    #: the as-documented basis where it is not the piece's own ("constant" for a printed constant)
    protocol_basis: str = ""
    #: the document's own sums behind an arithmetic figure (as_documented.Sum)
    sums: tuple = ()
    #: why the document's named run is not re-run here (where no piece re-runs it)
    not_run: str = ""
    #: the claim's role in a finding of the first screen ("finding:part", findings.py), if any
    finding: str = ""

    def __post_init__(self):
        if self.rule is not None and not self.rule.text:
            object.__setattr__(self, "rule", replace(self.rule, text=self.test))

    def evaluate(self, df: pd.DataFrame, strict: bool = False) -> Evidence:
        """The check on the claim's workload only; the rule's magnitude band caps the verdict.
        Records of two model configs for one part are never pooled: ERROR (strict: raise)."""
        return judge(self, df, strict)
