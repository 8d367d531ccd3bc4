"""The models the documented scripts built, behind the library's step interface.

``protocol_model(arch, **cfg)`` is the one switch between upstream's MoE (``arch="upstream"``,
``rtrl_moe.upstream.UpstreamMoE``, upstream's parameter count) and the bench's own cell
(``arch="bench"``, ``rtrl_moe.RecurrentMoE``). The scripts' small baselines are written here
because the library has no cell of their shape:

* ``SiluNormRNN``: train_anbn.py's ``SimpleRNN`` (silu, a residual layer, LayerNorm, tanh; a
  two-layer output head that reads only the new state).
* ``ReluEmbedRNN``: the ``SimpleRNN`` of test_proof_infinite_seq.py / test_rnn_vs_moe_rtrl.py
  (an embedding of the token, a relu ``RNNCell``, a linear head).
* quick_verify.py's ``DenseRNN`` (tanh of a linear map of [x, h]) is the library's tanh
  ``RecurrentRNN`` stepped one token at a time: the same function class (``nn.RNNCell`` is
  ``tanh(W_ih x + W_hh h + b)``); only the initial weights are drawn differently.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from rtrl_moe.cell import Cell

ARCHS = ("upstream", "bench")
PACKAGE = Path(__file__).resolve().parents[1]


def default_arch() -> str:
    """``upstream`` where the upstream model is in this checkout, else ``bench``."""
    return "upstream" if (PACKAGE / "upstream.py").is_file() else "bench"


def model_file(arch: str) -> str:
    """The library file a MoE piece's record depends on (package-relative)."""
    _check_arch(arch)
    return "upstream.py" if arch == "upstream" else "moe.py"


def _check_arch(arch: str):
    if arch not in ARCHS:
        raise ValueError(f"arch must be one of {', '.join(ARCHS)}, got {arch!r}")


def _config(cls, cfg: dict):
    """``cls(**cfg)`` keeping only the fields ``cls`` has (the scripts pass ``n_heads``, which
    the bench's cell does not take); returns the config and the keys it dropped."""
    names = {f.name for f in dataclasses.fields(cls)}
    kept = {k: v for k, v in cfg.items() if k in names}
    return cls(**kept), sorted(set(cfg) - names)


def protocol_model(arch: str, **cfg) -> nn.Module:
    """The script's MoE: ``arch="upstream"`` (upstream's cell) or ``"bench"`` (ours)."""
    _check_arch(arch)
    if arch == "upstream":
        from rtrl_moe.upstream import UpstreamConfig, UpstreamMoE
        config, dropped = _config(UpstreamConfig, cfg)
        model = UpstreamMoE(config)
    else:
        from rtrl_moe.moe import MoEConfig, RecurrentMoE
        config, dropped = _config(MoEConfig, cfg)
        model = RecurrentMoE(config)
    model.protocol_dropped = dropped
    return model


def resolved_config(model) -> dict:
    cfg = getattr(model, "cfg", None)
    if cfg is None:
        return {}
    return cfg.to_dict() if hasattr(cfg, "to_dict") else dataclasses.asdict(cfg)


def model_info(model) -> dict:
    """Sizes every record carries: all parameters, those that touch the state, the state size."""
    names = set(model.state_param_names())
    n_state = sum(p.numel() for n, p in model.named_parameters() if n in names)
    return {"n_params": sum(p.numel() for p in model.parameters()), "n_state_params": n_state,
            "H": int(model.H)}


@dataclasses.dataclass(frozen=True)
class CellConfig:
    """A baseline's sizes (the learners read ``cfg.chunk``)."""
    d_in: int
    hidden: int
    d_out: int
    chunk: int = 1

    @property
    def H(self) -> int:
        return self.hidden

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class SiluNormRNN(Cell):
    """train_anbn.py's SimpleRNN. Parameters named ``state_*`` touch the state, as there."""

    VERSIONS = {"model.silu-norm-rnn": 1}     # of its step (rtrl_moe/records/versions.py)

    def __init__(self, d_in: int = 2, hidden: int = 30, d_out: int = 2):
        super().__init__()
        self.cfg = CellConfig(d_in, hidden, d_out)
        self.hidden = hidden
        self.state_fc1 = nn.Linear(d_in + hidden, hidden)
        self.state_fc2 = nn.Linear(hidden, hidden)
        self.state_norm = nn.LayerNorm(hidden)
        self.output_fc1 = nn.Linear(hidden, hidden)
        self.output_fc2 = nn.Linear(hidden, d_out)

    @property
    def H(self) -> int:
        return self.hidden

    def init_state(self, batch_size: int = 1):
        return torch.zeros(batch_size, self.hidden, dtype=self.state_fc1.weight.dtype)

    def state_param_names(self) -> list:
        return [n for n, _ in self.named_parameters() if n.startswith("state_")]

    def transition(self, x_t, h):
        s = F.silu(self.state_fc1(torch.cat([x_t.mean(1), h], dim=-1)))
        s = self.state_norm(s + F.silu(self.state_fc2(s)))
        return torch.tanh(s), None

    def readout(self, x_t, h):
        return self.output_fc2(F.silu(self.output_fc1(h)))


class ReluEmbedRNN(Cell):
    """003's RNN baseline: the one-hot token's embedding into a relu RNNCell, a linear head."""

    VERSIONS = {"model.relu-embed-rnn": 1}    # of its step (rtrl_moe/records/versions.py)

    def __init__(self, vocab: int = 8, hidden: int = 32, d_out: int = 4):
        super().__init__()
        self.cfg = CellConfig(vocab, hidden, d_out)
        self.hidden = hidden
        self.embed = nn.Embedding(vocab, hidden)
        self.rnn = nn.RNNCell(hidden, hidden, nonlinearity="relu")
        self.proj = nn.Linear(hidden, d_out)

    @property
    def H(self) -> int:
        return self.hidden

    def init_state(self, batch_size: int = 1):
        return torch.zeros(batch_size, self.hidden, dtype=self.proj.weight.dtype)

    def state_param_names(self) -> list:
        return [n for n, _ in self.named_parameters() if not n.startswith("proj.")]

    def transition(self, x_t, h):
        for t in range(x_t.shape[1]):
            h = self.rnn(self.embed(x_t[:, t].argmax(-1)), h)
        return h, None

    def readout(self, x_t, h):
        return self.proj(h)


def tanh_rnn(d_in: int, d_out: int, hidden: int) -> nn.Module:
    """quick_verify.py's DenseRNN as the library's tanh RNN (stepped one token at a time)."""
    from rtrl_moe.rnn import RecurrentRNN, RNNConfig
    return RecurrentRNN(RNNConfig(d_in=d_in, d_out=d_out, hidden=hidden, cell="tanh"))
