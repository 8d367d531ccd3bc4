"""Paths and helpers shared by the report's tests (imported by name: tests/report is on sys.path)."""
from __future__ import annotations

from pathlib import Path

import synth

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FIXTURE_RESULTS = HERE / "fixtures" / "results"
CLAIMS_DIR = REPO / ".." / "shared" / "claims"


def load_records(tmp_path: Path, records, name="r.jsonl"):
    """DataFrame of the given records, read through the report's loader."""
    from rtrl_moe.report import data
    d = tmp_path / "results"
    synth.write(d / name, records)
    return data.load(d)[0]


def evidence(claim_id, df):
    """The Evidence the registry's claim gives on df."""
    from rtrl_moe.report.claims import by_id
    return by_id()[claim_id].evaluate(df)


def verdict(claim_id, df):
    return evidence(claim_id, df).verdict


def measure(learners, lengths=synth.LENGTHS, tweak=None, **kw):
    """Synthetic `measure` records of learners, each passed through tweak (in place) if given."""
    recs = synth.measure_records(learners=learners, lengths=lengths, **kw)
    for r in recs:
        if tweak:
            tweak(r)
    return recs
