"""The longrange runner: resumable, failures recorded, bad flags clear; the preset is fixed."""
import json

import pytest

from rtrl_moe.longrange import registry, runner
from rtrl_moe.longrange.__main__ import main
from rtrl_moe.longrange.experiment import run_point
from rtrl_moe.records import read_records

P = [registry.Point("lru", "lru-rtrl", 16, 0), registry.Point("lru", "lru-rtrl", 64, 0),
     registry.Point("rnn", "tbptt", 16, 0, k=16)]


def fake_child(fail=(), over=()):
    calls = []

    def child(point, timeout_s):
        calls.append(point.key)
        if point.key in fail:
            return "error", {}, "exit status 1: boom", 0.1
        if point.family in over:
            return "skipped", {"not_run": "budget", "est_train_s": 999.0}, "not run: over", 0.1
        return "ok", {"heldout_accuracy": 1.0, "tensor_bytes_peak": 10}, None, 0.1
    child.calls = calls
    return child


def test_resumes_and_records_a_failing_point(tmp_path):
    out = tmp_path / "lr.jsonl"
    child = fake_child(fail={P[1].key})
    recs = runner.run(P, out, child=child, log=lambda *_: None)
    assert [r["status"] for r in recs] == ["ok", "error", "ok"]
    assert "boom" in recs[1]["message"]
    stored = read_records(out)
    assert len(stored) == 3 and all(r["config"]["kind"] == "longrange" for r in stored)
    assert all(r["code"]["library_files"] and r["machine"] and r["commit"] for r in stored)
    again = fake_child()
    runner.run(P, out, child=again, log=lambda *_: None)
    assert again.calls == [P[1].key]                       # only the failed one reruns


def test_over_budget_family_is_estimated_not_started(tmp_path):
    out = tmp_path / "lr.jsonl"
    pts = [registry.Point("rnn", "snap-1", D, 0) for D in (16, 64, 256)]
    child = fake_child(over={"rnn/snap-1"})
    recs = runner.run(pts, out, child=child, waiting="run", log=lambda *_: None)
    assert child.calls == [pts[0].key]
    assert [r["status"] for r in recs] == ["skipped"] * 3
    assert recs[1]["metrics"]["estimated_from"] == pts[0].key
    assert "not run: over the preset's time budget, est. 999 s" in recs[2]["message"]
    again = fake_child()
    runner.run(pts, out, child=again, waiting="run", log=lambda *_: None)
    assert again.calls == []                                # settled
    fresh = fake_child()
    runner.run(pts, out, child=fresh, waiting="run", rerun=True, log=lambda *_: None)
    assert fresh.calls == [p.key for p in pts]              # --rerun: measured afresh


def test_waiting_learners(tmp_path):
    pt = [registry.Point("moe", "sparse-rtrl", 16, 0)]
    flag = tmp_path / "final"
    child = fake_child()
    assert runner.run(pt, tmp_path / "a.jsonl", child=child, final_flag=str(flag),
                      log=lambda *_: None) == []
    rec, = runner.run(pt, tmp_path / "a.jsonl", child=child, waiting="record",
                      final_flag=str(flag), log=lambda *_: None)
    assert rec["status"] == "skipped" and rec["metrics"]["not_run"] == "waiting"
    flag.write_text("")
    rec, = runner.run(pt, tmp_path / "a.jsonl", child=child, final_flag=str(flag),
                      log=lambda *_: None)
    assert rec["status"] == "ok" and child.calls == [pt[0].key]


def test_session_budget_records_the_rest(tmp_path):
    recs = runner.run(P, tmp_path / "b.jsonl", child=fake_child(), budget_s=-1,
                      log=lambda *_: None)
    assert {r["metrics"]["not_run"] for r in recs} == {"session"}


def test_a_real_child_failure_is_recorded(tmp_path, monkeypatch):
    bad = registry.Point("lru", "rflo", 16, 0)          # rflo refuses the LRU cell
    status, metrics, message, _ = runner.run_child(bad, timeout_s=120)
    assert status == "error" and "rflo needs the tanh RecurrentRNN" in message


def test_point_in_process_measures_memory_time_and_accuracy():
    m = run_point(registry.Point("lru", "lru-rtrl", 4, 0), steps=96, cap_s=1e9)
    assert m["tensor_bytes_peak"] > m["tensor_bytes_learner_state"] > 0
    assert m["ms_per_token"] > 0 and m["heldout_targets"] == 128
    assert m["chance_accuracy"] == 1 / 8 and "not_run" not in m
    over = run_point(registry.Point("lru", "tbptt", 4, 0, k=16), steps=200, cap_s=0)
    assert over["not_run"] == "budget" and "heldout_accuracy" not in over
    assert over["tensor_bytes_peak"] > 0


def test_bad_flags_give_clear_errors(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--seeds", "x"])
    assert "seeds must be integers" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="matches no point"):
        main(["list", "--only", "nope"])
    with pytest.raises(SystemExit):
        main(["run", "--timeout", "0"])
    assert "--timeout must be positive" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["run", "--delays", "-3"])
    assert "delays must be integers >= 0" in capsys.readouterr().err


def test_the_preset():
    pts = registry.preset()
    assert len({p.key for p in pts}) == len(pts)
    assert {p.delay for p in pts} == set(registry.DELAYS) == {16, 64, 256, 1024, 4096}
    assert len(registry.SEEDS) >= 3
    labels = {p.family for p in pts}
    for need in ("lru/lru-rtrl", "moe/rtrl", "moe/sparse-rtrl", "moe/tree-rtrl", "rnn/snap-1",
                 "rnn/snap-2", "rnn/uoro", "rnn/rflo", "lru/bptt", "lru/tbptt-16",
                 "lru/tbptt-64", "lru/tbptt-256", "rnn/tbptt-16", "moe/tbptt-256"):
        assert need in labels
    assert all(p.every == p.k for p in pts if p.learner == "tbptt")
    assert all(p.every == registry.EVERY for p in pts if p.learner not in ("tbptt",))
    # cheap learners first: every waiting learner comes after every other one
    first_wait = min(i for i, p in enumerate(pts) if p.waits)
    assert all(p.waits for p in pts[first_wait:])
    json.dumps(pts[0].config())
