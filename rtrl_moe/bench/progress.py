"""A sweep's progress with an ETA: a tqdm bar on a terminal, plain lines everywhere else.

nox, CI and logs give the sweep no terminal, so the ETA must live in the plain lines too: the
caller puts :meth:`Progress.eta` into each point's start line. Points differ by 30x in cost (a
3 s agreement check beside a 100 s dense-RTRL timing), so counting points would mislead: each
point is weighed by what it cost when last measured (:func:`recorded_seconds`, the ``wall_s``
of a stored record with the same point key, e.g. the committed results of the preset), and the
weights still ahead are scaled by how this machine's finished points compare with their own
recorded times. A point never measured weighs the median of those that were (all weigh the
same when none was, and the ETA is then by count), until a point of its group (the same config
but the seed) has run here: then it is expected to take what that one took.
"""
from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import IO, Iterable, Optional, Sequence


def recorded_seconds(files: Iterable, keys: Optional[set] = None) -> dict:
    """``{point_key: median wall_s}`` of the records in ``files`` (those that exist). Lines are
    read as plain JSON, unchecked, and a line or file that does not read is passed over: an
    estimate is never worth failing a sweep over (the sweep's own reader checks ``out``).
    ``keys`` limits it to those points."""
    import json
    found: dict = {}
    for f in files:
        try:
            lines = Path(f).read_bytes().splitlines() if f else []
        except OSError:
            continue
        for raw in lines:
            try:
                rec = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(rec, dict):
                continue
            key, wall = rec.get("point_key"), rec.get("wall_s")
            if isinstance(key, str) and isinstance(wall, (int, float)) \
                    and (keys is None or key in keys):
                found.setdefault(key, []).append(float(wall))
    return {k: statistics.median(v) for k, v in found.items()}


def weights_for(points: Sequence, recorded: dict) -> list:
    """Each point's expected seconds: its recorded time, else the median recorded time (1.0
    each when nothing is recorded)."""
    keys = [p.key() for p in points]
    known = [recorded[k] for k in keys if k in recorded]
    default = statistics.median(known) if known else 1.0
    return [recorded.get(k, default) for k in keys]


def fmt_duration(seconds: float) -> str:
    s = int(round(max(0.0, seconds)))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class Progress:
    """``line(text)`` prints a line (above the bar on a terminal); ``advance()`` after each
    point (``skipped=True`` when it was not run); ``eta()`` the time still expected, as text.

    ``weights``: the points' expected seconds, in the order they are advanced (default: one
    each, the ETA by count); ``known``: which of them come from a record (only those tell this
    machine's pace; default: all); ``groups``: a label per point (e.g. its config without the
    seed) -- once a point of a group ran, the group's later points are expected to take what it
    took, which beats any recorded guess."""

    def __init__(self, stream: IO[str], total: int, weights: Optional[Sequence[float]] = None,
                 known: Optional[Sequence[bool]] = None, groups: Optional[Sequence] = None):
        self.stream = stream
        self.total = total
        self.weighted = weights is not None
        self.weights = list(weights) if weights is not None else [1.0] * total
        self.known = list(known) if known is not None else [True] * len(self.weights)
        self.groups = list(groups) if groups is not None else list(range(len(self.weights)))
        self.took: dict = {}         # group -> seconds its points took here
        self.done = 0
        self.expected_done = 0.0     # sum of the recorded weights of the points run so far
        self.spent = 0.0             # their measured seconds
        self.t_last = time.perf_counter()
        self.bar = None
        if getattr(stream, "isatty", lambda: False)():
            try:
                from tqdm import tqdm
                self.bar = tqdm(total=total, file=stream, unit="point", dynamic_ncols=True,
                                bar_format="{percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                                           "[{elapsed}<{desc}]")
                self.bar.set_description_str(self._eta_text(), refresh=False)
            except ImportError:
                pass

    def _remaining_s(self) -> Optional[float]:
        if self.expected_done > 0:
            pace = self.spent / self.expected_done
        elif self.weighted:
            pace = 1.0               # nothing run yet: the recorded times as they are
        elif not self.took:
            return None
        else:                        # no records: the mean time of a point so far
            pace = statistics.mean(t for ts in self.took.values() for t in ts)
        left = 0.0
        for i in range(self.done, len(self.weights)):
            seen = self.took.get(self.groups[i])
            left += statistics.median(seen) if seen else self.weights[i] * pace
        return left

    def _eta_text(self) -> str:
        left = self._remaining_s()
        return "?" if left is None else fmt_duration(left)

    def estimate(self) -> str:
        """The whole sweep's expected time before it starts, as text ("" when unknown)."""
        left = self._remaining_s()
        return "" if left is None or self.done else fmt_duration(left)

    def eta(self) -> str:
        """``"ETA 2m10s"``: the expected time to the end of the sweep."""
        return f"ETA {self._eta_text()}"

    def line(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def advance(self, skipped: bool = False) -> None:
        now = time.perf_counter()
        i = self.done
        if not skipped and i < len(self.weights):
            took = now - self.t_last
            self.took.setdefault(self.groups[i], []).append(took)
            if self.weighted and self.known[i]:
                self.expected_done += self.weights[i]
                self.spent += took
        self.t_last = now
        self.done += 1
        if self.bar is not None:
            self.bar.set_description_str(self._eta_text(), refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
