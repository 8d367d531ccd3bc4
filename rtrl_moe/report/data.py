"""Reading results/ into one DataFrame, and small accessors on it.

The report reads records only through their own reader
(``rtrl_moe.records.load_results``), which rejects a malformed line or an unknown schema
with the file and line; the report lets that error propagate.
"""
from __future__ import annotations

import json
import math
from dataclasses import astuple, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from rtrl_moe.records import load_results, result_files

#: memory fields, in the order the figures show them: (column, label)
MEMORY_FIELDS = (
    ("metrics.tensor_bytes_peak", "tensor bytes, peak (all the learner holds)"),
    ("metrics.tensor_bytes_saved_peak", "tensor bytes saved for backward, peak"),
    ("metrics.tensor_bytes_learner_state", "learner state (sensitivities, buffers)"),
    ("metrics.rss_peak", "process RSS above baseline, peak"),
    ("metrics.cuda_allocated_peak", "CUDA allocated, peak"),
    ("metrics.cuda_reserved_peak", "CUDA reserved, peak"),
    ("metrics.nvml_used_peak", "NVML used, peak"),
)

RTRL_ALL = ("rtrl", "sparse-rtrl", "tree-rtrl")
PEAK = "metrics.tensor_bytes_peak"
SAVED = "metrics.tensor_bytes_saved_peak"
STATE = "metrics.tensor_bytes_learner_state"
TSTEP = "metrics.time_step_median_ns"
TIQR = "metrics.time_step_iqr_ns"

ITEMSIZE = {"float64": 8, "double": 8, "float32": 4, "float": 4, "float16": 2,
            "bfloat16": 2, "half": 2}


def load(results_dir) -> tuple[pd.DataFrame, str]:
    """All records under results_dir as one DataFrame (sorted deterministically)."""
    p = Path(results_dir)
    if not p.is_dir():
        raise FileNotFoundError(f"results directory {str(p)!r} does not exist")
    if not result_files(p):
        return pd.DataFrame(), "none (no *.jsonl files)"
    # the records' own reader: its errors name the file and line; they propagate
    import warnings

    from rtrl_moe.records import ResultsWarning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResultsWarning)   # named in the report instead
        df = load_results(p)
    loader = "rtrl_moe.records.load_results"
    partial = df.attrs.get("partial_lines") or []
    if partial:   # never silently: the report says which partial last lines it skipped
        loader += (f" (skipped {len(partial)} partial last line(s), a writer stopped "
                   f"mid-line: {', '.join(Path(x).name for x in partial)})")
    return normalise(df), loader


def normalise(df: pd.DataFrame) -> pd.DataFrame:
    """Sort deterministically and add helper columns (names start with '_')."""
    if df is None or len(df) == 0:
        return pd.DataFrame()
    df = df.reset_index(drop=True)
    keys = [c for c in ("created", "run_id", "config.kind", "config.learner", "config.task")
            if c in df.columns]
    if keys:
        k = df[keys].astype(str)
        for c in ("config.seq_len", "config.seed"):
            if c in df.columns:
                k[c] = pd.to_numeric(df[c], errors="coerce").fillna(-1)
        order = k.sort_values(list(k.columns), kind="mergesort").index
        df = df.loc[order].reset_index(drop=True)
    if "_source" not in df.columns:
        if "source_file" in df.columns:
            df["_source"] = [f"{Path(str(f)).name}:{int(n) if n == n else '?'}" for f, n in
                             zip(df["source_file"], pd.to_numeric(df["source_line"], errors="coerce"))]
        else:
            df["_source"] = ""
    df["_model"] = _nested(df, "config.model").map(_json)
    df["_kw"] = _nested(df, "config.learner_kwargs").map(_json)
    dm = pd.to_numeric(model_field(df, "d_model"), errors="coerce")
    ns = pd.to_numeric(model_field(df, "n_slots"), errors="coerce")
    mt = col(df, "config.model_type").astype(object).fillna("moe")
    df["_doc"] = ((dm == 32) & (ns == 4) & (mt == "moe")).astype(bool)
    return df


