"""FLOPs of one chunk: analytic (matmuls, 2 FLOPs per multiply-add) and torch's counter.

Only matrix products are counted, on both sides: torch.utils.flop_counter.FlopCounterMode
counts matmul-like ops (mm, bmm, addmm, attention) and nothing elementwise, so the two counts
can be compared exactly. LayerNorm, softmax, GELU, the loss and the weight update itself are
O(n d) and left out of both.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from torch.utils.flop_counter import FlopCounterMode

from .actions import Action
from .config import ScaleConfig


@dataclass(frozen=True)
class ChunkFlops:
    backbone: int      # GPT-2 blocks: qkv, attention scores and values, proj, MLP
    lm_head: int       # hidden -> vocab logits
    ttt_forward: int   # q and o projections, x_Q W per head
    ttt_update: int    # k and v projections once, then per step x_K W and its gradient in W

    @property
    def total(self) -> int:
        return self.backbone + self.lm_head + self.ttt_forward + self.ttt_update

    def to_dict(self) -> dict:
        return {**asdict(self), "total": self.total}


def chunk_flops(scale: ScaleConfig, n: int, action: Action | str, batch: int = 1) -> ChunkFlops:
    """Analytic matmul FLOPs of one chunk of n tokens under ``action``."""
    k = Action.parse(action).steps
    d, L, V = scale.n_embd, scale.n_layer, scale.vocab_size
    hd = d // scale.n_head
    # per block: qkv 6nd^2, out proj 2nd^2, MLP (d->4d->d) 16nd^2; QK^T and AV 2n^2 d each
    # (the eager attention multiplies the full n x n matrix, masked afterwards)
    backbone = L * (24 * n * d * d + 4 * n * n * d)
    lm_head = 2 * n * d * V
    # x_Q W: per head 2 n hd^2, H heads -> 2 n d hd
    ttt_forward = 2 * n * d * d + 2 * n * d * hd + 2 * n * d * d
    # forward x_K W (2 n d hd) and dl/dW = x_K^T g (2 n d hd) per step; autograd skips the
    # gradient in x_K, which does not require one
    ttt_update = (4 * n * d * d + k * 4 * n * d * hd) if k else 0
    return ChunkFlops(*(batch * x for x in (backbone, lm_head, ttt_forward, ttt_update)))


def count_flops(fn, *args, **kwargs) -> tuple[int, object]:
    """Run ``fn`` under torch's FLOP counter; (total FLOPs, fn's result)."""
    with FlopCounterMode(display=False) as counter:
        out = fn(*args, **kwargs)
    return int(counter.get_total_flops()), out
