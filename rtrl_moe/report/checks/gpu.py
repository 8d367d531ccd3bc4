"""GPU checks: CPU against GPU step time on one machine, and where BPTT runs out of GPU memory."""
from __future__ import annotations

import math
import re

import pandas as pd

from ..curves import curves, pick
from ..data import TSTEP, col, num, select, series_key
from ..evidence import CONFIRMED, MAX_ROWS, PARTIAL, REFUTED, Evidence, nm, show
from ..fmt import fmt_bytes, fmt_num, fmt_T


def _cuda(df):
    return select(df, device="cuda", status=None)


def gpu_speedup(learners=("sparse-rtrl",), min_speedup=2.0):
    def check(df):
        if len(_cuda(df)) == 0:
            return nm("needs a GPU; no GPU results (config.device == 'cuda') in results/", figure="time")
        texts, vs, rows = [], [], []
        for lr in learners:
            parts = []
            for dev in ("cpu", "cuda"):
                d = select(df, kind="measure", learner=lr, device=dev)
                d = d[num(d, TSTEP).notna()] if len(d) else d
                # the same point on either device: its key with the device left out
                k = series_key(d.assign(**{"config.device": ""})) if len(d) else pd.Series(dtype=object)
                parts.append(pd.DataFrame({"k": k.values, "t": num(d, TSTEP).values,
                                           "T": num(d, "config.seq_len").values}).groupby(["k", "T"], as_index=False).median()
                             if len(d) else pd.DataFrame(columns=["k", "T", "t"]))
                rows += show(d, (TSTEP,))
            m = parts[0].merge(parts[1], on=["k", "T"], suffixes=("_cpu", "_cuda"))
            if len(m) == 0:
                continue
            r = m["t_cpu"] / m["t_cuda"]
            texts.append(f"{lr}: cpu/cuda step time {fmt_num(r.min())}..{fmt_num(r.max())}x")
            med = float(r.median())
            vs.append(CONFIRMED if med >= min_speedup else (PARTIAL if med > 1 else REFUTED))
        if not vs:
            return nm("no CPU and GPU points of the same config on the same machine", figure="time")
        v = vs[0] if len(set(vs)) == 1 else PARTIAL
        return Evidence(v, "; ".join(texts), rows[:MAX_ROWS], "time",
                        [f"significant = median speedup >= {min_speedup:g}x (same machine and config)"])
    return check


def gpu_oom(learner="bptt", doc_len=1_000_000):
    def check(df):
        c = _cuda(df)
        if len(c) == 0:
            return nm("needs a GPU; no GPU results (config.device == 'cuda') in results/", figure="memory")
        d = select(df, kind="measure", learner=learner, device="cuda", status=None)
        if len(d) == 0:
            return nm(f"no GPU `measure` point of {learner}", figure="memory")
        oom = d[col(d, "status") == "oom"]
        notes = []
        if len(oom):
            T = float(num(oom, "config.seq_len").min())
            how = f"first OOM on the GPU at T={fmt_T(T)} (budget {fmt_num(num(oom, 'config.budget_mb').min())} MiB)"
        else:
            cs = curves(df, "metrics.cuda_allocated_peak", (learner,), device="cuda")
            cap, src = num(d, "machine.gpu_memory_bytes").max(), "machine.gpu_memory_bytes"
            if not (cap == cap):
                names_ = sorted(set(col(d, "machine.gpu").dropna().astype(str)))
                gb = [float(x) for n in names_ for x in re.findall(r"(\d+(?:\.\d+)?)\s*GB", n)]
                if gb:
                    cap, src = max(gb) * 2 ** 30, f"the GPU's name ({', '.join(names_)})"
            if not cs or not (cap == cap):
                return nm(f"no GPU OOM of {learner} and no GPU capacity (machine.gpu_memory_bytes) to predict one",
                          figure="memory")
            b, a, _ = pick(cs, learner).fit()
            T = (cap - a) / b if b > 0 else math.inf
            how = (f"predicted from the cuda_allocated slope {fmt_bytes(b)}/token and a capacity of {fmt_bytes(cap)} "
                   f"(from {src}): T={fmt_T(T)}")
        v = CONFIRMED if doc_len / 2 <= T <= doc_len * 2 else REFUTED
        return Evidence(v, f"{how}; documented ~T={fmt_T(doc_len)}", show(d, ("metrics.cuda_allocated_peak",)),
                        "memory", notes)
    return check
