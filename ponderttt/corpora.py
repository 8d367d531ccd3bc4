"""The three data sets of the pretrained-backbone experiments, as token chunks of a backbone's
own tokenizer.

* ``stdlib-train`` / ``stdlib-heldout``: the interpreter's standard library (``.py`` files,
  site-packages excluded), split by file with ``data.stdlib_files`` (sha1 of the relative path:
  ~10 % held out, fixed across runs), files in sorted path order joined by a newline;
* ``go``: out of distribution, Go's own standard library sources from Debian's
  ``golang-1.19-src`` (``/usr/share/go-1.19/src``, ``.go`` files outside ``testdata``, sorted;
  ``scripts/ponder_data.sh`` installs the package);
* ``synthetic``: the seed's random ids, uniform in [0, 10000) from a seeded generator.

A stream is tokenized file by file until it holds enough tokens, then cut into consecutive
chunks, so chunk i + 1 continues chunk i (what a carried state needs).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch

from .data import stdlib_files

DATASETS = ("stdlib-train", "stdlib-heldout", "go", "synthetic")
GO_SRC = Path("/usr/share/go-1.19/src")
SYNTHETIC_VOCAB = 10_000     # the seed's synthetic ids are drawn from [0, 10000)
SYNTHETIC_SEED = 20_240


#: behaviour version (rtrl_moe.records.versions): bump when the data sets' token chunks changes
VERSIONS = {"ponder.data": 1}


def go_files(root: Path = GO_SRC) -> list[Path]:
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is missing: run scripts/ponder_data.sh (installs "
                                "Debian's golang-1.19-src)")
    return [p for p in sorted(root.rglob("*.go")) if "testdata" not in p.relative_to(root).parts]


def files_of(name: str) -> list[Path]:
    if name == "stdlib-train":
        return stdlib_files("train")
    if name == "stdlib-heldout":
        return stdlib_files("heldout")
    if name == "go":
        return go_files()
    raise ValueError(f"{name!r} is not a file data set; choose one of {', '.join(DATASETS)}")


def token_chunks(name: str, tokenize: Callable[[str], torch.Tensor], n_chunks: int,
                 chunk_size: int, vocab_size: int | None = None) -> torch.Tensor:
    """(n_chunks, chunk_size) consecutive chunks of data set ``name``; ValueError when it is
    shorter. ``synthetic`` ignores ``tokenize`` (ids < min(10000, vocab_size))."""
    n = n_chunks * chunk_size
    if name == "synthetic":
        g = torch.Generator().manual_seed(SYNTHETIC_SEED)
        hi = SYNTHETIC_VOCAB if vocab_size is None else min(SYNTHETIC_VOCAB, vocab_size)
        return torch.randint(0, hi, (n,), generator=g).view(n_chunks, chunk_size)
    parts, have = [], 0
    for p in files_of(name):
        ids = tokenize(p.read_text(encoding="utf-8", errors="replace") + "\n")
        parts.append(ids)
        have += ids.numel()
        if have >= n:
            break
    if have < n:
        raise ValueError(f"{name} holds {have} tokens, {n} asked for")
    return torch.cat(parts)[:n].view(n_chunks, chunk_size)
