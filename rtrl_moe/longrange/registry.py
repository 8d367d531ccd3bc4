"""The `longrange` preset: every point as plain data, and every rule fixed here before any data.

**Task.** Delayed recall (``tasks.DelayedRecall``): 8 symbols (chance 1/8 = 12.5%), 4 distractor
tokens, a query; delays D in :data:`DELAYS`; ``B`` = :data:`BATCH` staggered streams.

**Budget.** Every point trains on the same :data:`TOKENS` = BATCH x STEPS tokens (a token is one
step of one stream), Adam at :data:`LR`, :data:`SEEDS`. Online updates (``learner.online``) by
default: ``every`` = :data:`EVERY` means an optimizer step every EVERY steps of the B streams
(EVERY x B tokens), the state and the sensitivities carried across updates. Truncated BPTT's
window cannot outlive an update (``learner.online`` collects, which detaches the state), so
tbptt at window k updates every k steps: TBPTT(k, k). Full BPTT (``bptt``) is the
non-streaming reference: one gradient per batch of aligned episodes, memory growing with D.

**Held out.** :data:`EVAL_STREAMS` x :data:`EVAL_EPISODES_PER_STREAM` episodes from the
held-out seed; a point *solves* D when its held-out accuracy is at least :data:`SOLVED`
(the report's rule, ``rtrl_moe.report.longrange``).

**Models.** The element-wise cell (``rtrl_moe.lru``, H 64), the tanh RNN (hidden 32) and the
MoE at the frontier's small size (d_model 16, 4 slots, 4 experts, top-2, read 2, write 2,
d_ff 32). Each learner runs on the model it is defined for; truncated BPTT and BPTT run on all
three (the same model as each constant-memory learner it is compared with).

**Time.** One core (nice 19) for about 80 minutes in all. Each point first times
:data:`CALIBRATION_STEPS` steps; when the whole budget would take longer than
:data:`POINT_CAP_S` it stops there, with its memory and ms/token measured, and is stored as
``skipped`` ("not run: over the preset's time budget, est. N s"); the other seeds and delays of
that learner are then stored the same way from that estimate without being started. The plan,
from per-step costs (16 streams) measured on this machine over 256 steps before the preset ran:

=============================  ======  ===========  ==================  ================
points                          count   ms / step    est. s per point    total
=============================  ======  ===========  ==================  ================
lru: lru-rtrl, tbptt x3, bptt     75    0.3-0.4      ~7 + ~4 start       ~14 min
rnn: rflo, tbptt x3, bptt         75    0.2-0.3      ~4 + ~4             ~10 min
moe: tbptt x3, bptt               60    ~2           ~33 + ~4 (+ eval)   ~40 min
rnn: uoro                         15    0.6          ~10 + ~4            ~4 min
rnn: snap-1, snap-2               30    ~13          ~210: over the cap  ~1 min (1 each)
moe: sparse-rtrl, tree, rtrl      45    >= 24        >= 400: over cap    ~2 min (1 each)
=============================  ======  ===========  ==================  ================

about 70 minutes in all. The cap (60 s) was set from these costs, before any accuracy was seen;
one sanity point (lru-rtrl, D = 16, seed 0) was run end to end before the preset to check the
pipeline, and no rule was changed after it.

Learners marked :data:`WAITING` (the ones being rewritten: MoE RTRL family, snap, uoro) are
run only once :data:`LEARNERS_FINAL` exists; otherwise they are stored as not run with that
reason (``run --waiting record``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from .tasks import DelayedRecall

DELAYS = (16, 64, 256, 1024, 4096)
SEEDS = (0, 1, 2)
BATCH = 16
STEPS = 16384
TOKENS = BATCH * STEPS
LR = 3e-3
EVERY = 16
TBPTT_K = (16, 64, 256)
N_SYMBOLS = 8
N_DISTRACTORS = 4
EVAL_STREAMS = 64
EVAL_EPISODES_PER_STREAM = 2
SOLVED = 0.9
WARMUP_STEPS = 4
CALIBRATION_STEPS = 64
ACCOUNT_STEPS = 512
POINT_CAP_S = 60.0
#: per-point subprocess limit: the cap, the accounting pass and the held-out scoring
TIMEOUT_S = 900.0
#: the file the lead engineer creates when the rewritten learners are final
LEARNERS_FINAL = "/tmp/learners_final"

MODELS = {
    "lru": ("lru", dict(hidden=64, d_ff=64)),
    "rnn": ("rnn", dict(hidden=32, cell="tanh")),
    "moe": ("moe", dict(d_model=16, n_slots=4, n_experts=4, topk=2, topk_read=2, topk_write=2,
                        d_ff=32)),
}
#: (learner, model) pairs, cheap ones first
LEARNERS = (("lru-rtrl", "lru"), ("tbptt", "lru"), ("bptt", "lru"),
            ("rflo", "rnn"), ("tbptt", "rnn"), ("bptt", "rnn"),
            ("tbptt", "moe"), ("bptt", "moe"),
            ("snap-1", "rnn"), ("snap-2", "rnn"), ("uoro", "rnn"),
            ("sparse-rtrl", "moe"), ("tree-rtrl", "moe"), ("rtrl", "moe"))
#: learners whose code the lead engineer is rewriting: measured on the final code only
WAITING = frozenset({"snap-1", "snap-2", "uoro", "rtrl", "sparse-rtrl", "tree-rtrl"})


@dataclass(frozen=True)
class Point:
    model: str
    learner: str
    delay: int
    seed: int
    k: int | None = None        # tbptt's window

    @property
    def label(self) -> str:
        """The learner as the report names it: ``tbptt-64``, ``lru-rtrl``, ..."""
        return f"{self.learner}-{self.k}" if self.k is not None else self.learner

    @property
    def family(self) -> str:
        """(model, learner label): the points that share a per-token cost."""
        return f"{self.model}/{self.label}"

    @property
    def key(self) -> str:
        return f"longrange|{self.family}|D={self.delay}|seed={self.seed}"

    @property
    def mode(self) -> str:
        return "episode" if self.learner == "bptt" else "online"

    @property
    def every(self) -> int:
        if self.learner == "tbptt":
            return int(self.k)
        return EVERY

    @property
    def waits(self) -> bool:
        return self.learner in WAITING

    def learner_kwargs(self) -> dict:
        return {"k": self.k} if self.k is not None else {}

    def config(self) -> dict:
        """The record's ``config``."""
        model_type, model = MODELS[self.model]
        return {"kind": "longrange", "label": "longrange", "learner": self.learner,
                "learner_label": self.label, "learner_kwargs": self.learner_kwargs(),
                "model_type": model_type, "model": dict(model), "task": "delayed-recall",
                "task_kwargs": {"delay": self.delay, "n_symbols": N_SYMBOLS,
                                "n_distractors": N_DISTRACTORS},
                "delay": self.delay, "seed": self.seed, "batch": BATCH, "steps": STEPS,
                "tokens": TOKENS, "lr": LR, "every": self.every, "mode": self.mode,
                "eval_episodes": EVAL_STREAMS * EVAL_EPISODES_PER_STREAM,
                "cap_s": POINT_CAP_S, "dtype": "float32", "device": "cpu", "threads": 1}

    def to_dict(self) -> dict:
        return asdict(self)


