"""The claims registry: coverage, ids, exact quotes, and the verdict of every claim on fixtures."""
from __future__ import annotations

import pandas as pd
import pytest
from report_testlib import CLAIMS_DIR

from rtrl_moe.report import checks as c
from rtrl_moe.report.claims import CLAIMS, SOURCES

# the verdict each claim must give on tests/report/fixtures/results (see synth.py for the data)
EXPECTED = {
    "000-const-50k": c.PARTIAL, "000-bptt-2500mb": c.PARTIAL, "000-peak-82mb": c.PARTIAL,
    "000-mem-per-token": c.PARTIAL, "000-bptt-linear": c.CONFIRMED, "000-bptt-oom-1024": c.CONFIRMED,
    "000-tbptt-grows": c.REFUTED, "000-table-rtrl-flat": c.CONFIRMED, "000-rtrl-80mb": c.CONFIRMED,
    "000-time-ratio": c.REFUTED, "000-rtrl-slower": c.CONFIRMED, "000-100k-practical": c.NOT_MEASURED,
    "000-exact": c.PARTIAL, "000-similar-accuracy": c.PARTIAL, "000-bptt-fails-10k": c.NOT_MEASURED,
    "000-gpu-speedup": c.NOT_MEASURED,
    "001-sparse-formula": c.REFUTED, "001-write-sparsity": c.CONFIRMED, "001-jacrev-opt": c.NOT_MEASURED,
    "001-anbn-bptt-95": c.CONFIRMED, "001-anbn-rtrl-95": c.CONFIRMED, "001-mem-80mb": c.CONFIRMED,
    "001-haystack-oom": c.NOT_MEASURED, "001-tbptt-bias": c.CONFIRMED, "001-rtrl-10k": c.PARTIAL,
    "001-exact-recursion": c.CONFIRMED, "001-const-vs-linear": c.CONFIRMED,
    "002-anbn-bptt-100": c.CONFIRMED, "002-lr": c.CONFIRMED, "002-lr-48": c.CONFIRMED,
    "002-tree-anbn": c.CONFIRMED, "002-tree-haystack": c.CONFIRMED, "002-tree-2-3x": c.PARTIAL,
    "002-tree-1.5-2.7x": c.CONFIRMED, "002-bptt-growth": c.PARTIAL, "002-bptt-100k": c.PARTIAL,
    "002-rtrl-0.0005": c.REFUTED, "002-rtrl-unchanged": c.CONFIRMED, "002-ratio-10k": c.REFUTED,
    "002-ratio-100k": c.REFUTED, "002-rtrl-oh": c.REFUTED, "002-not-stored": c.REFUTED,
    "002-under-1mb": c.REFUTED, "002-bptt-1m": c.PARTIAL, "002-bptt-impossible-10k": c.NOT_MEASURED,
    "002-haystack-acc": c.PARTIAL, "002-sparse-dense-100": c.PARTIAL, "002-no-overhead": c.CONFIRMED,
    "002-only-practical": c.NOT_MEASURED,
    "003-128-winner": c.PARTIAL, "003-T32": c.PARTIAL, "003-T64": c.PARTIAL, "003-T128": c.CONFIRMED,
    "003-comparable": c.CONFIRMED, "003-scalars": c.REFUTED, "003-128x": c.REFUTED,
    "003-table-64": c.PARTIAL, "003-table-128": c.PARTIAL, "003-table-1k": c.PARTIAL,
    "003-table-1m": c.PARTIAL, "003-table-1b": c.PARTIAL, "003-gpu-1m": c.NOT_MEASURED,
    "003-512b-constant": c.PARTIAL, "003-0.25x": c.CONFIRMED, "003-dna-bptt": c.PARTIAL,
    "003-dna-rtrl": c.REFUTED, "003-llm-bptt": c.NOT_MEASURED, "003-llm-rtrl": c.REFUTED,
    "003-tree-oh": c.REFUTED, "003-slower-short": c.CONFIRMED, "003-time-linear": c.CONFIRMED,
    "003-mem-oh-const": c.PARTIAL, "003-H128": c.CONFIRMED, "003-1m-feasible": c.NOT_MEASURED,
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
    assert ev.verdict in c.VERDICTS
    assert ev.measured_text
    assert ev.verdict == EXPECTED[claim.id], f"{claim.id}: {ev.verdict}: {ev.measured_text}"


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda cl: cl.id)
def test_no_records_gives_not_measured(claim):
    ev = claim.evaluate(pd.DataFrame())
    expected = c.REFUTED if claim.id in ARITHMETIC_ONLY_REFUTED else c.NOT_MEASURED
    assert ev.verdict == expected, f"{claim.id}: {ev.verdict}: {ev.measured_text}"
    assert ev.measured_text
