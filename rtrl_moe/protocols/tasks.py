"""The scripts' tasks, as they sampled them (the bench's tasks are different problems).

* ``AnbnClassify``: one sequence ``a^n b^m`` (``n, m`` in ``1..max_n``), label 1 when ``n == m``.
  Half the draws are positive (``m = n``), half negative (``m`` uniform over the other values),
  so chance is 50%. quick_verify.py / test_small_moe.py use ``max_n = 3``: 9 distinct inputs
  (``anbn_classify9``); train_anbn.py uses ``len_max_a = 8``: 64 inputs.
* ``haystack_tokens``: the scripts' haystack: BOS, filler, KEY, value, SEP, filler, Q; the label
  is the value (``vocab - 4`` classes). The insertion point differs between scripts
  (``ins_rule``).
* ``random_tokens``: one-hot random tokens (the speed tests feed no target).
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import torch

A = (1.0, 0.0)
B = (0.0, 1.0)
BOS, KEY, SEP, Q, BASE = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class AnbnClassify:
    max_n: int = 3

    @property
    def chance(self) -> float:
        return 0.5

    def sample(self, rng: random.Random) -> tuple[torch.Tensor, int]:
        """``(x [n + m, 2], label)``, drawn as the scripts' ``make_seq`` draws it."""
        n = rng.randint(1, self.max_n)
        if rng.random() < 0.5:
            m, label = n, 1
        else:
            m, label = rng.choice([k for k in range(1, self.max_n + 1) if k != n]), 0
        return self.encode(n, m), label

    @staticmethod
    def encode(n: int, m: int) -> torch.Tensor:
        return torch.tensor([A] * n + [B] * m)

    def inputs(self) -> list[tuple[int, int, int, float]]:
        """Every distinct input: ``(n, m, label, probability of drawing it)``."""
        k = self.max_n
        out = []
        for n in range(1, k + 1):
            for m in range(1, k + 1):
                p = 0.5 / k if n == m else 0.5 / k / (k - 1)
                out.append((n, m, int(n == m), p))
        return out


def haystack_tokens(seq_len: int, vocab: int, rng: random.Random,
                    ins_rule: str = "verify") -> tuple[list[int], int]:
    """One haystack sequence of ``seq_len`` token ids and its label (the value, 0-based).

    ``ins_rule``: ``"verify"`` (verify_haystack.py, test_proof_infinite_seq.py:
    ``randrange(1, max(2, T - 5))``) or ``"extreme"`` (demo_extreme.py:
    ``randrange(1, min(T - 17, 1000))``)."""
    k = rng.randrange(vocab - BASE)
    if ins_rule == "verify":
        ins = rng.randrange(1, max(2, seq_len - 5))
    elif ins_rule == "extreme":
        ins = rng.randrange(1, min(seq_len - 17, 1000))
    else:
        raise ValueError(f"unknown ins_rule {ins_rule!r}")
    seq = [BOS]
    while len(seq) < ins:
        seq.append(rng.randrange(BASE, vocab))
    seq += [KEY, BASE + k, SEP]
    while len(seq) < seq_len - 1:
        seq.append(rng.randrange(BASE, vocab))
    seq.append(Q)
    return seq, k


def one_hot(tokens, vocab: int) -> torch.Tensor:
    """``[1, T, vocab]`` float32 of a token list."""
    return torch.nn.functional.one_hot(torch.tensor([tokens]), vocab).float()


def random_tokens(n: int, vocab: int, rng: random.Random) -> list[int]:
    return [rng.randrange(vocab) for _ in range(n)]
