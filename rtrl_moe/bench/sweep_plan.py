"""What every sweep executor shares (the local loop in :mod:`.sweep`, Ray in :mod:`.executors`):
which points to run (:func:`plan`), the progress lines and bar, the errors, and SIGTERM
handling. Its own module so that neither executor imports the other's.
"""
from __future__ import annotations

import contextlib
import signal
import threading
import time
from typing import IO


class SweepError(RuntimeError):
    """A sweep that must not start (its file is locked by another sweep, or resuming would
    reuse records that cannot tell which code they measured)."""


class Stopped(KeyboardInterrupt):
    """SIGTERM of the sweep, raised like Ctrl-C so that the running worker is stopped."""


@contextlib.contextmanager
def sigterm_stops():
    def stop(signum, frame):
        raise Stopped()
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


class Progress:
    """A bar with an ETA on a terminal (tqdm); plain lines otherwise (logs, CI)."""

    def __init__(self, stream: IO[str], total: int):
        self.stream = stream
        self.bar = None
        if getattr(stream, "isatty", lambda: False)():
            try:
                from tqdm import tqdm
                self.bar = tqdm(total=total, file=stream, unit="point", dynamic_ncols=True,
                                bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} "
                                           "[{elapsed}<{remaining}]")
            except ImportError:
                pass

    def line(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def advance(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def plan(points, stored, retry_failed) -> list:
    """``(i, cfg, why_skipped or None)`` for each point in list order: a duplicate in the list
    or a point stored under the resume rule is skipped (shared by every executor)."""
    seen_keys: set = set()
    plan = []
    for i, cfg in enumerate(points, start=1):
        key = cfg.key()
        prev = stored.get(key)
        if key in seen_keys:
            why = "duplicate point in the list, skipped"
        elif prev is not None and not (retry_failed and prev in ("error", "timeout")):
            why = f"stored ({prev}), skipped"
        else:
            why = None
        seen_keys.add(key)
        plan.append((i, cfg, why))
    return plan


def start_line(bar, run_id, n, out, g, mach) -> None:
    bar.line(f"sweep {run_id}: {n} points -> {out} (commit {g['commit'][:12]}"
             f"{' dirty' if g.get('dirty') else ''}, machine {mach['machine_id']})")


def done_line(progress, run_id, summary, t_sweep) -> None:
    print(f"sweep {run_id} done: ran {summary['ran']}, skipped {summary['skipped']}, "
          f"statuses {summary['statuses']}, {time.perf_counter() - t_sweep:.0f}s",
          file=progress, flush=True)


def count(summary, rec) -> None:
    summary["ran"] += 1
    summary["statuses"][rec["status"]] = summary["statuses"].get(rec["status"], 0) + 1
