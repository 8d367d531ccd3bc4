"""The claims registry: coverage, ids, exact quotes, and the verdict of every claim on fixtures."""
from __future__ import annotations

import pandas as pd
import pytest
from report_testlib import CLAIMS_DIR

from rtrl_moe.report.claims import CLAIMS, SOURCES
from rtrl_moe.report.evidence import (
    CONFIRMED,
    NOT_MEASURED,
    NOT_SUPPORTED,
    PARTIAL,
    REFUTED,
    VERDICTS,
)

# the verdict each claim must give on tests/report/fixtures/results (see synth.py for the data); 003's
# three arms sit at the fixture's chance (25%), so its comparisons are NOT SUPPORTED
EXPECTED = {
    "000-const-50k": PARTIAL, "000-bptt-2500mb": REFUTED, "000-peak-82mb": PARTIAL,
    "000-mem-per-token": PARTIAL, "000-bptt-linear": PARTIAL, "000-bptt-oom-1024": REFUTED,
    "000-tbptt-grows": REFUTED, "000-table-rtrl-flat": PARTIAL, "000-rtrl-80mb": PARTIAL,
    "000-time-ratio": REFUTED, "000-rtrl-slower": CONFIRMED, "000-100k-practical": NOT_MEASURED,
    "000-exact": PARTIAL, "000-similar-accuracy": PARTIAL, "000-bptt-fails-10k": NOT_MEASURED,
    "000-gpu-speedup": NOT_MEASURED, "001-sparse-formula": REFUTED, "001-write-sparsity": CONFIRMED,
    "001-jacrev-opt": NOT_MEASURED, "001-anbn-bptt-95": CONFIRMED, "001-anbn-rtrl-95": CONFIRMED,
    "001-mem-80mb": PARTIAL, "001-haystack-oom": NOT_MEASURED, "001-tbptt-bias": CONFIRMED,
    "001-rtrl-10k": PARTIAL, "001-exact-recursion": CONFIRMED, "001-const-vs-linear": CONFIRMED,
    "002-anbn-bptt-100": CONFIRMED, "002-lr": PARTIAL, "002-lr-48": CONFIRMED, "002-tree-anbn": CONFIRMED,
    "002-tree-haystack": CONFIRMED, "002-tree-2-3x": PARTIAL, "002-tree-1.5-2.7x": CONFIRMED,
    "002-bptt-growth": REFUTED, "002-bptt-100k": REFUTED, "002-rtrl-0.0005": REFUTED,
    "002-rtrl-unchanged": CONFIRMED, "002-ratio-10k": REFUTED, "002-ratio-100k": REFUTED,
    "002-rtrl-oh": REFUTED, "002-not-stored": REFUTED, "002-under-1mb": REFUTED, "002-bptt-1m": REFUTED,
    "002-bptt-impossible-10k": NOT_MEASURED, "002-haystack-acc": REFUTED, "002-sparse-dense-100": PARTIAL,
    "002-no-overhead": CONFIRMED, "002-only-practical": NOT_MEASURED, "003-128-winner": NOT_SUPPORTED,
    "003-T32": NOT_SUPPORTED, "003-T64": NOT_SUPPORTED, "003-T128": NOT_SUPPORTED, "003-comparable": NOT_SUPPORTED,
    "003-scalars": REFUTED, "003-128x": REFUTED, "003-table-64": REFUTED, "003-table-128": REFUTED,
    "003-table-1k": REFUTED, "003-table-1m": REFUTED, "003-table-1b": REFUTED, "003-gpu-1m": NOT_MEASURED,
    "003-512b-constant": REFUTED, "003-0.25x": CONFIRMED, "003-dna-bptt": REFUTED, "003-dna-rtrl": REFUTED,
    "003-llm-bptt": NOT_MEASURED, "003-llm-rtrl": REFUTED, "003-tree-oh": REFUTED,
    "003-slower-short": CONFIRMED, "003-time-linear": CONFIRMED, "003-mem-oh-const": REFUTED,
    "003-H128": CONFIRMED, "003-1m-feasible": NOT_MEASURED, "000-demo-acc-0.25": NOT_MEASURED,
    "000-table-time-linear": PARTIAL, "000-table-tbptt-faster": REFUTED, "002-random-66": REFUTED,
    "002-tree-logn": NOT_MEASURED, "002-pt-shape": CONFIRMED, "003-bptt-oth2": PARTIAL,
    "003-1b-feasible": NOT_MEASURED, "003-only-viable": NOT_MEASURED,
    # third reading (claims_third.py)
    "000-loss-1.8234": NOT_MEASURED, "000-memory-not-accuracy": PARTIAL, "000-hidden-64": NOT_MEASURED,
    "001-enables-training": PARTIAL, "002-thesis": PARTIAL, "002-sparse-converge": NOT_MEASURED,
    "002-hyper-not-sparsity": PARTIAL, "002-bptt-oth": PARTIAL, "002-not-fundamental": NOT_MEASURED,
    "003-wins-infinite": NOT_SUPPORTED, "003-consistent": PARTIAL, "003-30-trials": NOT_MEASURED,
    "003-50pct": CONFIRMED,
}

# claims whose verdict follows from the documents' own arithmetic, with no record at all
ARITHMETIC_ONLY_REFUTED = {"003-llm-rtrl"}


def test_registry_size_and_ids():
    ids = [cl.id for cl in CLAIMS]
    assert len(ids) >= 30
    assert len(set(ids)) == len(ids), "claim ids must be unique"
    assert {cl.source for cl in CLAIMS} == set(SOURCES)
    for cl in CLAIMS:
        assert cl.quote.strip() and cl.reading and cl.measured and cl.test and cl.documented, cl.id
        assert callable(cl.check), cl.id


def test_expected_table_covers_registry():
    assert set(EXPECTED) == {cl.id for cl in CLAIMS}


@pytest.mark.skipif(not CLAIMS_DIR.is_dir(), reason=f"documents not found at {CLAIMS_DIR}")
def test_every_quote_occurs_in_its_source():
    texts = {}
    for cl in CLAIMS:
        t = texts.setdefault(cl.source, (CLAIMS_DIR / cl.source).read_text(encoding="utf-8"))
        for q in (cl.quote,) + tuple(cl.also):
            assert q in t, f"{cl.id}: quote not found verbatim in {cl.source}: {q!r}"


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda cl: cl.id)
def test_verdict_on_fixtures(claim, fixture_df):
    ev = claim.evaluate(fixture_df)
    assert ev.verdict in VERDICTS
    assert ev.measured_text
    assert ev.verdict == EXPECTED[claim.id], f"{claim.id}: {ev.verdict}: {ev.measured_text}"


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda cl: cl.id)
def test_no_records_gives_not_measured(claim):
    ev = claim.evaluate(pd.DataFrame())
    expected = REFUTED if claim.id in ARITHMETIC_ONLY_REFUTED else NOT_MEASURED
    assert ev.verdict == expected, f"{claim.id}: {ev.verdict}: {ev.measured_text}"
    assert ev.measured_text
