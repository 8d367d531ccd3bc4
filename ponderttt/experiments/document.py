"""Run the quick start's experiments as written, each command in its own fresh process, and
time each one end to end (interpreter start to exit, as a user at a shell would see it).

    python -m ponderttt.experiments.document --out local/ponder/document [--scale 125m] [--only ...]

Groups: ``quick`` (the "Quick Validation": SKIP, 10 chunks), ``first`` (the "First
Experiment": 20 chunks of each action, synthetic), ``real`` (the same four on
``--use_real_data``), ``mix`` (not in the document: the four actions cycled over 40 chunks in
one process, for time ratios under the same load), ``policy`` (the "Second Experiment":
``train_policy --model_scale S --num_iterations 10 --output_dir OUT/policy``, as written).
Each baseline command appends its record to ``OUT/<group>.jsonl`` (label ``doc-<group>``), its
printed output goes to ``OUT/logs/<group>_<action>.txt``, ``OUT/commands.ndjson`` gets one line
per command (argv, return code, end-to-end seconds, the record's run_id, the 1-minute load
average before and after) and ``OUT/commands.jsonl`` the same as a ``ponder`` record (label
``command-<group>``, ``metrics.end_to_end_s``, the larger of the two load averages), which the
report reads.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from .._harness import append_record, new_run_id, utc_now
from ..actions import Action
from ..results import build_record

ALL = [a.value for a in Action]
GROUPS = {  # group: (--action values, --num_chunks, further flags)
    "quick": (["SKIP"], 10, []),
    "first": (ALL, 20, []),
    "real": (ALL, 20, ["--use_real_data"]),
    # not in the document: the four actions interleaved in ONE process (10 chunks each), so
    # their time ratios share the same load, threads and warm caches (conventions: compare
    # speeds as ratios measured in the same run)
    "mix": ([",".join(ALL)], 40, ["--seq_len", "0"]),
    # the "Second Experiment": one train_policy command (no --action), timed end to end
    "policy": ([None], 0, ["--num_iterations", "10"]),
}


def _command(group: str, flag, chunks: int, flags: list, scale: str, out: Path, extra: list):
    """(argv, record file or None) of one command of ``group``."""
    if group == "policy":
        return [sys.executable, "-m", "ponderttt.experiments.train_policy", "--model_scale", scale,
                *flags, "--output_dir", str(out / "policy"), *extra], None
    rec = out / f"{group}.jsonl"
    return [sys.executable, "-m", "ponderttt.experiments.train_baseline",
            "--model_scale", scale, "--action", flag, "--num_chunks", str(chunks),
            *flags, "--output_dir", str(out / "json" / group), "--record", str(rec),
            "--label", f"doc-{group}", *extra], rec


def command_record(line: dict, scale: str, threads: int = 1) -> dict:
    """One timed command as a ``ponder`` record the report reads (label ``command-<group>``)."""
    data = "stdlib" if "--use_real_data" in line["argv"] else "synthetic"
    loads = [x for x in (line["load_avg_1m_before"], line["load_avg_1m_after"]) if x is not None]
    config = {"action": line["action"] or "PPO", "model_scale": scale, "label": f"command-{line['group']}",
              "argv": line["argv"], "data": data, "device": "cpu"}
    metrics = {"end_to_end_s": line["end_to_end_s"], "threads": threads,
               "load_avg_1m": max(loads) if loads else None}
    status = "ok" if line["returncode"] == 0 else "error"
    return build_record(run_id=new_run_id(), config=config, metrics=metrics, status=status,
                        message=None if status == "ok" else f"exit status {line['returncode']}")


def _last_run_id(path: Path):
    try:
        return json.loads(path.read_text().splitlines()[-1])["run_id"]
    except (OSError, IndexError, ValueError, KeyError):
        return None


def build_parser() -> argparse.ArgumentParser:
    from .train_baseline import _Parser
    p = _Parser(prog="python -m ponderttt.experiments.document",
                description="The PonderTTT quick start's experiments, timed.")
    p.add_argument("--out", default="local/ponder/document",
                   help="folder for records, logs and commands.ndjson (default local/ponder/document)")
    p.add_argument("--scale", default="125m", help="--model_scale of every command (default 125m)")
    p.add_argument("--only", nargs="+", choices=list(GROUPS), default=list(GROUPS),
                   help="groups to run (default all: quick first real mix policy)")
    p.add_argument("--extra", nargs=argparse.REMAINDER, default=[],
                   help="further flags passed to every command (e.g. --threads 2)")
    return p


def main(argv=None) -> int:
    a = build_parser().parse_args(argv)
    out = Path(a.out)
    (out / "logs").mkdir(parents=True, exist_ok=True)
    failed = 0
    for group in a.only:
        actions, chunks, flags = GROUPS[group]
        for flag in actions:  # each an --action value (None: the policy command)
            tag = "PPO" if flag is None else ("MIX" if "," in flag else flag)
            cmd, rec = _command(group, flag, chunks, flags, a.scale, out, a.extra)
            log = out / "logs" / f"{group}_{tag}.txt"
            load0 = os.getloadavg()[0]
            t0 = time.perf_counter()
            with open(log, "w") as f:
                r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)
            secs = time.perf_counter() - t0
            load1 = os.getloadavg()[0]
            failed += r.returncode != 0
            line = {"created": utc_now(), "group": group, "action": flag,
                    "argv": cmd[1:], "returncode": r.returncode, "end_to_end_s": secs,
                    "run_id": _last_run_id(rec) if rec else None, "load_avg_1m_before": load0,
                    "load_avg_1m_after": load1, "log": str(log)}
            append_record(out / "commands.ndjson", line)
            append_record(out / "commands.jsonl", command_record(line, a.scale))
            print(f"{group} {tag}: rc={r.returncode} {secs:.1f} s (load {load0:.2f} -> "
                  f"{load1:.2f})", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
