"""The sparsity patterns SnAp keeps, per model, as groups of (units, parameter columns).

SnAp-n keeps ``P[i, c]`` only where the recursion started from zero can make it non-zero within
n steps: order 1 is the support of ``J_theta`` (the units a parameter writes directly), order 2
adds the support of ``J_h J_theta``. Every pattern here is a union of blocks: a group is a set
``U`` of units within a slot (the same ones in every slot, so routing can copy whole slots) and
the parameter columns whose rows are exactly ``{slot * d + u : every slot, u in U}``. Each column
belongs to exactly one group.

The patterns are structural (over every routing and input), read off the architecture:

* ``RecurrentRNN`` (tanh or GRU): every parameter row belongs to one unit (the unit a gate row
  feeds), so order 1 is one unit per column. Order 2 adds the units that unit feeds through the
  recurrent weights, from the non-zeros of ``weight_hh`` at construction (GRU: plus the unit
  itself, through ``z * h``). With a dense ``weight_hh`` that is every unit: snap-2 is then exact
  RTRL at dense RTRL's cost.
* ``RecurrentMoE``: ``cand_slot`` and ``cand_mix`` rows feed one unit of each written slot's
  candidate; every other state parameter reaches the whole written slots (through attention, the
  pooled vector, the experts or the write weights). Order 2 is everything: the next step's read
  spreads any unit over all written units, so snap-2 on the MoE is exact sparse RTRL.
"""
from __future__ import annotations

import torch

from .approx import slot_layout

#: MoE parameters whose row u reaches only unit u of the written slots.
MOE_PER_UNIT = ("cand_slot.weight", "cand_mix.weight", "cand_mix.bias")


def groups(model, names: list[str], order: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``[(units [u] long, columns [n] long), ...]`` partitioning the flat state parameters."""
    if order not in (1, 2):
        raise ValueError(f"snap order must be 1 or 2, got {order}")
    params = dict(model.named_parameters())
    offsets, at = {}, 0
    for n in names:
        offsets[n] = at
        at += params[n].numel()
    if hasattr(model.cfg, "n_slots"):
        return _merged(_moe_groups(model, names, params, offsets, order))
    return _merged(_rnn_groups(model, names, params, offsets, order))


def _merged(groups):
    """Groups with the same units share all their rows, so they are one block: fewer, wider
    blocks (a dense RNN's snap-2 becomes plain dense RTRL)."""
    by_units: dict = {}
    for units, cols in groups:
        by_units.setdefault(tuple(units.tolist()), []).append(cols)
    return [(torch.tensor(u, dtype=torch.long), torch.cat(cs).sort().values)
            for u, cs in by_units.items()]


def _rows_columns(params, offsets, name, row) -> torch.Tensor:
    p = params[name]
    width = p[0].numel() if p.dim() > 1 else 1
    start = offsets[name] + row * width
    return torch.arange(start, start + width)


def _moe_groups(model, names, params, offsets, order):
    _, d = slot_layout(model)
    per_unit = [n for n in MOE_PER_UNIT if n in offsets] if order == 1 else []
    dense = [torch.arange(offsets[n], offsets[n] + params[n].numel())
             for n in names if n not in per_unit]
    out = [(torch.arange(d), torch.cat(dense))]
    if per_unit:
        for u in range(d):
            cols = torch.cat([_rows_columns(params, offsets, n, u) for n in per_unit])
            out.append((torch.tensor([u]), cols))
    return out


def _rnn_groups(model, names, params, offsets, order):
    H = model.H
    gru = model.cfg.cell == "gru"
    gates = 3 if gru else 1
    reach = torch.eye(H, dtype=torch.bool)
    if order == 2:
        w_hh = params["cell.weight_hh"].detach().view(gates, H, H).ne(0).any(0).cpu()
        # reach[i, k]: unit i's value at one step reaches unit k at the next (GRU's own
        # z * h path only adds i itself, already there).
        reach = reach | w_hh.t()
    out = []
    for i in range(H):
        cols = torch.cat([_rows_columns(params, offsets, n, g * H + i)
                          for n in names for g in range(gates)])
        out.append((reach[i].nonzero().flatten(), cols))
    return out
