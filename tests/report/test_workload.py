"""Declared workloads and rules: every claim has both, a workload holding two model configs of
one part is an error (never pooled), and a documented magnitude outside the band never confirms."""
from __future__ import annotations

import copy

import pytest
import synth
from report_testlib import evidence, load_records, measure

from rtrl_moe.report.claims import CLAIMS, by_id
from rtrl_moe.report.evidence import CONFIRMED, NOT_MEASURED, PARTIAL, REFUTED, Evidence, combine
from rtrl_moe.report.workload import DOC, PoolingError, Rule


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda cl: cl.id)
def test_every_claim_declares_workload_and_rule(claim):
    assert claim.workload is not None and claim.rule is not None
    assert claim.rule.text and claim.rule.metric
    d = claim.workload.as_dict()
    assert {"preset_labels", "model", "lengths", "batch", "dtype", "seeds"} <= set(d)


def test_default_workload_is_the_documents_model():
    assert DOC == {"d_model": 32, "n_slots": 4, "n_experts": 4, "topk": 2, "topk_read": 2, "topk_write": 2,
                   "d_ff": 64}
    assert by_id()["000-rtrl-80mb"].workload.model == DOC


def _other_config(r):
    # a model field the DOC workload does not pin: both configs pass its filter, so only the
    # no-pooling guard can tell them apart
    r["config"]["model"]["expert_init"] = "scaled"


def test_two_configs_in_one_part_are_not_pooled(tmp_path):
    recs = measure(("rtrl", "sparse-rtrl"), label="docs-memory")
    other = measure(("rtrl", "sparse-rtrl"), label="docs-memory", tweak=_other_config, run_id="other-run")
    df = load_records(tmp_path, recs + other)
    cl = by_id()["002-rtrl-unchanged"]
    with pytest.raises(PoolingError):
        cl.evaluate(df, strict=True)
    ev = cl.evaluate(df)
    assert ev.verdict == NOT_MEASURED and ev.measured_text.startswith("ERROR")


def test_other_config_outside_the_workload_is_ignored(tmp_path):
    """A record of another config is simply not part of a DOC workload (it is filtered, not pooled)."""
    recs = copy.deepcopy(measure(("rtrl", "sparse-rtrl"), label="docs-memory", tweak=lambda r: r["config"]["model"]
                                 .update(d_model=8)))
    df = load_records(tmp_path, recs)
    assert evidence("002-rtrl-unchanged", df).verdict == NOT_MEASURED


def test_band_caps_a_shape_confirmation():
    r = Rule("m", "t", 80 * 2 ** 20, "B", far=PARTIAL)
    assert r.cap(CONFIRMED, 1.0) == (CONFIRMED, None)
    assert r.cap(CONFIRMED, 0.006)[0] == PARTIAL
    strict = Rule("m", "t", 80 * 2 ** 20, "B")
    assert strict.cap(CONFIRMED, 0.006)[0] == REFUTED
    assert strict.cap(CONFIRMED, 0.3)[0] == PARTIAL
    assert strict.cap(NOT_MEASURED, 0.006)[0] == NOT_MEASURED
    assert strict.cap(REFUTED, 1.0)[0] == REFUTED


def test_80mb_is_never_confirmed_at_a_few_mib(tmp_path):
    """Constant RTRL memory at ~11 MiB (the fixture) against a documented ~80 MB: not CONFIRMED."""
    df = load_records(tmp_path, measure(("rtrl", "sparse-rtrl", "bptt"), label="docs-memory"))
    for cid in ("000-rtrl-80mb", "000-table-rtrl-flat", "000-peak-82mb", "001-mem-80mb"):
        ev = evidence(cid, df)
        assert ev.verdict != CONFIRMED, (cid, ev.measured_text)
        assert ev.ratio is not None and ev.ratio < 0.5


def test_band_confirms_at_the_documented_magnitude(tmp_path):
    """The same constant curve at ~80 MiB confirms 000-rtrl-80mb: the band can pass, not only fail
    (tensor bytes and RSS both there: on one alone it is PARTIAL, test_mechanics)."""
    def big(r):
        r["metrics"]["tensor_bytes_peak"] = 80 * 2 ** 20
        r["metrics"]["rss_peak"] = 80 * 2 ** 20
    df = load_records(tmp_path, measure(("rtrl", "sparse-rtrl"), label="docs-memory", tweak=big))
    assert evidence("000-rtrl-80mb", df).verdict == CONFIRMED


def test_combine_refutes_on_a_refuted_core_part():
    ok, bad = Evidence(CONFIRMED, "x"), Evidence(REFUTED, "y")
    assert combine([ok, bad]) == REFUTED
    assert combine([ok, bad], core=[0]) == PARTIAL
    assert combine([ok, Evidence(NOT_MEASURED, "z")]) == PARTIAL


def test_records_listed_with_staleness(tmp_path):
    recs = measure(("rtrl", "sparse-rtrl"), label="docs-memory")
    for r in recs:   # rtrl's series measured on other code: one series of its own, every record stale
        if r["config"]["learner"] == "rtrl":
            r["code"] = {"library": "0" * 12, "harness": "0" * 12}
    df = load_records(tmp_path, recs)
    ev = evidence("002-rtrl-unchanged", df)
    assert len(ev.records) == len(recs)
    by = {r["record"]: r for r in ev.records}
    first = by["r.jsonl:1"]
    assert first["stale"] is True and "library" in first["stale_reason"]
    other = [r for r in ev.records if r["stale"] is not True]
    assert other and all(r["stale"] is None for r in other)   # no versions, no fingerprint: unknown


def test_synth_labels_match_the_docs_preset():
    labels = {r["config"]["label"] for r in synth.measure_records() + synth.time_records()}
    assert labels == {"docs-memory", "docs-time", "docs-tree-anbn"}
