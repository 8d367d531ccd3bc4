"""Replace committed records by a re-measure of the same points (docs/RESULTS.md's rule).

    python scripts/replace_records.py results/docs.jsonl NEW.jsonl [NEW2.jsonl ...]

Every record of the target file whose ``point_key`` appears in a new file is dropped (git
history keeps it); the new records are appended in their order. Files are read and written
with the records' own reader and writer (``rtrl_moe.records``), so a corrupt or foreign file
stops the script with its file and line before anything is written.
"""
from __future__ import annotations

import sys
from pathlib import Path

from rtrl_moe.records import ResultsError
from rtrl_moe.records.store import dumps_record, read_records


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        raise SystemExit(__doc__)
    target, news = Path(argv[0]), [Path(a) for a in argv[1:]]
    try:
        old = read_records(target) if target.exists() else []
        new = [r for p in news for r in read_records(p)]
    except ResultsError as e:
        raise SystemExit(f"error: {e}")
    keys = {r.get("point_key") for r in new}
    if None in keys:
        raise SystemExit("error: a new record has no point_key")
    kept = [r for r in old if r.get("point_key") not in keys]
    target.write_text("".join(dumps_record(r) + "\n" for r in kept + new))
    print(f"{target}: {len(old) - len(kept)} replaced, {len(new)} written, {len(kept)} kept")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
