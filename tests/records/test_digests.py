"""The digests keep the behaviour versions honest (tests/records/digests.py, issue 31): a unit's
output may change only together with its version."""
import pytest
import torch

from rtrl_moe.records import current_versions

from . import digests


def _stored():
    s = digests.stored()
    if s.get("torch") != torch.__version__:
        pytest.skip(f"digests stored under torch {s.get('torch')}, this is {torch.__version__}")
    return s


def test_every_digest_is_unchanged_or_its_version_was_bumped():
    s = _stored()
    assert digests.problems(s, digests.compute(), current_versions()) == []


def test_digests_are_reproducible():
    a = digests.compute({"learner.sparse-rtrl", "task.haystack", "model.upstream-moe"})
    assert a == digests.compute(set(a))


def test_a_change_of_behaviour_without_a_bump_fails_and_names_the_unit(monkeypatch):
    s = _stored()
    versions = current_versions()
    import rtrl_moe.moe as moe
    readout = moe.RecurrentMoE.readout
    monkeypatch.setattr(moe.RecurrentMoE, "readout", lambda self, x, h: 2 * readout(self, x, h))
    changed = digests.compute({"model.moe", "learner.sparse-rtrl", "model.rnn"})
    found = digests.problems(s, changed, versions)
    assert [p.split(":")[0] for p in found] == ["learner.sparse-rtrl", "model.moe"]
    assert "but its version is still" in found[1]
    # the same change with model.moe bumped: the learner on it and the model itself ask for an
    # update of the stored digests, none is reported as an unversioned change
    bumped = {**versions, "model.moe": versions["model.moe"] + 1}
    found = digests.problems(s, changed, bumped)
    assert len(found) == 2 and not any("version is still" in p for p in found)


def test_a_learner_change_without_a_bump_fails(monkeypatch):
    s = _stored()
    import rtrl_moe.learners.sparse_rtrl as sp
    collect = sp.SparseRTRL._collect
    monkeypatch.setattr(sp.SparseRTRL, "_collect",
                        lambda self: {k: v * (1 + 2.0 ** -40) for k, v in collect(self).items()})
    found = digests.problems(s, digests.compute({"learner.sparse-rtrl"}), current_versions())
    assert len(found) == 1 and found[0].startswith("learner.sparse-rtrl: its output changed")
