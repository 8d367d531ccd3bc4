"""Point configuration: what one measurement point is.

A :class:`PointConfig` names everything that identifies one point of the conventions
(learner, model config, task, T, batch, dtype, device, seed) plus how to measure it
(kind, repeats, warm-up, memory budget, training steps).  It is plain data: it can be
written to JSON (:meth:`PointConfig.to_dict`) and read back (:meth:`PointConfig.from_dict`),
which is how a point travels to its worker subprocess and how presets and points files are
written.

``point_key`` is a stable hash of the fields that define the point (everything except the
free-text ``label`` and ``timeout_s``); a sweep uses it, with the commit and the machine id, to skip points
already stored.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Optional

from ..build import DTYPES, MODEL_TYPES, SpecError

KINDS = ("measure", "agree", "train")
#: Adam's learning rate where a point names none
DEFAULT_LR = 1e-3
#: env var that must be set to "1" for a worker to honour ``PointConfig.test_hook``
TEST_HOOK_ENV = "RTRL_MOE_BENCH_TEST_HOOKS"
TEST_HOOKS = ("oom", "crash", "hang", "raise")
#: fields that do not change what is measured (left out of :meth:`PointConfig.key`)
NOT_IDENTITY = ("label", "timeout_s")


class ConfigError(SpecError):
    """A point configuration that cannot be run (unknown field, bad value)."""


@dataclass
class PointConfig:
    """One measurement point.

    kind:            "measure" (memory + time of a training step over the whole sequence),
                     "agree" (gradient agreement with bptt) or "train" (task quality).
    learner:         a name from ``rtrl_moe.LEARNERS``.
    learner_kwargs:  extra keyword arguments of ``make_learner`` (``k`` for tbptt, ``n`` ...).
    model_type:      "moe" (``RecurrentMoE``) or "rnn" (``RecurrentRNN``).
    model:           overrides of the model config's fields (``MoEConfig`` / ``RNNConfig``);
                     ``d_in``/``d_out`` come from the task.  The stored record holds the full
                     resolved config dict.
    task, task_kwargs: ``make_task`` name and extra keyword arguments.
    seq_len, batch, dtype, device, seed: as in the conventions.
    budget_mb:       memory budget (CUDA: per-process memory fraction; CPU: address-space
                     limit of baseline + budget, set after imports and model construction).
    repeats, warmup: timed repeats (median/IQR reported; 0 = a memory-only point whose time
                     fields are null) and untimed warm-up steps (>= 1; the first warm-up step
                     is the memory-accounting pass).
    steps, lr, eval_every: training length, Adam learning rate and curve spacing ("train").
    threads:         ``torch.set_num_threads`` in the worker (None: torch's default).
    track_steps:     where the learner uses torch.func (saved-tensor hooks refused), track live
                     tensors over the first ``track_steps`` steps only (None: all of them); the
                     learner state is still sampled at every step of the whole sequence.
    tensor_tracking: "hooks" (autograd saved-tensor hooks), "live" (every live tensor through a
                     dispatch mode) or "auto": hooks, except "live" for learners whose saved
                     tensors hooks cannot see (ckpt-bptt: torch.utils.checkpoint's own hooks
                     hide the recomputed segment) or where torch.func refuses hooks.
    matmul:          also measure the plain ``torch.bmm`` throughput of the sensitivity shape.
    label:           free text for grouping in reports (not part of the point's identity).
    timeout_s:       the point's timeout in a sweep (not part of the point's identity).
    test_hook:       test-only failure injection, honoured only when the environment variable
                     ``RTRL_MOE_BENCH_TEST_HOOKS=1`` is set in the worker.
    """

    kind: str = "measure"
    learner: str = "bptt"
    learner_kwargs: dict = field(default_factory=dict)
    model_type: str = "moe"
    model: dict = field(default_factory=dict)
    task: str = "anbn"
    task_kwargs: dict = field(default_factory=dict)
    seq_len: int = 64
    batch: int = 1
    dtype: str = "float32"
    device: str = "cpu"
    seed: int = 0
    budget_mb: Optional[float] = None
    repeats: int = 5
    warmup: int = 1
    steps: Optional[int] = None
    lr: Optional[float] = None
    eval_every: Optional[int] = None
    threads: Optional[int] = None
    track_steps: Optional[int] = None
    tensor_tracking: str = "auto"
    matmul: bool = True
    label: Optional[str] = None
    timeout_s: Optional[float] = None
    test_hook: Optional[str] = None

    def __post_init__(self) -> None:
        self.validate()

    # -- validation -------------------------------------------------------------------------
    def validate(self) -> None:
        """Check the fields that need no library import; raise :class:`ConfigError`."""
        if self.kind not in KINDS:
            raise ConfigError(f"unknown kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        if self.model_type not in MODEL_TYPES:
            raise ConfigError(f"unknown model_type {self.model_type!r}; expected one of "
                              f"{', '.join(MODEL_TYPES)}")
        if self.dtype not in DTYPES:
            raise ConfigError(f"unknown dtype {self.dtype!r}; expected one of {', '.join(DTYPES)}")
        if not (self.device == "cpu" or self.device.startswith("cuda")):
            raise ConfigError(f"unknown device {self.device!r}; expected cpu or cuda[:N]")
        for name in ("seq_len", "batch", "repeats"):
            v = getattr(self, name)
            low = 0 if name == "repeats" else 1
            if not isinstance(v, int) or isinstance(v, bool) or v < low:
                raise ConfigError(f"{name} must be an integer >= {low}, got {v!r}")
        if self.track_steps is not None and (not isinstance(self.track_steps, int)
                                             or self.track_steps < 1):
            raise ConfigError(f"track_steps must be a positive integer, got {self.track_steps!r}")
        if not isinstance(self.warmup, int) or self.warmup < 1:
            raise ConfigError(f"warmup must be an integer >= 1 (the first warm-up step is the "
                              f"memory pass), got {self.warmup!r}")
        if self.budget_mb is not None and not self.budget_mb > 0:
            raise ConfigError(f"budget_mb must be > 0, got {self.budget_mb!r}")
        if self.kind == "train":
            if not self.steps or self.steps < 1:
                raise ConfigError("kind 'train' needs steps >= 1")
        if self.tensor_tracking not in ("auto", "hooks", "live"):
            raise ConfigError(f"tensor_tracking must be auto, hooks or live, got "
                              f"{self.tensor_tracking!r}")
        if self.test_hook is not None and self.test_hook not in TEST_HOOKS:
            raise ConfigError(f"unknown test_hook {self.test_hook!r}")
        for name in ("learner_kwargs", "model", "task_kwargs"):
            if not isinstance(getattr(self, name), dict):
                raise ConfigError(f"{name} must be a dict")

    # -- (de)serialisation ------------------------------------------------------------------
    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "PointConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown PointConfig field(s): {', '.join(unknown)}")
        return cls(**d)

    def replace(self, **kw: Any) -> "PointConfig":
        return dataclasses.replace(self, **kw)

    def key(self) -> str:
        """Stable identity of the point (all fields but ``label`` and ``timeout_s``)."""
        d = self.to_dict()
        for k in NOT_IDENTITY:
            d.pop(k, None)
        blob = json.dumps(d, sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha1(blob.encode()).hexdigest()[:16]

    def short(self) -> str:
        """One-line description for progress output."""
        extra = "".join(f" {k}={v}" for k, v in sorted(self.model.items()))
        lk = "".join(f" {k}={v}" for k, v in sorted(self.learner_kwargs.items()))
        b = f" budget={self.budget_mb}MB" if self.budget_mb else ""
        return (f"{self.kind} {self.learner}{lk} {self.model_type}{extra} {self.task} "
                f"T={self.seq_len} B={self.batch} {self.dtype} {self.device} seed={self.seed}{b}")
