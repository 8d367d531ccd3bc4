"""``train_baseline --backbone smollm2-135m``: the document's baseline command on the pretrained
backbone, in the seed's own mode (issue 32).

There the seed's UPDATE_k is k Adam steps (lr 3e-4) on all the backbone's weights on the
chunk's loss, the weights and Adam's state carried on (``dynamic_eval.DynamicEvaluator``); each
chunk is scored before its own update. A comma-separated ``--action`` is cycled over the chunks
with one carried model per action, as in the random-init path. Data: the seed's synthetic ids
(uniform in [0, 10000)) or, with ``--use_real_data``, the standard library's code in SmolLM2's
own tokens (``corpora``: ``stdlib-heldout`` or ``stdlib-train`` by ``--split``).
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

UNITS = {"SKIP": 1, "UPDATE_1": 3, "UPDATE_2": 5, "UPDATE_4": 12}


def run(a) -> int:
    import torch

    from rtrl_moe.records import append_record, make_record

    from ..backbone import load_backbone
    from ..corpora import token_chunks
    from ..dynamic_eval import ACTIONS, LR, DynamicEvaluator
    torch.set_num_threads(a.threads)
    names = [x.value for x in a.action]
    name = ",".join(names)
    data = "stdlib" if a.use_real_data else "synthetic"
    print("Loading SmolLM2-135M...", flush=True)
    try:
        bb = load_backbone("smollm2-135m")
    except Exception as e:   # noqa: BLE001 - fetch or read failure: outside our control
        print(f"error: cannot load smollm2-135m: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    torch.manual_seed(a.seed)
    src = f"stdlib-{a.split}" if a.use_real_data else "synthetic"
    print(f"{'Reading standard-library code' if a.use_real_data else 'Generating synthetic data'} "
          f"({a.num_chunks} chunks)...", flush=True)
    try:
        ids = token_chunks(src, bb.tokenize, a.num_chunks, a.chunk_size, bb.vocab_size)
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    evs = {n: DynamicEvaluator(bb.lm, ACTIONS[n]) for n in dict.fromkeys(names)}
    print(f"Running {name} ({'baseline' if names == ['SKIP'] else 'updates'}, full-weight)...", flush=True)
    losses, secs, acts = [], [], []
    for i in range(a.num_chunks):
        n = names[i % len(names)]
        r = evs[n].chunk(ids[i:i + 1])
        losses.append(r["loss"])
        secs.append(r["seconds"])
        acts.append(n)
        print(f"Chunk {i + 1}/{a.num_chunks}: loss={r['loss']:.3f}  ({r['seconds']:.2f} s)", flush=True)
    avg = sum(losses) / len(losses)
    total = float(sum(UNITS[n] for n in acts))
    print(f"Average loss: {avg:.3f}")
    print(f"Total cost: {total:.1f}" + (" (baseline)" if names == ["SKIP"] else ""))
    config = {"kind": "ponder", "label": a.label, "backbone": "smollm2-135m", "update": "full",
              "model_scale": "smollm2-135m", "action": name, "data": src, "seed": a.seed,
              "chunk_size": a.chunk_size, "num_chunks": a.num_chunks, "lr": LR,
              "optimizer": "Adam", "carried": True, "scored": "before the chunk's own update",
              "threads": a.threads, "device": "cpu", "dtype": "float32", "batch": 1}
    metrics = {"loss": avg, "average_loss": avg, "total_cost": total, "chunk_losses": losses,
               "chunk_seconds": secs, "chunk_actions": acts, "time_total_s": sum(secs)}
    rec = make_record(config=config, status="ok" if math.isfinite(avg) else "error",
                      metrics=metrics, message=None if math.isfinite(avg) else "non-finite loss")
    out = Path(a.output_dir) / "smollm2-135m" / f"{name.replace(',', '+')}_{data}_seed{a.seed}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rec, indent=1) + "\n")
    record_path = Path(a.record) if a.record else Path(a.output_dir) / "records.jsonl"
    append_record(record_path, rec)
    print(f"Results: {out}")
    print(f"Record: {record_path}")
    return 0 if math.isfinite(avg) else 1
