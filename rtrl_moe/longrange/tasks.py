"""Tasks whose dependency length is a parameter: delayed recall, and copy with a curriculum.

Both are streams of ``(x_t [B, 1, d_in], y_t [B])`` pairs (one-hot inputs, ``IGNORE`` where a
step has no target), generated on the fly so no per-step tensor is held, for any length.

**Delayed recall** (:class:`DelayedRecall`). An episode is ``D + 2`` steps: a symbol (one of
``n_symbols``), ``D`` distractors (drawn uniformly from ``n_distractors`` tokens of their own),
then a query token; the target at the query is the symbol, and no other step has one. The
symbol-to-query distance is ``D + 1`` steps. Chance accuracy is ``1 / n_symbols`` (the symbol is
uniform and independent of everything else in the episode). In training the ``B`` streams are
staggered (each starts at a random step of an episode whose query it does not score), so the
targets are spread over time; episodes follow each other with the state carried across.

**Held-out episodes** come from a separate seed (``split="heldout"``): the generator of a split
is seeded with ``(seed, split)`` so no training stream shares its draws; for D >= 8 the chance
that a held-out episode repeats a training one is under ``n_distractors^-D`` per pair.

**Copy** (:class:`CopyTask`, :class:`Curriculum`). An episode shows ``L`` symbols, a delimiter,
then ``L`` blank steps whose targets are the symbols in order: output j depends on the input
``L + 1`` steps back. With a :class:`Curriculum`, ``L`` starts at ``l_min`` and doubles (up to
``l_max``) each time the accuracy over the last ``window`` targets reaches ``threshold``; the
learner reports its hits with :meth:`Curriculum.report`. Chance is ``1 / n_symbols``.
"""
from __future__ import annotations

import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import Iterator

import torch

IGNORE = -100
SPLITS = ("train", "heldout")


