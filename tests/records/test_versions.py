"""Behaviour versions: what a record stores, and when it is stale (rtrl_moe/records/versions.py)."""
import pytest

from rtrl_moe.records import current_versions, make_record, staleness, units_of, versions_of
from rtrl_moe.records.versions import ROOTS, declarations

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


def test_every_registered_unit_declares_its_own_versions():
    """The static declarations agree with the registries: each learner class, task class and
    bench model class holds its own units in its own body (never inherited)."""
    import rtrl_moe as rm
    from rtrl_moe import build, tasks
    from rtrl_moe.learners import LEARNERS, learner_class
    cur = current_versions()
    for name in LEARNERS:
        own = vars(learner_class(name)).get("VERSIONS", {})
        assert set(own) == {f"learner.{name}", f"timing.{name}"}, name
        assert all(cur[u] == v for u, v in own.items())
    for name in tasks.TASKS:
        assert set(vars(tasks._task_class(name))["VERSIONS"]) == {f"task.{name}"}
    for t in build.MODEL_TYPES:
        assert set(vars(build.model_classes(t)[1])["VERSIONS"]) == {f"model.{t}"}
    assert set(vars(rm.UpstreamMoE)["VERSIONS"]) == {"model.upstream-moe"}


def test_declarations_are_read_from_source_and_checked(tmp_path):
    (tmp_path / "a.py").write_text('class A:\n    VERSIONS = {"model.a": 2}\n')
    (tmp_path / "b.py").write_text('X: dict = 1\nVERSIONS: dict = {"task.b": 1}\n')
    assert declarations(tmp_path) == {"model.a": (2, f"{tmp_path.name}/a.py:2"),
                                      "task.b": (1, f"{tmp_path.name}/b.py:2")}
    (tmp_path / "c.py").write_text('VERSIONS = {"model.a": 1}\n')
    with pytest.raises(ValueError, match="already declared"):
        declarations(tmp_path)
    (tmp_path / "c.py").write_text('VERSIONS = {"model.c": N}\n')
    with pytest.raises(ValueError, match="c.py:1: VERSIONS must be a literal"):
        declarations(tmp_path)


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
    assert units_of({"kind": "longrange"}) == []
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
    from rtrl_moe.protocols.registry import PIECES, units_of_config
    units = PIECES["haystack8_rtrl"].units_for("upstream")
    assert units_of_config({"kind": "protocol", "protocol": "haystack8_rtrl"}) == units
    assert units == ["learner.sparse-rtrl", "model.upstream-moe", "protocol.haystack8_rtrl"]
    assert "model.moe" in PIECES["haystack8_rtrl"].units_for("bench")
    versions_of(u for p in PIECES.values() for a in ("upstream", "bench") for u in p.units_for(a))


def test_versions_are_read_without_importing_what_declares_them():
    import subprocess
    import sys
    code = ("import sys; from rtrl_moe.records import current_versions; "
            "before = set(sys.modules); "
            "assert current_versions()['learner.sparse-rtrl'] >= 1; "
            "assert not [m for m in set(sys.modules) - before if m.startswith('rtrl_moe')]")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
    assert [r.name for r in ROOTS] == ["rtrl_moe", "ponderttt"]
