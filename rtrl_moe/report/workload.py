"""What each claim is judged on, declared before the data: its Workload (which records) and its
Rule (which figure, which tolerance, what makes it PARTIAL).

A claim's check only ever sees the records of its workload (``Workload.select``), so every
number its row shows, the H x P arithmetic included, comes from that one workload.  Records of
more than one model config for one (task, model type) inside a workload are never pooled:
``one_config`` names them and the claim says ERROR instead of a verdict (tests raise).

The documents' model (document 000's MoEConfig defaults; 003: "State dimension H: 128 = 32 * 4")
is DOC: d_model 32, 4 slots, 4 experts, top-2, read 2, write 2, d_ff 64.  The documents never
state d_ff; 64 (2 x d_model) is the reading the `docs` preset measures.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import pandas as pd

from .data import col, model_field, num
from .evidence import CONFIRMED, NOT_MEASURED, NOT_SUPPORTED, PARTIAL, REFUTED

DOC = {"d_model": 32, "n_slots": 4, "n_experts": 4, "topk": 2, "topk_read": 2, "topk_write": 2,
       "d_ff": 64}
#: model keys that are a property of the task, not of the model config (anbn and haystack
#: differ in input/output width) or of the harness (chunk)
TASK_KEYS = ("d_in", "d_out", "chunk")


class PoolingError(ValueError):
    """Records of more than one model config inside one claim's workload."""


@dataclass(frozen=True)
class Workload:
    """Which records a claim is judged on.  None = not restricted (said so in ``as_dict``)."""
    labels: tuple | None            # preset labels (config.label); None: any preset
    model: dict | None = None       # subset match on config.model; None: any (arithmetic-only claims)
    model_type: tuple = ("moe",)
    kinds: tuple | None = None      # config.kind
    learners: tuple | None = None
    tasks: tuple | None = None
    lengths: str = "all measured"   # documentary: the checks pick lengths by their rule
    batch: int | None = 1
    dtype: str | None = None
    seeds: str = "all measured"
    other_models: dict = field(default_factory=dict)   # model_type -> config, e.g. the RNN arm
    note: str = ""

    def select(self, df: pd.DataFrame) -> pd.DataFrame:
        if len(df) == 0:
            return df
        m = pd.Series(True, index=df.index)
        if self.labels is not None:
            m &= col(df, "config.label").isin(list(self.labels))
        if self.kinds is not None:
            m &= col(df, "config.kind").isin(list(self.kinds))
        if self.learners is not None:
            m &= col(df, "config.learner").isin(list(self.learners))
        if self.tasks is not None:
            m &= col(df, "config.task").isin(list(self.tasks))
        if self.batch is not None:
            m &= num(df, "config.batch").fillna(1) == self.batch
        if self.dtype is not None:
            m &= col(df, "config.dtype").fillna("float32") == self.dtype
        mt = col(df, "config.model_type").fillna("moe")
        arms = {t: (self.model if t == "moe" else self.other_models.get(t)) for t in self.model_type}
        arm_ok = pd.Series(False, index=df.index)
        for t, cfg in arms.items():
            ok = mt == t
            for k, v in (cfg or {}).items():
                ok &= pd.to_numeric(model_field(df, k), errors="coerce") == v if not isinstance(v, str) \
                    else model_field(df, k) == v
            arm_ok |= ok
        return df[m & arm_ok]

    def as_dict(self) -> dict:
        return {"preset_labels": list(self.labels) if self.labels is not None else "any",
                "model": dict(self.model) if self.model is not None else "any",
                "model_type": list(self.model_type),
                **({"other_models": {k: v for k, v in self.other_models.items()}} if self.other_models else {}),
                "kinds": list(self.kinds) if self.kinds else "any",
                "learners": list(self.learners) if self.learners else "any",
                "tasks": list(self.tasks) if self.tasks else "any",
                "lengths": self.lengths, "batch": self.batch if self.batch is not None else "any",
                "dtype": self.dtype or "any", "seeds": self.seeds,
                **({"note": self.note} if self.note else {})}

    def describe(self) -> str:
        d = self.as_dict()
        return "; ".join(f"{k}: {json.dumps(v) if isinstance(v, (dict, list)) else v}" for k, v in d.items())


