"""Backbone hidden states, computed once per (backbone, data set, chunk size) and cached.

The TTT-Linear mode never changes the backbone, so its final hidden states of a chunk are the
same for every action, seed and method: they are computed once and stored under the
git-ignored cache (``local/ponder_cache/hidden/``), in shards of ``SHARD`` chunks written
atomically, so an interrupted run resumes at the first missing shard. Each shard holds the
chunks' ids beside their hidden states, and a shard whose ids differ from the data set's
(other tokenizer, other files) is recomputed.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch

from .backbone import DEFAULT_CACHE, Backbone
from .corpora import token_chunks

SHARD = 16


def cache_dir(bb: Backbone, name: str, chunk_size: int, root=None) -> Path:
    tag = bb.name if bb.name != "gpt2-random" else f"{bb.name}-{bb.info['scale']}-s{bb.info['seed']}"
    return Path(root or DEFAULT_CACHE) / "hidden" / f"{tag}_{name}_c{chunk_size}"


def hidden_states(bb: Backbone, name: str, n_chunks: int, chunk_size: int, root=None,
                  log=print) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """(ids (n, c), hidden (n, c, d) float32, info): from the cache where present."""
    ids = token_chunks(name, bb.tokenize, n_chunks, chunk_size, bb.vocab_size)
    d = cache_dir(bb, name, chunk_size, root)
    d.mkdir(parents=True, exist_ok=True)
    out, computed, secs = [], 0, 0.0
    for s in range(0, n_chunks, SHARD):
        f = d / f"shard{s // SHARD:04d}.pt"
        want = ids[s:s + SHARD]
        got = None
        if f.is_file():
            blob = torch.load(f, weights_only=True)
            if torch.equal(blob["ids"], want):
                got = blob["hidden"]
        if got is None:  # missing, or made from other ids (tokenizer, files, a shorter run)
            t0 = time.perf_counter()
            got = torch.stack([bb.hidden(want[i:i + 1])[0] for i in range(want.shape[0])])
            secs += time.perf_counter() - t0
            computed += want.shape[0]
            tmp = f.with_suffix(".tmp")
            torch.save({"ids": want, "hidden": got}, tmp)
            tmp.replace(f)
            log(f"  hidden {name}: chunks {s}..{s + want.shape[0] - 1} computed "
                f"({secs:.1f} s so far)")
        out.append(got)
    return ids, torch.cat(out), {"computed_chunks": computed, "backbone_seconds": secs,
                                 "cache": str(d)}
