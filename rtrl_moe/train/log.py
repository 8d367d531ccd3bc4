"""What a training run leaves behind: metrics.csv (and TensorBoard when it imports), and the
resource figures each row carries."""
from __future__ import annotations

import csv
import os
import resource
import sys
from pathlib import Path

import torch

CSV_FIELDS = ("step", "update", "tokens", "loss", "accuracy", "n_targets", "eval_loss",
              "eval_accuracy", "state_bytes", "rss_peak_bytes", "cuda_max_allocated_bytes",
              "elapsed_s")


def rss_peak_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB


def cuda_peak_bytes(device: torch.device) -> int | None:
    return torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None


class MetricsLog:
    """metrics.csv (appended to on resume) and, when it imports, TensorBoard.

    ``keep_steps``: on a resume from step N, rows of later steps (written after the checkpoint
    by the run that stopped) are dropped first, so no step appears twice."""

    def __init__(self, log_dir: Path, keep_steps: int | None = None):
        log_dir.mkdir(parents=True, exist_ok=True)
        path = log_dir / "metrics.csv"
        if keep_steps is not None and path.exists():
            _drop_rows_after(path, keep_steps)
        new = not path.exists() or path.stat().st_size == 0
        self._file = open(path, "a", newline="")
        self._csv = csv.DictWriter(self._file, fieldnames=CSV_FIELDS)
        if new:
            self._csv.writeheader()
        self._tb = None
        try:
            from torch.utils.tensorboard import SummaryWriter
            self._tb = SummaryWriter(str(log_dir))
        except Exception:  # tensorboard not installed: the CSV is the record
            pass

    def write(self, row: dict) -> None:
        self._csv.writerow({k: ("" if row.get(k) is None else row[k]) for k in CSV_FIELDS})
        self._file.flush()
        if self._tb is not None:
            x = row["tokens"]
            for key in ("loss", "accuracy", "eval_loss", "eval_accuracy", "state_bytes"):
                if row.get(key) is not None:
                    self._tb.add_scalar(key, row[key], x)

    def close(self) -> None:
        self._file.close()
        if self._tb is not None:
            self._tb.close()


def _drop_rows_after(path: Path, step: int) -> None:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    kept = [r for r in rows if r.get("step", "").isdigit() and int(r["step"]) <= step]
    if len(kept) == len(rows):
        return
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        w.writeheader()
        w.writerows({k: r.get(k, "") for k in CSV_FIELDS} for r in kept)
    os.replace(tmp, path)


def progress_line(row: dict, steps: int) -> str:
    line = (f"step {row['step']}/{steps} loss {row['loss']:.4f} acc {row['accuracy']:.3f} "
            f"state {row['state_bytes']} B rss_peak {row['rss_peak_bytes'] / 2**20:.1f} MiB")
    if row["cuda_max_allocated_bytes"] is not None:
        line += f" cuda_peak {row['cuda_max_allocated_bytes'] / 2**20:.1f} MiB"
    if row.get("eval_loss") is not None:
        line += f" eval_loss {row['eval_loss']:.4f} eval_acc {row['eval_accuracy']:.3f}"
    return line


class NoBar:
    """Stands in for tqdm where it is not installed."""

    def __init__(self, **_):
        pass

    def update(self, n=1):
        pass

    def set_postfix(self, **_):
        pass

    def close(self):
        pass
