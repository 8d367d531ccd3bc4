"""Token streams: uniform random tokens, or the interpreter's own standard library as code.

``synthetic``: uniform over the 50257 GPT-2 ids from a seeded generator (the document's random
tokens; a model cannot beat ln 50257 = 10.825 nats on them).

``stdlib`` (``--use_real_data``): The Stack is gated and cannot be reached here, and GPT-2's BPE
files cannot be fetched, so the real code is the running interpreter's standard library
(``sysconfig.get_paths()["stdlib"]``), its ``.py`` files (site-packages excluded) in sorted
path order, concatenated with a newline between files and tokenized byte-level: each UTF-8 byte
becomes GPT-2's own single-byte token (ids 0..255, in the order of GPT-2's byte-to-unicode
table, so a real GPT-2 checkpoint reads each id as the byte it is). A file belongs to the
held-out split when the first byte of sha1(its relative path) is below 26 (about 10 %): fixed
across runs and machines with the same Python, independent of file order.
"""
from __future__ import annotations

import hashlib
import sysconfig
from functools import lru_cache
from pathlib import Path

import torch

from .config import VOCAB_SIZE

SPLITS = ("heldout", "train")
HELDOUT_BELOW = 26  # of 256: ~10 % of files


@lru_cache(maxsize=1)
def byte_to_token() -> torch.Tensor:
    """(256,) GPT-2 id of each byte, from the library's byte-to-unicode table (its key order is
    the order of the first 256 entries of GPT-2's vocabulary: '!' is 0, '\\n' 198, ' ' 220)."""
    from transformers.convert_slow_tokenizer import bytes_to_unicode
    order = list(bytes_to_unicode().keys())
    table = torch.empty(256, dtype=torch.long)
    table[torch.tensor(order)] = torch.arange(256)
    return table


def synthetic_tokens(n_tokens: int, seed: int = 0, vocab: int = VOCAB_SIZE) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab, (n_tokens,), generator=g)


def stdlib_files(split: str = "heldout", root: str | Path | None = None) -> list[Path]:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    base = Path(root or sysconfig.get_paths()["stdlib"])
    out = []
    for p in sorted(base.rglob("*.py")):
        rel = p.relative_to(base).as_posix()
        if "site-packages" in rel or "dist-packages" in rel:
            continue
        held = hashlib.sha1(rel.encode()).digest()[0] < HELDOUT_BELOW
        if held == (split == "heldout"):
            out.append(p)
    return out


def stdlib_tokens(n_tokens: int, split: str = "heldout", root: str | Path | None = None) -> torch.Tensor:
    """The first ``n_tokens`` byte tokens of the split; ValueError if it is shorter."""
    buf = bytearray()
    for p in stdlib_files(split, root):
        buf += p.read_bytes() + b"\n"
        if len(buf) >= n_tokens:
            break
    if len(buf) < n_tokens:
        raise ValueError(f"the {split} split of the standard library has {len(buf)} bytes, "
                         f"{n_tokens} asked for")
    raw = torch.frombuffer(bytearray(buf[:n_tokens]), dtype=torch.uint8).long()
    return byte_to_token()[raw]


def make_tokens(n_tokens: int, *, real: bool = False, seed: int = 0, split: str = "heldout") -> torch.Tensor:
    """The CLI's data: stdlib code when ``real`` else synthetic (the seed only matters there)."""
    return stdlib_tokens(n_tokens, split) if real else synthetic_tokens(n_tokens, seed)
