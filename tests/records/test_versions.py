"""Behaviour versions: what a record stores, and when it is stale (rtrl_moe/records/versions.py)."""
import pytest

from rtrl_moe.records import current_versions, make_record, staleness, units_of, versions_of
from rtrl_moe.records.versions import PROVIDERS

MACHINE = {"machine_id": "m1"}
GIT = {"commit": "0" * 40, "dirty": False}


def measure_config(learner="sparse-rtrl", repeats=5):
    return {"kind": "measure", "learner": learner, "learner_kwargs": {}, "model_type": "moe",
            "model": {}, "task": "anbn", "seq_len": 16, "batch": 1, "dtype": "float32",
            "repeats": repeats}


def record(config, **kw):
    return make_record(config=config, status="ok", metrics={}, machine=MACHINE, git=GIT, **kw)


def test_every_unit_family_is_declared():
    cur = current_versions()
    for unit in ("learner.sparse-rtrl", "timing.tree-rtrl", "model.moe", "model.rnn",
                 "model.lru", "model.upstream-moe", "model.silu-norm-rnn", "task.anbn",
                 "task.haystack", "kind.measure", "kind.train", "probe.tensors",
                 "protocol.haystack8_rtrl"):
        assert unit in cur, unit
    assert all(isinstance(v, int) for v in cur.values())


def test_every_registered_learner_declares_its_own_versions():
    from rtrl_moe.learners import LEARNERS, learner_class
    for name in LEARNERS:
        assert "version" in vars(learner_class(name)), name
        assert "timing_version" in vars(learner_class(name)), name


def test_units_of_a_timed_measure_include_its_timing_and_probes():
    units = units_of(measure_config())
    assert {"kind.measure", "learner.sparse-rtrl", "model.moe", "task.anbn",
            "timing.sparse-rtrl", "probe.tensors", "probe.rss"} == set(units)
    assert "timing.sparse-rtrl" not in units_of(measure_config(repeats=0))
    agree = {**measure_config(), "kind": "agree"}
    assert "learner.bptt" in units_of(agree) and "timing.sparse-rtrl" not in units_of(agree)


def test_make_record_stamps_todays_versions_and_a_fresh_record_is_not_stale():
    rec = record(measure_config())
    assert rec["versions"] == versions_of(units_of(measure_config()))
    assert staleness(rec) == (False, "")


def test_a_changed_version_stales_the_record_and_names_the_unit():
    rec = record(measure_config())
    today = {**current_versions(), "timing.sparse-rtrl": current_versions()["timing.sparse-rtrl"] + 1}
    stale, why = staleness(rec, today)
    old = rec["versions"]["timing.sparse-rtrl"]
    assert stale is True and why == f"timing.sparse-rtrl {old} -> {old + 1}"
    # a change to another learner leaves it fresh
    other = {**current_versions(), "learner.rtrl": 99}
    assert staleness(rec, other) == (False, "")


def test_writer_named_units_and_unknown_units():
    rec = record({"kind": "longrange"}, units=["model.lru", "longrange.nothing-declares-this"])
    assert rec["versions"]["model.lru"] == current_versions()["model.lru"]
    assert rec["versions"]["longrange.nothing-declares-this"] is None   # stored, not lost
    stale, why = staleness(rec)
    assert stale is True and "longrange.nothing-declares-this None -> unknown today" in why
    with pytest.raises(ValueError, match="longrange.nothing-declares-this"):
        versions_of(["longrange.nothing-declares-this"])


def test_a_record_without_versions_is_decided_by_its_fingerprint_or_unknown():
    from rtrl_moe.records import code_fingerprints
    assert staleness({"config": {"kind": "ponder"}})[0] is None
    fresh = {"code": code_fingerprints()}
    assert staleness(fresh) == (False, "")
    old = {"code": {**code_fingerprints(), "library": "000000000000"}}
    stale, why = staleness(old)
    assert stale is True and "library" in why


def test_protocol_records_carry_their_pieces_units():
    from rtrl_moe.protocols.registry import PIECES
    units = PIECES["haystack8_rtrl"].units_for("upstream")
    assert units == ["learner.sparse-rtrl", "model.upstream-moe", "protocol.haystack8_rtrl"]
    assert "model.moe" in PIECES["haystack8_rtrl"].units_for("bench")
    versions_of(u for p in PIECES.values() for a in ("upstream", "bench") for u in p.units_for(a))


def test_the_optional_providers_are_named_for_their_owners():
    assert "rtrl_moe.longrange.versions" in PROVIDERS and "ponderttt.versions" in PROVIDERS
