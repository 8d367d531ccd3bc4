"""GPT-2 backbone (transformers) with a TTT-Linear layer before the LM head.

Why the library's GPT-2 rather than our own: it is the reference implementation people load
GPT-2 checkpoints into, so ``--weights`` works with real checkpoints through the library's own
loader, and there is no second GPT-2 here to keep correct. The backbone uses the "eager"
attention so that torch's FLOP counter sees the attention matmuls (it does not count the CPU
fused SDPA kernel), which keeps the profiler count comparable with the analytic one.

The backbone is frozen (``requires_grad_(False)``), as in the document's set-up.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import torch
from torch import nn
from transformers import GPT2Config, GPT2LMHeadModel

from .config import ScaleConfig, TTTConfig, get_scale
from .ttt import FastWeights, TTTLinear

ATTN_IMPL = "eager"


#: behaviour version (rtrl_moe.records.versions): bump when GPT-2 + TTT-Linear (random init) of the document's commands changes
VERSIONS = {"ponder.model": 1}


def gpt2_config(scale: ScaleConfig) -> GPT2Config:
    return GPT2Config(vocab_size=scale.vocab_size, n_positions=scale.n_positions,
                      n_embd=scale.n_embd, n_layer=scale.n_layer, n_head=scale.n_head,
                      attn_implementation=ATTN_IMPL)


class PonderModel(nn.Module):
    """``logits = lm_head(h + ttt(h, fast_weights))`` with ``h`` GPT-2's final hidden state."""

    def __init__(self, lm: GPT2LMHeadModel, scale: ScaleConfig, ttt_cfg: Optional[TTTConfig] = None):
        super().__init__()
        self.scale = scale
        self.lm = lm.eval()
        self.lm.requires_grad_(False)
        self.ttt = TTTLinear(ttt_cfg or TTTConfig.for_scale(scale))

    @torch.no_grad()
    def hidden(self, ids: torch.Tensor) -> torch.Tensor:
        """Final hidden state (after GPT-2's ln_f), (B, n, d)."""
        return self.lm.transformer(input_ids=ids).last_hidden_state

    @torch.no_grad()
    def logits(self, h: torch.Tensor, state: FastWeights) -> torch.Tensor:
        return self.lm.lm_head(h + self.ttt(h, state))

    def init_state(self, batch: int = 1) -> FastWeights:
        return self.ttt.init_state(batch)

    def trainable_parameters(self) -> list[nn.Parameter]:
        """What an outer loop would train: the TTT layer only (nothing here trains it)."""
        return list(self.ttt.parameters())


def _load_backbone(path: str | os.PathLike, scale: ScaleConfig) -> GPT2LMHeadModel:
    """A local GPT-2 checkpoint: a ``save_pretrained`` directory (the library's loader, never
    the hub) or a state-dict file (.safetensors, or a torch .pt/.bin) for the scale's shape."""
    p = Path(path)
    if p.is_dir():
        lm = GPT2LMHeadModel.from_pretrained(p, local_files_only=True, attn_implementation=ATTN_IMPL)
        c = lm.config
        got = (c.n_layer, c.n_embd, c.n_head, c.vocab_size)
        want = (scale.n_layer, scale.n_embd, scale.n_head, scale.vocab_size)
        if got != want:
            raise ValueError(f"checkpoint {p} has (n_layer, n_embd, n_head, vocab) {got}, "
                             f"scale {scale.name!r} needs {want}")
        return lm
    if not p.is_file():
        raise FileNotFoundError(f"no checkpoint at {p}")
    if p.suffix == ".safetensors":
        from safetensors.torch import load_file
        sd = load_file(str(p))
    else:
        sd = torch.load(p, map_location="cpu", weights_only=True)
    lm = GPT2LMHeadModel(gpt2_config(scale))
    # a GPT2Model state dict (no "transformer." prefix, no head) loads into the body; the head
    # is tied to the token embedding either way
    target = lm if any(k.startswith("transformer.") for k in sd) else lm.transformer
    missing, unexpected = target.load_state_dict(sd, strict=False)
    missing = [k for k in missing if k != "lm_head.weight" and not k.endswith(".attn.bias")]
    if missing or unexpected:
        raise ValueError(f"checkpoint {p} does not fit scale {scale.name!r}: "
                         f"missing {missing[:5]}, unexpected {list(unexpected)[:5]}")
    lm.tie_weights()
    return lm


def build_model(scale: str | ScaleConfig = "125m", *, weights: Optional[str | os.PathLike] = None,
                seed: int = 0, dtype: torch.dtype = torch.float32,
                ttt: Optional[TTTConfig] = None) -> PonderModel:
    """GPT-2 at ``scale`` (random init from ``seed`` unless ``weights``) plus a TTT layer."""
    sc = get_scale(scale) if isinstance(scale, str) else scale
    torch.manual_seed(seed)
    lm = _load_backbone(weights, sc) if weights else GPT2LMHeadModel(gpt2_config(sc))
    # the TTT layer is seeded separately so that loading weights does not change its init
    torch.manual_seed(seed + 1)
    model = PonderModel(lm, sc, ttt)
    return model.to(dtype)
