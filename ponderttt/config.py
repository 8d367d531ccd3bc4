"""Configuration dataclasses: the GPT-2 scales and the TTT layer.

The scales are GPT-2 shaped (vocab 50257, context 1024). ``125m`` and ``350m`` are GPT-2 small
and medium exactly; GPT-2 has no ~1B release, so ``1b`` takes GPT-2 XL's width (d 1600, 25
heads of 64) with 30 of its 48 layers: 1.004e9 parameters (embeddings included, LM head tied).
``tiny`` exists so the tests build a model in milliseconds.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

VOCAB_SIZE = 50257  # GPT-2's BPE vocabulary
CONTEXT = 1024      # GPT-2's n_positions


@dataclass(frozen=True)
class ScaleConfig:
    """Backbone shape; everything else is GPT2Config's default."""
    name: str
    n_layer: int
    n_embd: int
    n_head: int
    vocab_size: int = VOCAB_SIZE
    n_positions: int = CONTEXT

    def to_dict(self) -> dict:
        return asdict(self)

    def n_params(self) -> int:
        """Backbone parameters (LM head tied to the token embedding, so not counted twice)."""
        d, L = self.n_embd, self.n_layer
        per_block = 12 * d * d + 13 * d  # qkv + proj + 2-layer MLP weights, biases, 2 LayerNorms
        return self.vocab_size * d + self.n_positions * d + L * per_block + 2 * d


SCALES: dict[str, ScaleConfig] = {
    "tiny": ScaleConfig("tiny", n_layer=2, n_embd=64, n_head=4),
    "125m": ScaleConfig("125m", n_layer=12, n_embd=768, n_head=12),
    "350m": ScaleConfig("350m", n_layer=24, n_embd=1024, n_head=16),
    "1b": ScaleConfig("1b", n_layer=30, n_embd=1600, n_head=25),
}


def get_scale(name: str) -> ScaleConfig:
    try:
        return SCALES[name]
    except KeyError:
        raise ValueError(f"unknown model scale {name!r}; choose one of {', '.join(SCALES)}") from None


@dataclass(frozen=True)
class TTTConfig:
    """TTT-Linear on the backbone's final hidden state (one fast weight per head).

    ``eta_base`` times ``sigmoid(lr_logit)`` (a learned logit per head, 0 at init) is the inner
    step size, as in Sun et al. 2024 (there the logit is a function of the token; a per-head
    constant keeps the step a single number per head, which is what an action's k steps use).
    ``init_std`` is GPT-2's own initialiser scale for the projections and W0.
    """
    d_model: int
    n_heads: int
    eta_base: float = 1.0
    ln_eps: float = 1e-5
    init_std: float = 0.02

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    def __post_init__(self):
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} is not a multiple of n_heads {self.n_heads}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def for_scale(cls, scale: ScaleConfig, **kw) -> "TTTConfig":
        return cls(d_model=scale.n_embd, n_heads=scale.n_head, **kw)
