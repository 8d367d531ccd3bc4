"""The long-range runner: resumable, a failing point recorded and never stopping the others."""
from rtrl_moe.longrange import runner
from rtrl_moe.longrange.protocol import Point
from rtrl_moe.records import read_records

P = [Point("lru", "lru-rtrl", 16, 0), Point("lru", "lru-rtrl", 64, 0),
     Point("rnn", "tbptt-16", 16, 0)]


def fake_child(fail=()):
    calls = []

    def child(point, timeout_s):
        calls.append(point.key)
        if point.key in fail:
            return "error", {}, "exit status 1: boom", 0.1
        return "ok", {"heldout_accuracy": 1.0, "tensor_bytes_peak": 10}, None, 0.1
    child.calls = calls
    return child


def test_resumes_and_records_a_failing_point(tmp_path):
    out = tmp_path / "lr.jsonl"
    recs = runner.run(P, out, child=fake_child(fail={P[1].key}), log=lambda *_: None)
    assert [r["status"] for r in recs] == ["ok", "error", "ok"]
    stored = read_records(out)
    assert all(r["config"]["kind"] == "longrange" and r["config"]["protocol"] == "v2"
               for r in stored)
    assert all(r["code"]["library_files"] and r["machine"] for r in stored)
    again = fake_child()
    runner.run(P, out, child=again, log=lambda *_: None)
    assert again.calls == [P[1].key]                       # only the failed one reruns


def test_session_budget_stores_the_rest_as_not_run(tmp_path):
    out = tmp_path / "lr.jsonl"
    recs = runner.run(P, out, budget_s=-1, child=fake_child(), log=lambda *_: None)
    assert [r["status"] for r in recs] == ["skipped"] * 3
    assert all(r["message"].startswith("not run") for r in recs)


def test_library_files_name_the_model_and_learner():
    files = runner.library_files(Point("lru", "tbptt-8", 16, 0))
    assert "lru.py" in files and "learners/bptt.py" in files and "longrange/protocol.py" in files
