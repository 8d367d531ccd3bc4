"""Per-phase time of the RTRL learners against their sensitivity update's FLOP floor.

    python tools/phase_floor.py --config docs --batch 1 [--seq-len 64] [--repeats 5]

Runs rtrl, sparse-rtrl and tree-rtrl on one model (float32, one thread unless --threads), each
``learner.gradient`` over T random tokens, interleaved with a plain matmul of each learner's
update shape (A/B/A/B, medians over --repeats). Prints ms per step: the phases
(``learner.phase_ns``), the step, the floor (``rtrl_moe.learners.phases``) and floor / step.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

CONFIGS = {
    # the documents' model (MoEConfig's defaults)
    "docs": dict(d_model=32, n_slots=4, n_experts=4, topk=2, topk_read=2, topk_write=2, d_ff=64),
    # the speed-slots and speed-experts presets at d_model 16
    "slots16": dict(d_model=16, n_slots=8, n_experts=4, topk=2, topk_read=2, topk_write=2,
                    d_ff=64),
    "experts16": dict(d_model=16, n_slots=4, n_experts=8, topk=2, topk_read=2, topk_write=2,
                      d_ff=256),
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", choices=sorted(CONFIGS), default="docs")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--seq-len", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--learners", default="rtrl,sparse-rtrl,tree-rtrl")
    ap.add_argument("--kw", action="append", default=[],
                    help="learner kwarg name=value (e.g. compile=1), for every learner")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--clock", default="wall", choices=["wall", "thread"],
                    help="wall: perf_counter_ns; thread: this thread's CPU time (steadier when "
                         "other processes share the cores; needs --threads 1)")
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

    import torch
    import torch.nn.functional as F

    import rtrl_moe as rm
    from rtrl_moe.learners.phases import floor_ns, floor_spec, matmul_ns

    torch.set_num_threads(args.threads)
    clock = time.perf_counter_ns if args.clock == "wall" else time.thread_time_ns
    rm.learners.Learner.clock = staticmethod(clock)
    dtype = getattr(torch, args.dtype)
    torch.manual_seed(0)
    model = rm.RecurrentMoE(rm.MoEConfig(**CONFIGS[args.config])).to(dtype)
    g = torch.Generator().manual_seed(1)
    B, T, d_in = args.batch, args.seq_len, model.cfg.d_in
    x = F.one_hot(torch.randint(0, d_in, (B, T), generator=g), d_in).to(dtype)
    y = torch.randint(0, model.cfg.d_out, (B, T), generator=g)
    kwargs = {k: int(v) if v.isdigit() else v for k, v in (a.split("=", 1) for a in args.kw)}
    names = args.learners.split(",")
    learners = {}
    for n in names:
        # "name" or "name:key=value:...": per-learner kwargs on top of --kw (e.g. to compare
        # sparse-rtrl and sparse-rtrl:compile=1 in one process)
        name, *extra = n.split(":")
        kw = dict(kwargs, **{k: int(v) if v.isdigit() else v
                             for k, v in (a.split("=", 1) for a in extra)})
        t0 = time.perf_counter()
        learners[n] = rm.make_learner(name, model, **kw)
        learners[n].gradient(x, y)          # warm-up (and compilation, if asked)
        print(f"# {n}: first gradient (warm-up{', compile' if kw.get('compile') else ''})"
              f" {time.perf_counter() - t0:.2f} s, compile_s "
              f"{getattr(learners[n], 'compile_s', 0.0):.2f}", file=sys.stderr)
    specs = {n: floor_spec(L, B) for n, L in learners.items()}
    runs = {n: [] for n in names}
    for _ in range(args.repeats):
        for n, L in learners.items():             # interleaved: learner, its matmul, next
            t0 = clock()
            L.gradient(x, y)
            wall = clock() - t0
            mm = matmul_ns(specs[n]["shape"], dtype, clock=clock)
            runs[n].append((wall, dict(L.phase_ns), mm))

    load = os.getloadavg()[0]
    print(f"config {args.config} {CONFIGS[args.config]} B={B} T={T} {args.dtype} "
          f"threads={args.threads} clock={args.clock} load1={load:.2f} "
          f"repeats={args.repeats} kw={kwargs}")
    hdr = ("learner", "jacobian", "update", "readout", "other", "step", "floor", "fraction",
           "upd/floor", "MFLOP", "shape")
    print("{:<22}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}{:>10}{:>8}  {}".format(*hdr))
    for n in names:
        med = lambda f: statistics.median(f(r) for r in runs[n])    # noqa: E731
        ph = {k: med(lambda r, k=k: r[1][k] / r[1]["steps"]) / 1e6
              for k in ("jacobian", "update", "readout", "other")}
        step = med(lambda r: r[0] / T) / 1e6
        fl = med(lambda r: floor_ns(specs[n], r[2])) / 1e6
        print(f"{n:<22}{ph['jacobian']:9.3f}{ph['update']:9.3f}{ph['readout']:9.3f}"
              f"{ph['other']:9.3f}{step:9.3f}{fl:9.3f}{fl / step:9.2f}{ph['update'] / fl:10.2f}"
              f"{specs[n]['flops_per_step'] / 1e6:8.1f}  {specs[n]['shape']}")


if __name__ == "__main__":
    main()
