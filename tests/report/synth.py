"""Synthetic schema-1 results records (docs/RESULTS.md) for the report's tests.

The numbers are invented but shaped like the real thing: RTRL holds an H x P sensitivity matrix
(constant in T), BPTT saves ~6 KB per token, the tree variant is ~2.4x faster than sparse RTRL.
`python tests/report/synth.py` rewrites tests/report/fixtures/results/ (deterministic).
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

H, P, N_PARAMS = 128, 21_632, 30_000
STATE = H * P * 4
MODEL = {"d_in": 8, "d_out": 8, "d_model": 32, "n_slots": 4, "n_experts": 4, "topk": 2,
         "topk_read": 2, "topk_write": 2, "chunk": 1, "d_ff": 64}
MACHINE = {"machine_id": "fx01", "hostname": "fixture", "cpu": "Fixture CPU 2.0GHz", "cores": 2,
           "ram_bytes": 8 * 2 ** 30, "gpu": None, "gpu_driver": None, "cuda": None,
           "torch": "2.13.0+cpu", "python": "3.11.7", "platform": "Linux-fixture"}
GPU_MACHINE = dict(MACHINE, machine_id="gx01", hostname="gpu-fixture", cpu="Fixture Xeon",
                   gpu="Fixture H100", gpu_driver="999.1", cuda="12.8", torch="2.13.0+cu128")
RUN = "20261123T0700Z-fixture"


def record(kind, learner, seq_len, metrics, *, status="ok", task="anbn", seed=0, dtype="float32",
           device="cpu", batch=1, model=None, model_type="moe", kwargs=None, budget_mb=None, lr=None,
           steps=None, machine=None, run_id=RUN, created="2026-11-23T07:00:00Z", message=None, label=None):
    # the docs preset's labels by default, so the registry's declared workloads find them
    if label is None:
        label = {"measure": "docs-memory", "agree": "docs-agree",
                 "train": "train-anbn-5k" if task == "anbn" else "train-pair"}.get(kind)
    rec = {"schema": 1, "run_id": run_id, "commit": "0123456789abcdef0123456789abcdef01234567",
           "dirty": False, "created": created, "machine": copy.deepcopy(machine or MACHINE),
           "config": {"kind": kind, "learner": learner, "learner_kwargs": kwargs or {},
                      "model_type": model_type,
                      "model": copy.deepcopy(model or (MODEL if model_type == "moe" else
                                                       {"d_in": 8, "d_out": 8, "hidden": 64, "cell": "tanh"})),
                      "task": task, "seq_len": seq_len, "batch": batch, "dtype": dtype, "device": device,
                      "seed": seed, "budget_mb": budget_mb, "repeats": 5, "warmup": 1, "steps": steps, "lr": lr,
                      "label": label},
           "status": status, "metrics": metrics if status == "ok" else {}}
    if status != "ok":
        rec["message"] = message or status
    return rec


def measure_metrics(learner, T, *, device="cpu", state=STATE):
    fixed = N_PARAMS * 4 * 4  # params, grads, two Adam moments
    per_tok = {"bptt": 6000, "ckpt-bptt": 0, "tbptt": 0}.get(learner, 0)
    saved = per_tok * T
    if learner == "ckpt-bptt":
        saved = int(6000 * 4 * T ** 0.5)
    if learner == "tbptt":
        saved = 6000 * 64
    lstate = 0
    if learner in ("rtrl", "sparse-rtrl", "tree-rtrl", "sparse-rtrl-readonly"):
        lstate = state + (16 * H * H * 4 * 0 if learner != "tree-rtrl" else 16 * H * 64 * 4)
        saved = 40_000
    peak = fixed + saved + lstate
    ns_tok = {"bptt": 20_000, "ckpt-bptt": 30_000, "tbptt": 21_000, "rtrl": 2_000_000,
              "sparse-rtrl": 600_000, "sparse-rtrl-readonly": 550_000, "tree-rtrl": 250_000}[learner]
    t = ns_tok * T + 1_000_000
    if device == "cuda":
        t = t // 10
    flops = {"rtrl": 2 * H * H * P, "sparse-rtrl": 2 * H * H * P // 4, "tree-rtrl": 2 * H * H * P // 10,
             "sparse-rtrl-readonly": 2 * H * H * P // 4}.get(learner)
    m = {"tensor_bytes_peak": peak, "tensor_bytes_params": N_PARAMS * 4, "tensor_bytes_grads": N_PARAMS * 4,
         "tensor_bytes_optimizer": N_PARAMS * 8, "tensor_bytes_learner_state": lstate,
         "tensor_bytes_saved_peak": saved, "rss_peak": int(peak * 1.3) + 5_000_000, "rss_baseline": 200_000_000,
         "cuda_allocated_peak": peak if device == "cuda" else None,
         "cuda_reserved_peak": int(peak * 1.2) if device == "cuda" else None,
         "nvml_used_peak": int(peak * 1.25) + 300_000_000 if device == "cuda" else None,
         "nvml_context_bytes": 500_000_000 if device == "cuda" else None,
         "nvml_source": "process" if device == "cuda" else None,
         "time_step_median_ns": t, "time_step_iqr_ns": t // 50, "time_step_ns": [t - t // 50, t, t + t // 50],
         "time_per_token_ns": t / T, "threads": 2,
         "sensitivity_flops_per_step": flops * T if flops else None,
         "sensitivity_ns_per_step": (t * 0.8) if flops else None,
         "sensitivity_flops_per_s": (flops * T / (t * 0.8e-9)) if flops else None,
         "matmul_flops_per_s": 2e10 if flops else None,
         "matmul_fraction": (flops * T / (t * 0.8e-9)) / 2e10 if flops else None,
         "loss": 1.5, "accuracy": 0.3, "n_params": N_PARAMS, "n_state_params": P, "H": H}
    return m


LEARNERS = ("bptt", "tbptt", "ckpt-bptt", "rtrl", "sparse-rtrl", "tree-rtrl", "sparse-rtrl-readonly")
LENGTHS = (32, 64, 128, 256, 512, 1024, 2048)


def measure_records(device="cpu", machine=None, run_id=RUN, lengths=LENGTHS, learners=LEARNERS, label=None,
                    seeds=(0,), task="anbn"):
    out = []
    for seed in seeds:
        for lr in learners:
            kw = {"k": 64} if lr == "tbptt" else ({"n": 16} if lr == "tree-rtrl" else {})
            for T in lengths:
                out.append(record("measure", lr, T, measure_metrics(lr, T, device=device), kwargs=kw, device=device,
                                  machine=machine, run_id=run_id, label=label, seed=seed, task=task))
    return out


def time_records():
    """The docs preset's timing pieces: three seed pairs at four lengths each."""
    return (measure_records(lengths=(32, 128, 512, 2048), learners=("bptt", "tbptt", "sparse-rtrl"),
                            label="docs-time", seeds=(0, 1, 2)) +
            measure_records(lengths=(16, 64, 96, 256), learners=("sparse-rtrl", "tree-rtrl"),
                            label="docs-tree-anbn", seeds=(0, 1, 2)))