# ---------------------------------------------------------------- accessors
def col(df: pd.DataFrame, name: str) -> pd.Series:
    if name in df.columns:
        return df[name]
    return pd.Series([None] * len(df), index=df.index, dtype=object)


def num(df: pd.DataFrame, name: str) -> pd.Series:
    return pd.to_numeric(col(df, name), errors="coerce").astype(float)


def _nested(df: pd.DataFrame, prefix: str) -> pd.Series:
    """Per row, the dict at `prefix` (a dict column, or flattened `prefix.*` columns)."""
    flat = sorted(c for c in df.columns if c.startswith(prefix + "."))
    out = []
    for i in df.index:
        d = {}
        if prefix in df.columns and isinstance(df.at[i, prefix], dict):
            d.update(df.at[i, prefix])
        for c in flat:
            v = df.at[i, c]
            if v is None or (isinstance(v, float) and math.isnan(v)):
                continue
            d[c[len(prefix) + 1:]] = v
        out.append(d)
    return pd.Series(out, index=df.index, dtype=object)


def model_field(df: pd.DataFrame, name: str) -> pd.Series:
    c = f"config.model.{name}"
    if c in df.columns:
        return df[c]
    return _nested(df, "config.model").map(lambda d: d.get(name))


def kwarg(df: pd.DataFrame, name: str) -> pd.Series:
    c = f"config.learner_kwargs.{name}"
    if c in df.columns:
        return df[c]
    return _nested(df, "config.learner_kwargs").map(lambda d: d.get(name))


def _canon(v):
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return _canon(float(v))
    return v


def _json(d: dict) -> str:
    return json.dumps({k: _canon(v) for k, v in d.items()}, sort_keys=True, default=str)


@dataclass(frozen=True, order=True)
class SeriesKey:
    """What a point was measured on, apart from learner, T and seed: points with equal keys form
    one series over T, and two learners with equal keys (and run) form a matched pair.

    Every field is text as the record gives it (batch as a float's text, model and kwargs as
    sorted JSON), so ``str(key)`` reads the same in the notes whatever the record's types."""
    machine_id: str
    device: str
    dtype: str
    batch: str
    task: str
    model_type: str
    model: str                      # config.model, sorted JSON
    kwargs: str | None = None       # config.learner_kwargs, sorted JSON (None: not part of the key)
    run_id: str | None = None       # None: not part of the key

    def __str__(self) -> str:
        return "|".join(v for v in astuple(self) if v is not None)

    @property
    def config(self) -> SeriesKey:
        """The key without the learner kwargs: the config that the learners' series share."""
        return replace(self, kwargs=None)

    @property
    def model_config(self) -> dict:
        try:
            return json.loads(self.model)
        except ValueError:
            return {}


def series_key(df: pd.DataFrame, with_kwargs: bool = True, with_run: bool = False) -> pd.Series:
    """Per row, its SeriesKey; kwargs and run_id are part of it only if asked for."""
    if len(df) == 0:
        return pd.Series([], dtype=object)
    model = df["_model"] if "_model" in df.columns else _nested(df, "config.model").map(_json)
    absent = [None] * len(df)
    keys = map(SeriesKey, col(df, "machine.machine_id").astype(str), col(df, "config.device").astype(str),
               col(df, "config.dtype").astype(str), num(df, "config.batch").astype(str),
               col(df, "config.task").astype(str), col(df, "config.model_type").fillna("moe").astype(str),
               model, kwargs_json(df) if with_kwargs else absent,
               col(df, "run_id").astype(str) if with_run else absent)
    return pd.Series(list(keys), index=df.index, dtype=object)


