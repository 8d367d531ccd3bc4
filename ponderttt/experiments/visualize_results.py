"""Plot a train_policy results file (document 004's "Visualize Results").

    python scripts/visualize_results.py --results_file outputs/policy/125m/results.json \\
        --output_dir figures
    python -m ponderttt.experiments.visualize_results --results_file ... (the same)

Writes ``training_history.png`` (per iteration: reward, average cost per chunk against the
budget, the Lagrange multiplier) and ``action_distribution.png`` (action frequencies per
iteration, and on the held-out chunks). The document's file is msgpack; ours is JSON.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from .train_baseline import _Parser

ACTION_NAMES = ("SKIP", "UPDATE_1", "UPDATE_2", "UPDATE_4")


def load(path: Path) -> dict:
    rec = json.loads(path.read_text())
    m = rec.get("metrics", {})
    if not isinstance(m.get("history"), list) or not m["history"]:
        raise ValueError(f"{path}: no metrics.history (not a train_policy results file?)")
    for i, h in enumerate(m["history"]):
        missing = {"reward", "cost", "lambda", "action_counts"} - set(h)
        if missing:
            raise ValueError(f"{path}: history[{i}] lacks {', '.join(sorted(missing))}")
    return rec


def plot(rec: dict, out_dir: Path) -> list:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    hist = rec["metrics"]["history"]
    it = [h.get("iteration", i + 1) for i, h in enumerate(hist)]
    budget = rec["config"].get("budget")
    out_dir.mkdir(parents=True, exist_ok=True)

    fig, ax = plt.subplots(1, 3, figsize=(13, 3.6))
    ax[0].plot(it, [h["reward"] for h in hist], marker="o")
    ax[0].set(title="reward (-loss per chunk)", xlabel="iteration")
    ax[1].plot(it, [h["cost"] for h in hist], marker="o", label="average cost")
    if budget is not None:
        ax[1].axhline(budget, color="k", ls="--", label=f"budget {budget:g}")
    ax[1].set(title="cost (units per chunk)", xlabel="iteration")
    ax[1].legend()
    ax[2].plot(it, [h["lambda"] for h in hist], marker="o", color="C3")
    ax[2].set(title="Lagrange multiplier (PID)", xlabel="iteration")
    cfg = rec["config"]
    fig.suptitle(f"PID-Lagrangian PPO, {cfg.get('model_scale')} / {cfg.get('data')} / "
                 f"seed {cfg.get('seed')}")
    fig.tight_layout()
    p1 = out_dir / "training_history.png"
    fig.savefig(p1, dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(1, 2, figsize=(11, 3.6), gridspec_kw={"width_ratios": [3, 1]})
    bottom = [0.0] * len(hist)
    for name in ACTION_NAMES:
        frac = [h["action_counts"].get(name, 0) / max(1, sum(h["action_counts"].values()))
                for h in hist]
        ax[0].bar(it, frac, bottom=bottom, label=name)
        bottom = [b + f for b, f in zip(bottom, frac)]
    ax[0].set(title="action frequency per iteration (training rollouts)", xlabel="iteration",
              ylabel="fraction of chunks")
    ax[0].legend(fontsize=8)
    ev = rec["metrics"].get("eval")
    if ev:
        counts = ev["action_counts"]
        tot = max(1, sum(counts.values()))
        ax[1].bar(range(len(ACTION_NAMES)), [counts.get(n, 0) / tot for n in ACTION_NAMES],
                  color=[f"C{i}" for i in range(len(ACTION_NAMES))])
        ax[1].set_xticks(range(len(ACTION_NAMES)), ACTION_NAMES, rotation=30, fontsize=8)
        ax[1].set(title="held-out chunks")
    fig.tight_layout()
    p2 = out_dir / "action_distribution.png"
    fig.savefig(p2, dpi=110)
    plt.close(fig)
    return [p1, p2]


DEFAULT_OUT = "local/ponder/figures"


def build_parser():
    p = _Parser(prog="python scripts/visualize_results.py",
                description="Plot a train_policy results file: training_history.png and "
                            "action_distribution.png.")
    p.add_argument("--results_file", "--results", dest="results_file", required=True,
                   help="OUTPUT_DIR/<scale>/results.json written by train_policy")
    p.add_argument("--output_dir", default=DEFAULT_OUT,
                   help=f"folder for the PNGs (default {DEFAULT_OUT})")
    return p


def main(argv=None) -> int:
    p = build_parser()
    a = p.parse_args(argv)
    path = Path(a.results_file)
    if not path.is_file():
        p.error(f"--results_file {path}: no such file")
    try:
        rec = load(path)
    except (ValueError, json.JSONDecodeError) as e:
        p.error(str(e))
    for f in plot(rec, Path(a.output_dir)):
        print(f"Wrote {f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