def preset(delays=DELAYS, seeds=SEEDS) -> list[Point]:
    """Every point, cheap learners first; within a learner, short delays and seed 0 first (so
    the first point of a family is the one its cost estimate comes from)."""
    pts = []
    for learner, model in LEARNERS:
        ks = TBPTT_K if learner == "tbptt" else (None,)
        for k in ks:
            for seed in seeds:
                for D in delays:
                    pts.append(Point(model, learner, D, seed, k))
    return pts


def task_of(point: Point, batch: int = BATCH) -> DelayedRecall:
    return DelayedRecall(delay=point.delay, n_symbols=N_SYMBOLS, n_distractors=N_DISTRACTORS,
                         batch=batch, seed=point.seed)


def build_model(name: str, task, seed: int):
    """The point's model, weights from ``torch.manual_seed(seed)``, sized to the task."""
    import torch

    import rtrl_moe as rm
    from rtrl_moe.lru import LRUConfig, RecurrentLRU
    model_type, over = MODELS[name]
    cfg_cls, model_cls = {"lru": (LRUConfig, RecurrentLRU), "rnn": (rm.RNNConfig, rm.RecurrentRNN),
                          "moe": (rm.MoEConfig, rm.RecurrentMoE)}[model_type]
    torch.manual_seed(seed)
    return model_cls(cfg_cls(d_in=task.d_in, d_out=task.d_out, **over))


def model_files(name: str) -> tuple:
    """Package-relative source files a model depends on."""
    return {"lru": ("lru.py",), "rnn": ("rnn.py",), "moe": ("moe.py",)}[MODELS[name][0]]
