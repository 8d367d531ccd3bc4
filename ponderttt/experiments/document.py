"""Run the quick start's experiments as written, each command in its own fresh process, and
time each one end to end (interpreter start to exit, as a user at a shell would see it).

    python -m ponderttt.experiments.document --out results/ponder [--scale 125m] [--only ...]

Groups: ``quick`` (the "Quick Validation": SKIP, 10 chunks), ``first`` (the "First
Experiment": 20 chunks of each action, synthetic), ``real`` (the same four on
``--use_real_data``), ``mix`` (not in the document: the four actions cycled over 40 chunks in
one process, for time ratios under the same load). Each command appends its record to ``OUT/<group>.jsonl`` (label
``doc-<group>``), its printed output goes to ``OUT/logs/<group>_<action>.txt``, and
``OUT/commands.ndjson`` gets one line per command: argv, return code, end-to-end seconds, the
record's run_id, the 1-minute load average before and after.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from .._harness import append_record, utc_now
from ..actions import Action

ALL = [a.value for a in Action]
GROUPS = {  # group: (--action values, --num_chunks, further flags)
    "quick": (["SKIP"], 10, []),
    "first": (ALL, 20, []),
    "real": (ALL, 20, ["--use_real_data"]),
    # not in the document: the four actions interleaved in ONE process (10 chunks each), so
    # their time ratios share the same load, threads and warm caches (conventions: compare
    # speeds as ratios measured in the same run)
    "mix": ([",".join(ALL)], 40, ["--seq_len", "0"]),
}


def _last_run_id(path: Path):
    try:
        return json.loads(path.read_text().splitlines()[-1])["run_id"]
    except (OSError, IndexError, ValueError, KeyError):
        return None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m ponderttt.experiments.document",
                                description="The PonderTTT quick start's experiments, timed.")
    p.add_argument("--out", default="local/ponder/document",
                   help="folder for records, logs and commands.ndjson (default local/ponder/document)")
    p.add_argument("--scale", default="125m", help="--model_scale of every command (default 125m)")
    p.add_argument("--only", nargs="+", choices=list(GROUPS), default=list(GROUPS),
                   help="groups to run (default all: quick first real mix)")
    p.add_argument("--extra", nargs=argparse.REMAINDER, default=[],
                   help="further flags passed to every command (e.g. --threads 2)")
    a = p.parse_args(argv)
    out = Path(a.out)
    (out / "logs").mkdir(parents=True, exist_ok=True)
    failed = 0
    for group in a.only:
        actions, chunks, flags = GROUPS[group]
        for flag in actions:  # each an --action value
            tag = "MIX" if "," in flag else flag
            rec = out / f"{group}.jsonl"
            cmd = [sys.executable, "-m", "ponderttt.experiments.train_baseline",
                   "--model_scale", a.scale, "--action", flag, "--num_chunks", str(chunks),
                   *flags, "--output_dir", str(out / "json" / group), "--record", str(rec),
                   "--label", f"doc-{group}", *a.extra]
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
                    "run_id": _last_run_id(rec), "load_avg_1m_before": load0,
                    "load_avg_1m_after": load1, "log": str(log)}
            append_record(out / "commands.ndjson", line)
            print(f"{group} {tag}: rc={r.returncode} {secs:.1f} s (load {load0:.2f} -> "
                  f"{load1:.2f})", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
