"""Digests of what each versioned unit computes on fixed inputs (issue 31).

Per learner (``learner.<name>``): its float64 gradient (the bits of every tensor), its
sensitivity FLOP count, the bytes it holds and the analytic FLOP count of ``rtrl_moe.flops``;
per task (``task.<name>``): its first batch of tokens and targets; per model (``model.<type>``):
three steps of its output and state. ``digests.json`` beside this file stores ``{unit:
{"version", "digest"}}``; ``test_digests.py`` fails when a digest changed while its unit's
version did not. After a deliberate change of behaviour (the version bumped), store the new
digests with::

    PYTHONPATH=. python tests/records/digests.py --update

Timing units (``timing.*``), kinds, probes and protocol pieces have no digest: their outputs are
times, machine readings or whole experiments; their versions are kept by review.
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

STORE = Path(__file__).with_name("digests.json")
SEQ_LEN, BATCH = 10, 2
#: a learner is digested on the first of these cells it accepts
CELLS = ("moe", "rnn", "lru")


def _feed(h, value) -> None:
    if isinstance(value, torch.Tensor):
        t = value.detach().contiguous().cpu()
        h.update(f"{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.numpy().tobytes() if t.dtype != torch.bool else t.to(torch.uint8).numpy().tobytes())
    elif isinstance(value, dict):
        for k in sorted(value):
            h.update(str(k).encode())
            _feed(h, value[k])
    elif isinstance(value, (list, tuple)):
        h.update(b"[")
        for v in value:
            _feed(h, v)
        h.update(b"]")
    else:
        h.update(repr(value).encode())


def digest(value) -> str:
    h = hashlib.sha256()
    _feed(h, value)
    return h.hexdigest()[:16]


def cell(kind: str, d: int = 4):
    import rtrl_moe as rm
    from rtrl_moe.lru import LRUConfig, RecurrentLRU
    torch.manual_seed(0)
    if kind == "moe":
        m = rm.RecurrentMoE(rm.MoEConfig(d_in=d, d_out=d, d_model=6, n_slots=5, n_experts=4,
                                         topk=2, topk_read=2, topk_write=2, d_ff=7))
    elif kind == "rnn":
        m = rm.RecurrentRNN(rm.RNNConfig(d_in=d, d_out=d, hidden=7))
    elif kind == "lru":
        m = RecurrentLRU(LRUConfig(d_in=d, d_out=d, hidden=7, d_ff=5))
    elif kind == "upstream-moe":
        m = rm.UpstreamMoE(rm.UpstreamConfig(d_in=d, d_out=d, d_model=8, n_heads=2, n_slots=4,
                                             n_experts=4, topk=2))
    elif kind == "silu-norm-rnn":
        from rtrl_moe.protocols.models import SiluNormRNN
        m = SiluNormRNN(d_in=d, hidden=6, d_out=d)
    elif kind == "relu-embed-rnn":
        from rtrl_moe.protocols.models import ReluEmbedRNN
        m = ReluEmbedRNN(vocab=d, hidden=6, d_out=d)
    else:
        raise ValueError(kind)
    return m.double()


def sequence(d: int = 4):
    g = torch.Generator().manual_seed(1)
    x = F.one_hot(torch.randint(0, d, (BATCH, SEQ_LEN), generator=g), d).double()
    y = torch.randint(0, d, (BATCH, SEQ_LEN), generator=g)
    y[:, ::3] = -100
    return x, y


def learner_digest(name: str) -> dict:
    import rtrl_moe as rm
    from rtrl_moe import flops
    for kind in CELLS:
        model = cell(kind)
        try:
            learner = rm.make_learner(name, model)
        except ValueError:
            continue
        x, y = sequence()
        grads = learner.gradient(x, y)
        try:
            analytic = flops.sensitivity_update_flops(name, model.cfg, BATCH)
        except (ValueError, KeyError, TypeError, AttributeError):
            analytic = None
        parts = {"cell": f"model.{kind}", "gradient": digest(grads),
                 "sensitivity_flops": int(learner.counters["sensitivity_flops"]),
                 "state_bytes": int(learner.state_bytes()), "analytic_flops": analytic}
        return {**parts, "digest": digest(parts)}
    raise ValueError(f"no cell of {CELLS} accepts learner {name!r}")


def task_digest(name: str) -> dict:
    import rtrl_moe as rm
    task = rm.make_task(name, seq_len=12, batch_size=2, seed=3)
    batch = task.batch(0) if hasattr(task, "batch") else next(iter(task.stream(12)))
    return {"digest": digest(batch)}


def model_digest(kind: str) -> dict:
    model = cell(kind)
    x, _ = sequence()
    h = model.init_state(BATCH).double()
    outs = []
    with torch.no_grad():
        for t in range(3):
            out = model.step(x[:, t:t + 1], h)
            h = out[1]
            outs.append(out)
    return {"digest": digest(outs)}


MODELS = ("moe", "rnn", "lru", "upstream-moe", "silu-norm-rnn", "relu-embed-rnn")


def compute(units=None) -> dict:
    """``{unit: {"digest": ..., ...}}`` of every digested unit (or of ``units``), on one thread
    (a summation order that depends on the thread count would change the bits)."""
    from rtrl_moe.learners import LEARNERS
    from rtrl_moe.tasks import TASKS
    makers = {f"learner.{n}": (learner_digest, n) for n in LEARNERS}
    makers.update({f"task.{n}": (task_digest, n) for n in TASKS})
    makers.update({f"model.{k}": (model_digest, k) for k in MODELS})
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return {u: fn(arg) for u, (fn, arg) in makers.items() if units is None or u in units}
    finally:
        torch.set_num_threads(threads)


def depends(unit: str, entry: dict) -> list[str]:
    """The other units a digest depends on: a learner's cell."""
    return [entry["cell"]] if "cell" in entry else []


def problems(stored: dict, computed: dict, versions: dict) -> list[str]:
    """Why the stored digests and today's disagree with the versions, one line per unit."""
    out = []
    for unit in sorted(computed):
        now, was = computed[unit], stored.get("units", {}).get(unit)
        if was is None:
            out.append(f"{unit}: no stored digest (run tests/records/digests.py --update)")
        elif was["version"] != versions[unit]:
            out.append(f"{unit}: version {versions[unit]} but the stored digest is of version "
                       f"{was['version']} (run tests/records/digests.py --update)")
        elif any(was.get("depends", {}).get(d) != versions[d] for d in depends(unit, now)):
            out.append(f"{unit}: the stored digest is of another version of "
                       f"{', '.join(depends(unit, now))} (run tests/records/digests.py --update)")
        elif was["digest"] != now["digest"]:
            out.append(f"{unit}: its output changed (digest {was['digest']} -> {now['digest']}) "
                       f"but its version is still {versions[unit]}: bump it, or undo the change")
    return out


def stored() -> dict:
    return json.loads(STORE.read_text()) if STORE.is_file() else {}


def update() -> None:
    from rtrl_moe.records import current_versions
    versions = current_versions()
    computed = compute()
    STORE.write_text(json.dumps({
        "torch": torch.__version__,
        "units": {u: {"version": versions[u], **computed[u],
                      "depends": {d: versions[d] for d in depends(u, computed[u])}}
                  for u in sorted(computed)},
    }, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        raise SystemExit(__doc__)
    update()
    print(f"wrote {STORE}")
