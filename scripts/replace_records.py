"""Replace committed records by a re-measure of the same points (docs/RESULTS.md's rule).

    python scripts/replace_records.py results/docs.jsonl NEW.jsonl [NEW2.jsonl ...]

Every record of the target file whose ``point_key`` appears in a new file is dropped (git
history keeps it); the new records are appended in their order. Lines that do not parse stop
the script before anything is written.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def read(path: Path) -> list[dict]:
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise SystemExit(f"{path}:{n}: not a JSON record ({e})")
    return out


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        raise SystemExit(__doc__)
    target, news = Path(argv[0]), [Path(a) for a in argv[1:]]
    old = read(target) if target.exists() else []
    new = [r for p in news for r in read(p)]
    keys = {r.get("point_key") for r in new}
    if None in keys:
        raise SystemExit("a new record has no point_key")
    kept = [r for r in old if r.get("point_key") not in keys]
    target.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in kept + new))
    print(f"{target}: {len(old) - len(kept)} replaced, {len(new)} written, {len(kept)} kept")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
