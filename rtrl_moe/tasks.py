"""Synthetic sequence tasks: a^n b^n counting, haystack retrieval, and an endless stream.

Every task is a sequence of integer tokens, fed to the model one token per step as a one-hot
float32 vector of size ``task.d_in``. Each step may carry a target class in ``0..d_out-1`` or
``-100`` (no target; ignored by the loss, as in ``F.cross_entropy(..., ignore_index=-100)``).
**Accuracy** is the fraction of steps *with a target* where the argmax of the model's logits
equals the target. ``task.chance_accuracy`` is the expected accuracy of the best predictor that
sees only the current input token (no memory of earlier ones), over long sequences: a model
must beat it to show that it uses its recurrent state.

The rows of a batch are independent sequences. ``batch()`` and ``stream()`` give the same data;
``stream()`` builds it step by step with O(batch_size) state, so a 10^6-token sequence costs no
more memory than a 10-token one. The data depends only on (task name, ``seed``, ``index``):
``index`` (default 0) picks one of many independent batches, so a training loop can ask for
batch ``index=step`` and resume exactly; negative indices are a convenient held-out set.

anbn  (kw ``len_max_a``, default 8)
    Vocabulary a=0, b=1, E=2 (end); d_in = d_out = 3. Each row is the strings a^n b^n E
    concatenated, with a fresh n uniform in 1..len_max_a per string, cut at seq_len (a row
    starts at the beginning of a string). The target at a step is the *next* token, given only
    where it is determined by what came before: at steps whose input is b (the next token is b
    while b's remain, then E). Steps with input a or E have no target (after an a, whether
    another a or the first b follows is random). With m = (len_max_a + 1) / 2 the mean n,
    targets are b with probability (m - 1) / m and E with probability 1 / m, so
    chance_accuracy = max(1 - 1/m, 1/m) (7/9 = 0.778 for len_max_a = 8): predicting "b" after
    every b, without counting, already scores that much.

haystack  (kw ``n_keys`` 4, ``n_distractors`` 8, ``key_pos`` 0)
    Vocabulary: keys 0..n_keys-1, distractors n_keys..n_keys+n_distractors-1, QUERY (last);
    d_in = n_keys + n_distractors + 1, d_out = n_keys. Each row: a key, uniform over the keys,
    at position key_pos; QUERY at the last position T-1; every other position a distractor,
    uniform and independent. The only target is at T-1: the key. One target per row;
    chance_accuracy = 1 / n_keys. Needs seq_len >= key_pos + 2.

stream  (kw ``lag`` 16, ``n_content`` 8, ``marker_prob`` 0.1, ``cue`` True)
    Vocabulary: content 0..n_content-1, MARKER = n_content, QUERY = n_content + 1;
    d_in = n_content + 2, d_out = n_content. Meant for any length (10^4 .. 10^6+ tokens).
    Each row runs a small automaton. Idle: emit MARKER with probability marker_prob, else a
    uniform content token. The step after a MARKER emits the *payload*, a uniform content
    token, at position q. Positions q+1 .. q+lag-1 are uniform content tokens (no MARKER while
    a payload is pending, so payloads never overlap); at q+lag the target is the payload and
    the input is QUERY if ``cue`` (the model knows when to answer) or another content token if
    not (it must count lag steps). Then idle again. All other steps have no target;
    chance_accuracy = 1 / n_content. On average one target per 1/marker_prob + lag + 1 steps;
    a payload still pending at the end of the sequence has no target.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import ClassVar, Iterator

import torch
import torch.nn.functional as F

TASKS = ("anbn", "haystack", "stream")
IGNORE = -100  # target value meaning "no target at this step"


def _check_int(name: str, value, minimum: int) -> None:
    # bool is an int subclass; True as a length is always a mistake.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


@dataclass(frozen=True)
class _Task:
    """Shared shape, seeding and batch/stream plumbing; subclasses define the token process."""

    seq_len: int
    batch_size: int
    seed: int = 0

    name: ClassVar[str] = ""

    def __post_init__(self) -> None:
        _check_int("seq_len", self.seq_len, 1)
        _check_int("batch_size", self.batch_size, 1)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")

    # -- what subclasses provide ------------------------------------------------------------
    d_in: ClassVar[int]
    d_out: ClassVar[int]

    def _tokens(self, gen: torch.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield seq_len pairs (input token [B] long, target [B] long)."""
        raise NotImplementedError

    @property
    def chance_accuracy(self) -> float:
        raise NotImplementedError

    # -- public -----------------------------------------------------------------------------
    def options(self) -> dict:
        """The task's own keyword options (what make_task accepts beyond the shape)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name not in ("seq_len", "batch_size", "seed")}

    def generator(self, index: int = 0) -> torch.Generator:
        # Hash (name, seed, index) so that nearby seeds and indices give unrelated streams
        # (seed + index arithmetic would make seed 1/index 0 equal seed 0/index 1).
        digest = hashlib.sha256(f"{self.name}:{self.seed}:{index}".encode()).digest()
        gen = torch.Generator(device="cpu")
        gen.manual_seed(int.from_bytes(digest[:8], "little") & ((1 << 63) - 1))
        return gen

    def stream(self, index: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield seq_len pairs (x_t [B, 1, d_in] float32 one-hot, y_t [B] long)."""
        for tok, target in self._tokens(self.generator(index)):
            yield F.one_hot(tok, self.d_in).to(torch.float32).unsqueeze(1), target

    def batch(self, index: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """(x [B, T, d_in] float32 one-hot, y [B, T] long): stream(index) stacked."""
        xs, ys = zip(*self.stream(index))
        return torch.cat(xs, dim=1), torch.stack(ys, dim=1)


@dataclass(frozen=True)
class AnBnTask(_Task):
    len_max_a: int = 8

    name: ClassVar[str] = "anbn"
    #: of its token process (rtrl_moe/records/versions.py)
    VERSIONS: ClassVar[dict] = {"task.anbn": 1}
    d_in: ClassVar[int] = 3
    d_out: ClassVar[int] = 3
    A: ClassVar[int] = 0
    B: ClassVar[int] = 1
    END: ClassVar[int] = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_int("len_max_a", self.len_max_a, 1)

    @property
    def chance_accuracy(self) -> float:
        mean_n = (self.len_max_a + 1) / 2
        return max(1 - 1 / mean_n, 1 / mean_n)

    def _tokens(self, gen):
        size = (self.batch_size,)
        n = torch.randint(1, self.len_max_a + 1, size, generator=gen)
        pos = torch.zeros(size, dtype=torch.long)  # position inside the current a^n b^n E
        for _ in range(self.seq_len):
            tok = torch.where(pos < n, self.A, torch.where(pos < 2 * n, self.B, self.END))
            in_b_run = (pos >= n) & (pos < 2 * n)
            following = torch.where(pos + 1 < 2 * n, self.B, self.END)
            target = torch.where(in_b_run, following, IGNORE)
            # Draw every step, used or not, so the random sequence never depends on branches.
            fresh_n = torch.randint(1, self.len_max_a + 1, size, generator=gen)
            pos = pos + 1
            finished = pos > 2 * n
            n = torch.where(finished, fresh_n, n)
            pos = torch.where(finished, 0, pos)
            yield tok, target


@dataclass(frozen=True)
class HaystackTask(_Task):
    n_keys: int = 4
    n_distractors: int = 8
    key_pos: int = 0

    name: ClassVar[str] = "haystack"
    #: of its token process (rtrl_moe/records/versions.py)
    VERSIONS: ClassVar[dict] = {"task.haystack": 1}

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_int("n_keys", self.n_keys, 1)
        _check_int("n_distractors", self.n_distractors, 1)
        _check_int("key_pos", self.key_pos, 0)
        if self.key_pos + 2 > self.seq_len:
            raise ValueError(f"haystack needs seq_len >= key_pos + 2 (a key and a query), "
                             f"got seq_len={self.seq_len}, key_pos={self.key_pos}")

    @property
    def d_in(self) -> int:
        return self.n_keys + self.n_distractors + 1

    @property
    def d_out(self) -> int:
        return self.n_keys

    @property
    def query(self) -> int:
        return self.n_keys + self.n_distractors

    @property
    def chance_accuracy(self) -> float:
        return 1 / self.n_keys

    def _tokens(self, gen):
        size = (self.batch_size,)
        key = torch.randint(0, self.n_keys, size, generator=gen)
        no_target = torch.full(size, IGNORE, dtype=torch.long)
        last = self.seq_len - 1
        for t in range(self.seq_len):
            distractor = torch.randint(self.n_keys, self.query, size, generator=gen)
            if t == self.key_pos:
                yield key, no_target
            elif t == last:
                yield torch.full(size, self.query, dtype=torch.long), key
            else:
                yield distractor, no_target


@dataclass(frozen=True)
class StreamTask(_Task):
    lag: int = 16
    n_content: int = 8
    marker_prob: float = 0.1
    cue: bool = True

    name: ClassVar[str] = "stream"
    #: of its token process (rtrl_moe/records/versions.py)
    VERSIONS: ClassVar[dict] = {"task.stream": 1}
    IDLE: ClassVar[int] = 0
    PAYLOAD_NEXT: ClassVar[int] = 1
    PENDING: ClassVar[int] = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_int("lag", self.lag, 1)
        _check_int("n_content", self.n_content, 1)
        if not isinstance(self.marker_prob, (int, float)) or isinstance(self.marker_prob, bool) \
                or not 0 < self.marker_prob <= 1:
            raise ValueError(f"marker_prob must be a number in (0, 1], got {self.marker_prob!r}")
        if not isinstance(self.cue, bool):
            raise ValueError(f"cue must be True or False, got {self.cue!r}")

    @property
    def d_in(self) -> int:
        return self.n_content + 2

    @property
    def d_out(self) -> int:
        return self.n_content

    @property
    def marker(self) -> int:
        return self.n_content

    @property
    def query(self) -> int:
        return self.n_content + 1

    @property
    def chance_accuracy(self) -> float:
        return 1 / self.n_content

    def _tokens(self, gen):
        size = (self.batch_size,)
        mode = torch.full(size, self.IDLE, dtype=torch.long)
        remaining = torch.zeros(size, dtype=torch.long)  # steps until the recall, when PENDING
        payload = torch.zeros(size, dtype=torch.long)
        for _ in range(self.seq_len):
            content = torch.randint(0, self.n_content, size, generator=gen)
            coin = torch.rand(size, generator=gen)
            is_marker = (mode == self.IDLE) & (coin < self.marker_prob)
            is_payload = mode == self.PAYLOAD_NEXT
            pending = mode == self.PENDING
            is_recall = pending & (remaining == 1)

            tok = torch.where(is_marker, self.marker, content)
            if self.cue:
                tok = torch.where(is_recall, self.query, tok)
            target = torch.where(is_recall, payload, IGNORE)
            yield tok, target

            payload = torch.where(is_payload, content, payload)
            remaining = torch.where(is_payload, self.lag, torch.where(pending, remaining - 1,
                                                                      remaining))
            mode = torch.where(is_marker, self.PAYLOAD_NEXT,
                               torch.where(is_payload, self.PENDING,
                                           torch.where(is_recall, self.IDLE, mode)))


_CLASSES = {cls.name: cls for cls in (AnBnTask, HaystackTask, StreamTask)}


def task_options(name: str) -> dict:
    """Default keyword options of task `name` (for help texts and config checks)."""
    cls = _task_class(name)
    shape = ("seq_len", "batch_size", "seed")
    return {f.name: f.default for f in dataclasses.fields(cls) if f.name not in shape}


def _task_class(name: str):
    if name not in _CLASSES:
        raise ValueError(f"unknown task {name!r}; valid tasks: {', '.join(TASKS)}")
    return _CLASSES[name]


def make_task(name: str, seq_len: int, batch_size: int, seed: int = 0, **kw) -> _Task:
    """Build task `name` (one of TASKS) with sequences of seq_len tokens in batches of batch_size.

    Extra keywords are the task's options (see the module docstring); an unknown one is a
    ValueError naming the valid ones.
    """
    cls = _task_class(name)
    valid = task_options(name)
    unknown = sorted(set(kw) - set(valid))
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(unknown)} for task {name!r}; "
                         f"valid: {', '.join(valid) or 'none'}")
    return cls(seq_len=seq_len, batch_size=batch_size, seed=seed, **kw)
