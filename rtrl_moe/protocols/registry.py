"""The pieces: one documented experiment each, as plain data (what it runs, which script and
commit it re-runs, the files its records depend on) and ``PRESET``, the `protocols` preset."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from . import anbn, exactness, haystack, memory, selftest, speed, threeway, upstream_rtrl
from .models import model_file

UPSTREAM = "jmCabrillana/rtrl_moe"
#: learner modules an RTRL piece depends on (package-relative)
RTRL_FILES = ("learners/base.py", "learners/rtrl.py", "learners/sparse_rtrl.py",
              "learners/static_step.py", "learners/moe_jacobian.py")
TREE_FILES = RTRL_FILES + ("learners/tree_rtrl.py", "tree.py")
COMMON = ("protocols/models.py", "protocols/tasks.py", "protocols/loops.py")
#: the unit of each arch's MoE
MOE_UNITS = {"upstream": "model.upstream-moe", "bench": "model.moe"}
RTRL_UNITS = ("learner.rtrl", "learner.sparse-rtrl")
TIMED_RTRL = RTRL_UNITS + ("timing.rtrl", "timing.sparse-rtrl")


@dataclass(frozen=True)
class Piece:
    name: str
    fn: Callable[..., dict]
    script: str                     # upstream path
    commit: str                     # upstream commit whose script (and output) it re-runs
    module: str                     # protocols/<file>.py holding fn
    model_type: str                 # "moe" (the script's MoE, arch-dependent) or a baseline
    model: dict = field(default_factory=dict)
    args: dict = field(default_factory=dict)      # the defaults fn runs with
    files: tuple = ()               # extra library files (learners, tree)
    extra_models: tuple = ()        # baselines beside the MoE (library files)
    reduced: str | None = None      # what differs in size from the script, when anything does
    timeout_s: int = 1800
    #: units it measures besides itself (``protocol.<name>``, whose version its module declares
    #: in ``VERSIONS``) and its MoE: the learners and baseline cells it runs
    units: tuple = ()

    def units_for(self, arch: str) -> list[str]:
        """The units its records measured (``rtrl_moe.records.versions``)."""
        own = [f"protocol.{self.name}", *self.units]
        if self.model_type == "moe":
            own.append(MOE_UNITS[arch])
        return sorted(set(own))

    def library_files(self, arch: str) -> list[str]:
        own = [f"protocols/{self.module}.py", *COMMON]
        if self.module != "anbn":          # haystack's jacobian_kwargs / samplers are shared
            own.append("protocols/haystack.py")
        if self.module == "memory":
            own.append("protocols/accounting.py")
        models = [model_file(arch)] if self.model_type == "moe" else []
        return sorted(set(own + models + list(self.extra_models) + list(self.files)))

    def model_type_of(self, arch: str) -> str:
        return f"{arch}-moe" if self.model_type == "moe" else self.model_type


PIECES: dict[str, Piece] = {p.name: p for p in (
    Piece("anbn_classify9", anbn.anbn_classify9, "quick_verify.py", "7f2998d847919383b974b2a82982e38c27580ec6",
          "anbn", "moe", anbn.SMALL_MOE, dict(steps=2500, lr=2e-3, n=100, dense=True),
          extra_models=("rnn.py",), units=("model.rnn",)),
    Piece("anbn_classify9_lr1e2", anbn.anbn_classify9_lr1e2, "test_small_moe.py",
          "7f2998d847919383b974b2a82982e38c27580ec6", "anbn", "moe", anbn.SMALL_MOE,
          dict(steps=1500, lr=1e-2, n=150)),
    Piece("haystack8_bptt", haystack.haystack8_bptt, "verify_haystack.py",
          "81120cfa0be34f91c57fad3da51673f5209110d9", "haystack", "moe", haystack.HAYSTACK_MOE,
          dict(steps=500, lr=3e-3, seq_len=8, n=50)),
    Piece("haystack8_rtrl", haystack.haystack8_rtrl, "verify_haystack.py",
          "81120cfa0be34f91c57fad3da51673f5209110d9", "haystack", "moe", haystack.HAYSTACK_MOE,
          dict(steps=500, lr=5e-3, seq_len=8, n=50, learner="sparse-rtrl"), files=RTRL_FILES,
          units=("learner.sparse-rtrl",)),
    Piece("proof_untrained_trials", haystack.proof_untrained_trials, "test_proof_infinite_seq.py",
          "8fbb3a3b94a0a3a1ecc76ad67517ce3d95b09710", "haystack", "moe", haystack.HAYSTACK_MOE,
          dict(lengths=[32, 64, 128], trials=30), units=("model.relu-embed-rnn",)),
    Piece("tree_speed_haystack", speed.tree_speed_haystack, "verify_haystack.py",
          "81120cfa0be34f91c57fad3da51673f5209110d9", "speed", "moe", speed.HAYSTACK_SPEED_MOE,
          dict(seqs=15, seq_len=8), files=RTRL_FILES, units=TIMED_RTRL),
    Piece("tree_speed_anbn_10steps", speed.tree_speed_anbn, "quick_verify.py",
          "7f2998d847919383b974b2a82982e38c27580ec6", "speed", "moe", speed.ANBN_SPEED_MOE,
          dict(steps=10), files=RTRL_FILES, units=TIMED_RTRL,
          reduced="10 timed steps per arm, not the script's 50 (dense RTRL 2.5-4 s a step here)"),
    Piece("demo_memory_advantage", memory.demo_memory_advantage, "demo_memory_advantage.py",
          "81120cfa0be34f91c57fad3da51673f5209110d9", "memory", "tanh-rnn (embedding 8x128)",
          dict(vocab=8, hidden=128, d_out=4), dict(lengths=[32, 128, 512, 1024], hidden=128)),
    Piece("benchmark_memory_short", memory.benchmark_memory_short, "benchmark_memory.py",
          "63335ac292cfaddc2c0f4e5a352e8d0ebab57974", "memory", "moe", memory.BENCH_MOE,
          dict(lengths=list(memory.LENGTHS), tbptt=64, rtrl_tokens=2), files=RTRL_FILES,
          units=("learner.rtrl", "timing.rtrl"),
          reduced="dense RTRL timed over 2 tokens and scaled by T (the script runs all T); "
                  "tensor bytes on the CPU, not cuda.max_memory_allocated"),
    Piece("demo_extreme_short", memory.demo_extreme_short, "demo_extreme.py",
          "63335ac292cfaddc2c0f4e5a352e8d0ebab57974", "memory", "moe", memory.BENCH_MOE,
          dict(tokens=4, seq_len=10_000, learner="sparse-rtrl"), files=RTRL_FILES,
          units=("learner.sparse-rtrl", "timing.sparse-rtrl"),
          reduced="4 tokens of one 10,000-token sequence, not 1,000 sequences; tensor bytes "
                  "held, not cuda.max_memory_allocated; no loss/accuracy"),
    Piece("train_anbn_bptt", anbn.train_anbn_bptt, "train_anbn.py",
          "63335ac292cfaddc2c0f4e5a352e8d0ebab57974", "anbn", "silu-norm-rnn",
          dict(d_in=2, hidden=30, d_out=2), dict(steps=5000, lr=1e-3, hidden=30, len_max_a=8),
          units=("model.silu-norm-rnn",)),
    Piece("train_anbn_rtrl", anbn.train_anbn_rtrl, "train_anbn.py",
          "63335ac292cfaddc2c0f4e5a352e8d0ebab57974", "anbn", "silu-norm-rnn",
          dict(d_in=2, hidden=30, d_out=2),
          dict(steps=5000, lr=1e-3, hidden=30, len_max_a=8, acc_steps=64), files=RTRL_FILES,
          units=("model.silu-norm-rnn", "learner.rtrl")),
    Piece("rnn_vs_moe_rtrl_128", threeway.rnn_vs_moe_rtrl, "test_rnn_vs_moe_rtrl.py",
          "8fbb3a3b94a0a3a1ecc76ad67517ce3d95b09710", "threeway", "moe", haystack.HAYSTACK_MOE,
          dict(seq_len=128, steps=80, lr=3e-3, n=20, learner="sparse-rtrl"), files=RTRL_FILES,
          units=("learner.sparse-rtrl", "model.relu-embed-rnn")),
    Piece("upstream_exactness", exactness.upstream_exactness, "debug_gradients.py",
          "7f2998d847919383b974b2a82982e38c27580ec6", "exactness", "moe", exactness.DOCS_MOE,
          dict(lengths=list(exactness.LENGTHS)), files=RTRL_FILES + ("learners/bptt.py",),
          units=RTRL_UNITS + ("learner.sparse-rtrl-readonly", "learner.bptt"),
          timeout_s=900),
    Piece("upstream_rtrl_speed", upstream_rtrl.upstream_rtrl_speed, "rtrl_moe/train.py",
          upstream_rtrl.UPSTREAM_COMMIT, "upstream_rtrl", "moe", upstream_rtrl.DOCS_CONFIG,
          dict(seq_len=128, blocks=5, warmup=1),
          files=RTRL_FILES + ("moe.py", "upstream.py", "flops.py", "bench/timing.py"),
          units=TIMED_RTRL + ("model.moe",),
          timeout_s=1200),
    Piece("selftest", selftest.selftest, "(none: the runner's own test piece)", "", "selftest",
          "none", {}, dict(crash=False), timeout_s=60),
)}

#: the `protocols` preset: every documented experiment, cheap ones first (not the self-test)
PRESET = ("anbn_classify9", "anbn_classify9_lr1e2", "haystack8_bptt", "proof_untrained_trials",
          "demo_memory_advantage", "demo_extreme_short", "benchmark_memory_short",
          "tree_speed_haystack", "train_anbn_bptt", "tree_speed_anbn_10steps", "haystack8_rtrl",
          "train_anbn_rtrl", "rnn_vs_moe_rtrl_128", "upstream_exactness")


def units_of_config(config: dict) -> list[str]:
    """The units a protocol record measured (``rtrl_moe.records.versions``)."""
    if config.get("kind") != "protocol" or config.get("protocol") not in PIECES:
        return []
    return PIECES[config["protocol"]].units_for(config.get("arch", "upstream"))


def piece(name: str) -> Piece:
    if name not in PIECES:
        raise ValueError(f"unknown protocol piece {name!r}; choose from {', '.join(PIECES)}")
    return PIECES[name]
