"""Stamp behaviour versions into records measured before them (rtrl_moe/records/migrate.py).

    python scripts/migrate_versions.py [--rev REV] FILE.jsonl [FILE2.jsonl ...]

A record whose stored code fingerprint equals the source at REV (default: the commit before
versions, where every unit is at version 1) gets ``versions``; the others are left as they
are (stale). Each file is read and rewritten through ``rtrl_moe.records``; a bad file stops the
script (one line, exit 2) before anything is written.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from rtrl_moe.records import ResultsError
from rtrl_moe.records.migrate import BASE_REV, migrate_with_base
from rtrl_moe.records.store import dumps_record, read_records

REPO = str(Path(__file__).resolve().parents[1])
#: modules whose ``units_of_config(config)`` names the units of their own record kinds (a
#: protocol piece's, a long-range point's, a PonderTTT run's); absent ones are skipped
UNIT_SOURCES = ("rtrl_moe.protocols.registry", "rtrl_moe.longrange.versions", "ponderttt.versions")


def kind_units(rec: dict) -> list[str]:
    out: list[str] = []
    for name in UNIT_SOURCES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        hook = getattr(module, "units_of_config", None)
        if hook is not None:
            out += list(hook(rec.get("config", {})))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--rev", default=BASE_REV, help="the source versions 1 describe")
    a = ap.parse_args(argv)
    try:
        loaded = {f: read_records(f) for f in a.files}
    except ResultsError as e:
        print(f"migrate_versions: {e}", file=sys.stderr)
        return 2
    for f, recs in loaded.items():
        new, n = migrate_with_base(recs, REPO, a.rev, kind_units)
        if n:
            f.write_text("".join(dumps_record(r) + "\n" for r in new))
        print(f"{f}: {n} of {len(recs)} records migrated (byte-identical source at {a.rev})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