def split_generator(seed: int, split: str, salt: str = "") -> torch.Generator:
    """A generator of its own for each (seed, split): the splits never share a draw."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    key = zlib.crc32(f"{salt}|{split}".encode())
    return torch.Generator().manual_seed(int(seed) * 1_000_003 + key)


@dataclass(frozen=True)
class DelayedRecall:
    delay: int
    n_symbols: int = 8
    n_distractors: int = 4
    batch: int = 16
    seed: int = 0

    def __post_init__(self):
        for name in ("delay", "n_symbols", "n_distractors", "batch"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < (0 if name == "delay" else 1):
                raise ValueError(f"DelayedRecall.{name} must be a "
                                 f"{'non-negative' if name == 'delay' else 'positive'} integer, "
                                 f"got {v!r}")
        if self.n_symbols < 2:
            raise ValueError("DelayedRecall needs at least 2 symbols (else there is nothing to "
                             "recall)")

    @property
    def d_in(self) -> int:
        return self.n_symbols + self.n_distractors + 1

    @property
    def d_out(self) -> int:
        return self.n_symbols

    @property
    def query_token(self) -> int:
        return self.n_symbols + self.n_distractors

    @property
    def chance_accuracy(self) -> float:
        return 1.0 / self.n_symbols

    @property
    def episode_len(self) -> int:
        return self.delay + 2

    def stream(self, n_steps: int, split: str = "train", stagger: bool | None = None,
               batch: int | None = None, salt: str = "") -> Iterator[tuple[torch.Tensor,
                                                                        torch.Tensor]]:
        """``n_steps`` steps of ``batch`` (default ``self.batch``) parallel streams.
        ``stagger`` (default: True in training, False held out) starts each stream at a random
        step of an episode; an episode entered after its symbol has no scored query. ``salt``
        gives a stream of its own within the split (a curriculum stage, a memory probe)."""
        if n_steps < 0:
            raise ValueError(f"n_steps must be >= 0, got {n_steps}")
        g = split_generator(self.seed, split, "delayed-recall" + (f"|{salt}" if salt else ""))
        B = self.batch if batch is None else int(batch)
        stagger = split == "train" if stagger is None else stagger
        E = self.episode_len
        pos = (torch.randint(0, E, (B,), generator=g) if stagger
               else torch.zeros(B, dtype=torch.long))
        valid = pos == 0                           # saw this episode's symbol
        symbol = torch.zeros(B, dtype=torch.long)
        eye = torch.eye(self.d_in)
        for _ in range(n_steps):
            draw_sym = torch.randint(0, self.n_symbols, (B,), generator=g)
            draw_dis = self.n_symbols + torch.randint(0, self.n_distractors, (B,), generator=g)
            start = pos == 0
            symbol = torch.where(start, draw_sym, symbol)
            valid = valid | start
            query = pos == E - 1
            token = torch.where(start, draw_sym, torch.where(query, self.query_token, draw_dis))
            y = torch.where(query & valid, symbol, torch.full_like(symbol, IGNORE))
            yield eye[token].unsqueeze(1), y
            pos = (pos + 1) % E

    def heldout_stream(self, episodes_per_stream: int, batch: int):
        """The held-out stream: ``batch`` aligned streams of ``episodes_per_stream`` episodes
        each, from the held-out seed; every query is scored."""
        return self.stream(episodes_per_stream * self.episode_len, "heldout", stagger=False,
                           batch=batch)


@dataclass
class Curriculum:
    """Copy length schedule: double ``length`` (up to ``l_max``) once the accuracy over the
    last ``window`` reported targets is at least ``threshold``."""
    l_min: int = 2
    l_max: int = 64
    threshold: float = 0.9
    window: int = 256
    length: int = 0
    _hits: deque = field(default_factory=deque, repr=False)

    def __post_init__(self):
        if not (1 <= self.l_min <= self.l_max):
            raise ValueError(f"Curriculum needs 1 <= l_min <= l_max, got {self.l_min}, "
                             f"{self.l_max}")
        if not (0 < self.threshold <= 1) or self.window < 1:
            raise ValueError("Curriculum needs 0 < threshold <= 1 and window >= 1")
        self.length = self.length or self.l_min
        self._hits = deque(maxlen=self.window)

    def report(self, correct: int, n: int) -> None:
        self._hits.extend([1] * int(correct) + [0] * (int(n) - int(correct)))
        if (len(self._hits) == self.window and self.length < self.l_max
                and sum(self._hits) >= self.threshold * self.window):
            self.length = min(2 * self.length, self.l_max)
            self._hits.clear()


@dataclass(frozen=True)
class CopyTask:
    length: int = 4
    n_symbols: int = 8
    batch: int = 1
    seed: int = 0

    def __post_init__(self):
        if self.length < 1 or self.n_symbols < 2 or self.batch < 1:
            raise ValueError("CopyTask needs length >= 1, n_symbols >= 2, batch >= 1")

    @property
    def d_in(self) -> int:
        return self.n_symbols + 2          # symbols, delimiter, blank

    @property
    def d_out(self) -> int:
        return self.n_symbols

    @property
    def chance_accuracy(self) -> float:
        return 1.0 / self.n_symbols

    def stream(self, n_steps: int, split: str = "train", curriculum: Curriculum | None = None):
        """``n_steps`` steps; episodes aligned across the batch; with a curriculum, each
        episode's length is the curriculum's length when it starts."""
        g = split_generator(self.seed, split, "copy")
        B, S = self.batch, self.n_symbols
        eye = torch.eye(self.d_in)
        delim, blank = S, S + 1
        t = 0
        while t < n_steps:
            L = curriculum.length if curriculum is not None else self.length
            syms = torch.randint(0, S, (B, L), generator=g)
            for j in range(2 * L + 1):
                if t >= n_steps:
                    return
                if j < L:
                    tok, y = syms[:, j], torch.full((B,), IGNORE, dtype=torch.long)
                elif j == L:
                    tok, y = torch.full((B,), delim), torch.full((B,), IGNORE, dtype=torch.long)
                else:
                    tok, y = torch.full((B,), blank), syms[:, j - L - 1]
                yield eye[tok].unsqueeze(1), y
                t += 1