def budget_records():
    out = []
    for lr in ("bptt", "sparse-rtrl"):
        for T in (1024, 2048, 4096, 8192):
            m = measure_metrics(lr, T)
            over = m["tensor_bytes_peak"] > 16 * 2 ** 20
            out.append(record("measure", lr, T, m, status="oom" if over else "ok", budget_mb=16, label="docs-budget",
                              run_id=RUN + "-budget", message="out of memory under --budget-mb 16" if over else None))
    return out


def haystack_records():
    out = []
    for seed in (0, 1, 2):
        for lr, ns in (("sparse-rtrl", 450_000), ("tree-rtrl", 300_000)):
            for T in (8, 16, 32, 64):
                m = measure_metrics(lr, T)
                m["time_step_median_ns"] = ns * T
                m["time_step_iqr_ns"] = ns * T // 50
                out.append(record("measure", lr, T, m, task="haystack", seed=seed, label="docs-tree-haystack",
                                  kwargs={"n": 16} if lr == "tree-rtrl" else {}))
    return out


def agree_metrics(err):
    return {"rel_err": err, "max_abs_err": err / 10, "cosine": 1 - err ** 2 / 2,
            "per_param": {"core.W": {"rel_err": err, "max_abs_err": err / 10, "cosine": 1.0}}}


