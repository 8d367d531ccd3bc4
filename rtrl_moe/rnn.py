"""A plain recurrent baseline (tanh RNN or GRU) behind the same step interface as RecurrentMoE."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from .cell import Cell


@dataclass(frozen=True)
class RNNConfig:
    d_in: int = 8
    d_out: int = 8
    hidden: int = 64
    cell: str = "tanh"
    chunk: int = 1

    def __post_init__(self):
        for name in ("d_in", "d_out", "hidden", "chunk"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"RNNConfig.{name} must be a positive integer, got {value!r}")
        if self.cell not in ("tanh", "gru"):
            raise ValueError(f"RNNConfig.cell must be 'tanh' or 'gru', got {self.cell!r}")

    @property
    def H(self) -> int:
        return self.hidden

    def to_dict(self) -> dict:
        return asdict(self)


class RecurrentRNN(Cell):
    """``h' = cell(mean of the chunk's inputs, h)``; logits are a linear read of ``h'``."""

    #: behaviour version of its step (rtrl_moe/records/versions.py): bump when an output changes
    VERSIONS = {"model.rnn": 1}

    def __init__(self, cfg: RNNConfig):
        super().__init__()
        self.cfg = cfg
        if cfg.cell == "gru":
            self.cell = nn.GRUCell(cfg.d_in, cfg.hidden)
        else:
            self.cell = nn.RNNCell(cfg.d_in, cfg.hidden, nonlinearity="tanh")
        self.out = nn.Linear(cfg.hidden, cfg.d_out)

    @property
    def H(self) -> int:
        return self.cfg.hidden

    def init_state(self, batch_size: int = 1) -> torch.Tensor:
        p = self.out.weight
        return torch.zeros(batch_size, self.cfg.hidden, dtype=p.dtype, device=p.device)

    def state_param_names(self) -> list[str]:
        return [n for n, _ in self.named_parameters() if not n.startswith("out.")]

    def transition(self, x_t, h):
        return self.cell(x_t.mean(1), h), None

    def readout(self, x_t, h):
        return self.out(h)
