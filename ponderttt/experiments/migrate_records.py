"""One-off migration of issue 10's document runs into ``results/ponder/document.jsonl``
(issue 32), through ``rtrl_moe.records``.

    python -m ponderttt.experiments.migrate_records OLD_DIR results/ponder/document.jsonl

Kept (the document's commands as written, on the random-init GPT-2 125m with the TTT-Linear
layer of ``ttt.py``; that code is unchanged since they were measured): ``quick.jsonl``,
``first.jsonl``, ``real.jsonl`` (labels doc-quick/first/real) and the end-to-end times of
those commands from ``commands.jsonl`` (labels command-quick/first/real). Each record keeps its
run id, commit, machine and metrics; the config gains the contract's fields
(``backbone: gpt2-random``, ``update: ttt``, ``seed`` = 0, the commands' default), and a command
record gains ``metrics.loss`` = the loss its own run recorded (same run id). Dropped (and why)
is listed in docs/PONDERTTT.md.
"""
from __future__ import annotations

import sys
from pathlib import Path

KEEP = ("quick.jsonl", "first.jsonl", "real.jsonl")
KEEP_COMMANDS = ("command-quick", "command-first", "command-real")


def migrate(old: Path, out: Path) -> int:
    from rtrl_moe.records import append_record, read_records
    if out.exists():
        raise FileExistsError(f"{out} exists; migrate into a new file")
    runs, n = {}, 0
    for f in KEEP:
        for r in read_records(old / f):
            r["config"].update(backbone="gpt2-random", update="ttt",
                               seed=r["config"].get("seed", 0), migrated_from=f)
            runs[r["run_id"]] = r
            append_record(out, r)
            n += 1
    for r in read_records(old / "commands.jsonl"):
        if r["config"].get("label") not in KEEP_COMMANDS:
            continue
        run = runs.get(r["run_id"])
        r["config"].update(backbone="gpt2-random", update="ttt", seed=0,
                           migrated_from="commands.jsonl")
        r["metrics"]["loss"] = run["metrics"]["loss"] if run else None
        if r["metrics"]["loss"] is None:
            continue   # a command without its run: no loss to carry, dropped
        append_record(out, r)
        n += 1
    return n


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m ponderttt.experiments.migrate_records OLD_DIR OUT.jsonl", file=sys.stderr)
        return 2
    try:
        print(f"{migrate(Path(argv[0]), Path(argv[1]))} records written to {argv[1]}")
    except Exception as e:   # noqa: BLE001 - one line, not a traceback
        print(f"migrate_records: error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
