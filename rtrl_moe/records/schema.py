"""The results record's schema: its version, required fields, statuses, validation.

See docs/RESULTS.md. :func:`validate_record` is the one check every writer and reader applies;
it names the file and line of a bad record through :class:`ResultsError`. The friendly checks
(is it a record of ours, which schema) come first; then the JSON Schema in
``record.schema.json`` checks the types (``jsonschema``): a record whose ``tensor_bytes_peak``
is a string, or a ``measure`` record without ``learner`` or ``seq_len``, never reaches a report.
"""
from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional, Union

SCHEMA_VERSION = 1
STATUSES = ("ok", "oom", "timeout", "error", "skipped")
#: what a record measured: the bench's three kinds, PonderTTT's chunked runs, and a documented
#: experiment re-run as its script ran it (rtrl_moe.protocols), a long-range credit-assignment
#: point (rtrl_moe.longrange)
KINDS = ("measure", "agree", "train", "ponder", "protocol", "longrange")
REQUIRED = ("schema", "run_id", "commit", "created", "machine", "config", "status", "metrics")

CONFIG_FIELDS = ("kind", "learner", "learner_kwargs", "model_type", "model", "task",
                 "task_kwargs", "seq_len", "batch", "dtype", "device", "seed", "budget_mb",
                 "repeats", "warmup", "steps", "lr", "eval_every", "threads", "label")
MACHINE_FIELDS = ("machine_id", "hostname", "cpu", "cores", "ram_bytes", "gpu", "gpu_driver",
                  "cuda", "torch", "python", "platform")
METRIC_FIELDS = (
    # measure
    "tensor_bytes_peak", "tensor_bytes_params", "tensor_bytes_grads", "tensor_bytes_optimizer",
    "tensor_bytes_learner_state", "tensor_bytes_saved_peak", "rss_peak", "rss_baseline",
    "cuda_allocated_peak", "cuda_reserved_peak", "nvml_used_peak", "nvml_context_bytes",
    "nvml_source", "time_step_median_ns", "time_step_iqr_ns", "time_step_ns",
    "time_per_token_ns", "threads", "sensitivity_flops_per_step", "sensitivity_ns_per_step",
    "sensitivity_flops_per_s", "matmul_flops_per_s", "matmul_fraction", "loss", "accuracy",
    "n_params", "n_state_params", "H",
    # agree
    "rel_err", "max_abs_err", "cosine", "per_param",
    # train
    "final_loss", "final_accuracy", "curve", "time_total_s",
)
BASE_COLUMNS = (["schema", "run_id", "commit", "dirty", "created", "status", "message",
                 "point_key", "wall_s"]
                + [f"machine.{k}" for k in MACHINE_FIELDS]
                + [f"config.{k}" for k in CONFIG_FIELDS]
                + [f"metrics.{k}" for k in METRIC_FIELDS]
                + ["record", "source_file", "source_line"])


class ResultsError(ValueError):
    """A results file that cannot be read: names the file and (1-based) line."""

    def __init__(self, path: Union[str, Path], line: Optional[int], reason: str):
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")



def sanitize(obj: Any) -> Any:
    """JSON-safe copy: non-finite floats -> None, tuples -> lists, numpy/torch scalars -> py."""
    if isinstance(obj, dict):
        return {str(k): sanitize(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [sanitize(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    item = getattr(obj, "item", None)
    if callable(item):
        try:
            return sanitize(item())
        except Exception:
            pass
    return str(obj)


def validate_record(rec: Any, path: Union[str, Path, None], line: Optional[int]) -> dict:
    p = path if path is not None else "<record>"
    if not isinstance(rec, dict):
        raise ResultsError(p, line, f"expected a JSON object, got {type(rec).__name__}")
    if "schema" not in rec:
        raise ResultsError(p, line, "not an rtrl_moe bench record (no 'schema' field)")
    if rec["schema"] != SCHEMA_VERSION:
        raise ResultsError(p, line, f"unknown schema {rec['schema']!r} (this reader knows "
                                    f"schema {SCHEMA_VERSION})")
    missing = [k for k in REQUIRED if k not in rec]
    if missing:
        raise ResultsError(p, line, f"record lacks required field(s): {', '.join(missing)}")
    if rec["status"] not in STATUSES:
        raise ResultsError(p, line, f"unknown status {rec['status']!r}")
    for k in ("machine", "config", "metrics"):
        if not isinstance(rec[k], dict):
            raise ResultsError(p, line, f"field {k!r} must be an object")
    if rec["config"].get("kind") not in KINDS:
        raise ResultsError(p, line, f"unknown config.kind {rec['config'].get('kind')!r}")
    errors = sorted(_validator().iter_errors(rec), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        where = ".".join(str(k) for k in e.absolute_path) or "record"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ResultsError(p, line, f"{where}: {e.message}{more}")
    return rec


@lru_cache(maxsize=1)
def _validator():
    import jsonschema
    schema = json.loads((Path(__file__).parent / "record.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema)