def doc_mask(df: pd.DataFrame) -> pd.Series:
    """Rows of the documents' config (MoE, d_model=32, n_slots=4)."""
    if "_doc" in df.columns:
        return df["_doc"].astype(bool)
    dm = pd.to_numeric(model_field(df, "d_model"), errors="coerce")
    ns = pd.to_numeric(model_field(df, "n_slots"), errors="coerce")
    return ((dm == 32) & (ns == 4) & (col(df, "config.model_type").fillna("moe") == "moe")).astype(bool)


def kwargs_json(df: pd.DataFrame) -> pd.Series:
    return df["_kw"] if "_kw" in df.columns else _nested(df, "config.learner_kwargs").map(_json)


def select(df: pd.DataFrame, *, kind=None, learner=None, task=None, status="ok", device=None,
           dtype=None, model_type=None, seq_len=None) -> pd.DataFrame:
    if len(df) == 0:
        return df
    m = pd.Series(True, index=df.index)

    def among(name, v, fill=None):
        c = col(df, name)
        if fill is not None:
            c = c.fillna(fill)
        vals = [v] if isinstance(v, (str, int, float)) else list(v)
        return c.isin(vals)

    for name, v, fill in (("config.kind", kind, None), ("config.learner", learner, None),
                          ("config.task", task, None), ("status", status, None),
                          ("config.device", device, None), ("config.dtype", dtype, None),
                          ("config.model_type", model_type, "moe")):  # no model_type: a MoE
        if v is not None:
            m &= among(name, v, fill)
    if seq_len is not None:
        vals = [seq_len] if isinstance(seq_len, (int, float)) else list(seq_len)
        m &= num(df, "config.seq_len").isin([float(v) for v in vals])
    return df[m]


def machine_label(df: pd.DataFrame) -> str:
    """Names of the machines the rows came from: CPU model, cores, GPU if any, and the machine
    id, so that two machines of the same CPU model can be told apart."""
    if len(df) == 0:
        return "no machine"
    labels = []
    for mid, g in df.groupby(col(df, "machine.machine_id").astype(str), sort=True):
        r = g.iloc[0]
        cpu = r.get("machine.cpu") or "unknown CPU"
        cores = r.get("machine.cores")
        gpu = r.get("machine.gpu")
        lab = str(cpu)
        if pd.notna(cores):
            lab += f" x{int(cores)}"
        if isinstance(gpu, str) and gpu:
            lab += f" + {gpu}"
        labels.append(f"{lab} [{mid}]")
    return "; ".join(sorted(set(labels)))


def itemsize(dtype) -> int:
    return ITEMSIZE.get(str(dtype), 4)


def record_staleness(rec) -> tuple:
    """(stale, why) of one raw record against the code beside the report: True when a unit it
    measured changed since, False when it is current, None when it cannot be told
    (``rtrl_moe.records.staleness``, cached per distinct versions/fingerprint)."""
    if not isinstance(rec, dict):
        return None, "no record"
    key = json.dumps([rec.get("code"), rec.get("versions"), (rec.get("config") or {}).get("kind")],
                     sort_keys=True, default=str)
    if key not in _STALE:
        _STALE[key] = _staleness(rec)
    return _STALE[key]


_STALE: dict = {}


def _staleness(rec: dict) -> tuple:
    from rtrl_moe.records import staleness
    return staleness(rec)


def code_version(df: pd.DataFrame, timing: bool = False) -> pd.Series:
    """Per row, the version of the code its record measured (behaviour versions where the record
    has them, else the library fingerprint): a series over T never mixes two of them. The
    versions of the timed path (``timing.*``) count only for a timed field (``timing``)."""
    def one(rec):
        if not isinstance(rec, dict):
            return "unknown"
        if isinstance(rec.get("versions"), dict):
            v = {k: x for k, x in rec["versions"].items() if timing or not k.startswith("timing.")}
            return json.dumps(v, sort_keys=True)
        code = rec.get("code")
        return str(code.get("library", "unknown")) if isinstance(code, dict) else "unknown"
    if "record" not in df.columns:
        return pd.Series(["unknown"] * len(df), index=df.index, dtype=object)
    return df["record"].map(one).astype(object)
