"""rtrl_moe.bench: the measurement harness (memory, time, work, gradient agreement, quality).

It follows ``../shared/conventions.md``, writes records of ``docs/RESULTS.md`` and reaches the
library only through its public API (``docs/API.md``).

Python API (used by the asv suite and the tests)::

    from rtrl_moe.bench import PointConfig, run_point, run_point_isolated, measure_agreement
    cfg = PointConfig(kind="measure", learner="sparse-rtrl", seq_len=256, model={"d_model": 8})
    rec = run_point(cfg)                             # in this process -> results record (dict)
    rec = run_point_isolated(cfg, timeout_s=600)     # in a fresh subprocess (crash/oom/timeout
                                                     #   become statuses)
    m = measure_agreement("tree-rtrl", 64, dtype="float64")   # metrics dict, in-process
    df = load_results("results/")                    # pandas DataFrame, one row per record
    run_sweep(get_preset("quick"), "results/quick.jsonl")      # resumable sweep

Layers, top down (docs/ARCHITECTURE.md): ``__main__`` (the command line) -> ``sweep`` (a list
of points, resume) -> ``worker`` (a point in a fresh subprocess: timeout, crash, OOM) ->
``point`` (one point in this process) -> ``kinds`` (measure / agree / train) -> ``spec`` (a
PointConfig to library objects through ``rtrl_moe.build``), ``budget``, ``probes`` (tensors,
RSS, GPU) and ``timing``. ``config`` (PointConfig) and ``presets`` are plain data. Records are
written through ``rtrl_moe.records``.
"""
from ..records import SCHEMA_VERSION, ResultsError, append_record, load_results, read_records
from .config import ConfigError, PointConfig
from .kinds.agree import measure_agreement
from .point import execute, run_point
from .presets import PRESETS, get_preset
from .sweep import run_sweep
from .worker import run_point_isolated

__all__ = ["ConfigError", "PRESETS", "PointConfig", "ResultsError", "SCHEMA_VERSION",
           "append_record", "execute", "get_preset", "load_results", "measure_agreement",
           "read_records", "run_point", "run_point_isolated", "run_sweep"]