def agree_records():
    out = []
    base = {"rtrl": 1e-14, "sparse-rtrl": 2e-14, "tree-rtrl": 3e-14}
    for T in (16, 64, 256):
        for lr, e in base.items():
            out.append(record("agree", lr, T, agree_metrics(e * (1 + T / 256)), dtype="float64"))
            out.append(record("agree", lr, T, agree_metrics(3e-7), dtype="float32"))
        out.append(record("agree", "sparse-rtrl-readonly", T, agree_metrics(0.02 * (1 + T / 64)), dtype="float64"))
        for k in (8, 32):
            err = 0.0 if T <= k else 0.3 * (1 - k / T)
            out.append(record("agree", "tbptt", T, agree_metrics(max(err, 1e-15)), dtype="float64",
                              kwargs={"k": k}))
    return out


def train_metrics(acc, steps=5000):
    curve = [[s, 2.0 - 1.5 * acc * s / steps, acc * s / steps] for s in range(0, steps + 1, steps // 5)]
    return {"final_loss": 2.0 - 1.5 * acc, "final_accuracy": acc, "curve": curve, "time_total_s": 12.5,
            "chance_accuracy": 0.25,
            "tensor_bytes_peak": 1_000_000}


def trajectory_records(dtype, split_at=None, steps=200):
    """bptt and sparse-rtrl of one seed, losses equal until ``split_at`` (the train-trajectory piece)."""
    out = []
    for lr in ("bptt", "sparse-rtrl"):
        curve = [[k, 1.0 / k + (1e-3 if (lr == "sparse-rtrl" and split_at and k >= split_at) else 0.0), 0.5]
                 for k in range(1, steps + 1)]
        m = dict(train_metrics(0.8, steps=steps), curve=curve)
        out.append(record("train", lr, 32, m, task="anbn", seed=0, dtype=dtype, lr=2e-3, steps=steps,
                          label="train-trajectory"))
    return out


def train_records():
    out = []
    spec = [  # (learner, model_type, task, seq_len, lr, accuracies over seeds 0..2, train preset piece)
        ("bptt", "moe", "anbn", 16, 2e-3, (0.97, 0.99, 1.0), "train-anbn-5k"),
        ("bptt", "moe", "anbn", 16, 1e-2, (0.47, 0.50, 0.45), "train-anbn-5k"),
        ("bptt", "moe", "anbn", 16, 2e-3, (0.96, 0.97, 0.99), "train-pair"),
        ("sparse-rtrl", "moe", "anbn", 16, 2e-3, (0.96, 0.98, 0.99), "train-pair"),
        ("bptt", "moe", "haystack", 16, 2e-3, (1.0, 1.0, 0.99), "train-pair"),
        ("sparse-rtrl", "moe", "haystack", 16, 2e-3, (0.95, 0.97, 0.99), "train-pair"),
    ]
    for T, (a, b, c) in ((32, (0.24, 0.26, 0.25)), (64, (0.23, 0.25, 0.24)), (128, (0.26, 0.25, 0.27))):
        spec += [("bptt", "rnn", "stream", T, 2e-3, (a, a + 0.02, a - 0.01), "train-003"),
                 ("bptt", "moe", "stream", T, 2e-3, (b, b + 0.01, b - 0.02), "train-003"),
                 ("sparse-rtrl", "moe", "stream", T, 2e-3, (c, c + 0.01, c - 0.01), "train-003")]
    for lr, mt, task, T, rate, accs, label in spec:
        for seed, acc in enumerate(accs):
            out.append(record("train", lr, T, train_metrics(acc), task=task, seed=seed, model_type=mt, lr=rate,
                              steps=5000, label=label))
    return out


def gpu_records():
    return measure_records(device="cuda", machine=GPU_MACHINE, run_id="20261124T0800Z-gpu",
                           lengths=(64, 256, 1024), learners=("bptt", "sparse-rtrl")) + \
        measure_records(device="cpu", machine=GPU_MACHINE, run_id="20261124T0800Z-gpu",
                        lengths=(64, 256, 1024), learners=("bptt", "sparse-rtrl"))


def write(path: Path, records) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, sort_keys=True) + "\n")
    return path


def write_fixture(d: Path, gpu=False) -> Path:
    write(d / "measure.jsonl", measure_records() + time_records() + budget_records() + haystack_records())
    write(d / "agree.jsonl", agree_records())
    write(d / "train.jsonl", train_records())
    if gpu:
        write(d / "gpu.jsonl", gpu_records())
    return d


if __name__ == "__main__":
    write_fixture(Path(__file__).parent / "fixtures" / "results")