def one_config(df: pd.DataFrame) -> list:
    """[] when the records hold one model config per (task, model type); else a line per clash."""
    if len(df) == 0:
        return []
    out = []
    keyed = df["_model"].map(lambda s: json.dumps({k: v for k, v in json.loads(s).items() if k not in TASK_KEYS},
                                                  sort_keys=True))
    groups = pd.DataFrame({"task": col(df, "config.task").astype(str),
                           "mt": col(df, "config.model_type").fillna("moe").astype(str), "cfg": keyed})
    for (task, mt), g in groups.groupby(["task", "mt"], sort=True):
        cfgs = sorted(set(g["cfg"]))
        if len(cfgs) > 1:
            out.append(f"{mt} on {task}: {len(cfgs)} model configs ({' vs '.join(cfgs)})")
    return out


def config_label(df: pd.DataFrame) -> pd.Series:
    """Per row, its model config as text (task-dependent keys left out): the unit a figure or a
    claim row may show, one at a time.  The documents' config sorts first (prefix '0')."""
    if len(df) == 0:
        return pd.Series([], dtype=object)
    mt = col(df, "config.model_type").fillna("moe").astype(str)
    short = {"d_model": "d_model", "n_slots": "slots", "n_experts": "experts", "topk": "top", "topk_read": "read",
             "topk_write": "write", "d_ff": "d_ff", "hidden": "hidden", "cell": "cell"}

    def one(t, s):
        m = {k: v for k, v in json.loads(s).items() if k not in TASK_KEYS}
        doc = t == "moe" and all(m.get(k) == v for k, v in DOC.items())
        body = " ".join(f"{short.get(k, k)}={v}" for k, v in sorted(m.items()))
        return f"{'0' if doc else '1'}{t} {body}{' (the documents' + chr(39) + ' config)' if doc else ''}"
    return pd.Series([one(t, s) for t, s in zip(mt, df["_model"])], index=df.index, dtype=object)


# ---------------------------------------------------------------- rules
ORDER = {REFUTED: 0, PARTIAL: 1, CONFIRMED: 2}


@dataclass(frozen=True)
class Rule:
    """How a claim is decided.  With a documented figure, measured/documented must lie in
    ``band`` to be CONFIRMED; in ``near`` it is at best PARTIAL; outside ``near`` at best
    ``far`` (REFUTED unless the rule says the figure is a secondary part of the claim)."""
    metric: str
    text: str
    documented: float | None = None
    unit: str | None = None
    band: tuple = (0.5, 2.0)
    near: tuple | None = (0.1, 10.0)
    far: str = REFUTED
    partial: str = ""

    def cap(self, verdict: str, ratio: float | None) -> tuple[str, str | None]:
        """The verdict the magnitude allows: (verdict, why it was lowered or None)."""
        if verdict in (NOT_MEASURED, NOT_SUPPORTED) or ratio is None or self.documented is None or not math.isfinite(ratio):
            return verdict, None
        lo, hi = self.band
        if lo <= ratio <= hi:
            return verdict, None
        cap = PARTIAL if self.near and self.near[0] <= ratio <= self.near[1] else self.far
        if ORDER[verdict] <= ORDER[cap]:
            return verdict, None
        return cap, (f"measured/documented = {ratio:.3g}, outside the band {lo:g}..{hi:g}: at best {cap} "
                     f"by the declared rule")

    def as_text(self) -> str:
        t = f"metric: {self.metric}. {self.text}"
        if self.documented is not None:
            t += (f" Magnitude: measured/documented in {self.band[0]:g}..{self.band[1]:g} for CONFIRMED"
                  + (f"; in {self.near[0]:g}..{self.near[1]:g} at best PARTIAL" if self.near else "")
                  + f"; otherwise at best {self.far}.")
        if self.partial:
            t += f" PARTIAL: {self.partial}"
        return t
