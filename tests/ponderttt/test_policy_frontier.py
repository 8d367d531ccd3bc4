"""The frontier runner and the policy CLIs: records, resume, a broken record, bad flags."""
import json

import pytest

pytest.importorskip("transformers")

from ponderttt.experiments import frontier, train_policy, visualize_results  # noqa: E402

TINY = ["--model_scale", "tiny", "--chunk_size", "32"]
SMALL = TINY + ["--train_chunks", "6", "--eval_chunks", "5", "--seeds", "0",
                "--data", "synthetic", "--gate_rates", "0.5", "--budgets", "2",
                "--ppo_iterations", "2"]


def _records(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_frontier_records_and_resume(tmp_path, capsys):
    out = tmp_path / "f.jsonl"
    assert frontier.main(SMALL + ["--output", str(out)]) == 0
    recs = _records(out)
    # 4 fixed + hindsight + 1 gate + 1 ppo + oracle at budget 2 (= the gate's 1 + 2 * 0.5)
    assert len(recs) == 8 and all(r["status"] == "ok" for r in recs)
    by = {(r["config"]["method"], r["config"]["setting"]): r for r in recs}
    for r in recs:
        frontier.validate_frontier_record(r)
        m = r["metrics"]
        assert m["n_chunks"] == 5 and len(m["chunk_actions"]) == 5
        assert r["machine"]["machine_id"] and r["commit"] and r["config"]["kind"] == "ponder"
        assert m["loss_skip"] == by[("fixed", "SKIP")]["metrics"]["loss"]
    assert by[("fixed", "UPDATE_4")]["metrics"]["avg_cost"] == 12.0
    o = by[("oracle", "budget=2")]["metrics"]
    assert o["avg_cost"] <= 2.0 and o["loss"] <= by[("fixed", "SKIP")]["metrics"]["loss"]
    assert o["loss"] >= by[("hindsight", "unconstrained")]["metrics"]["loss"] - 1e-12
    assert (tmp_path / "frontier_tables").is_dir()
    # resume: nothing to do
    capsys.readouterr()
    assert frontier.main(SMALL + ["--output", str(out)]) == 0
    assert len(_records(out)) == 8
    assert "0 records written" in capsys.readouterr().out
    # a broken record is rejected, ignored on read, and its point redone
    lines = out.read_text().splitlines()
    bad = json.loads(lines[0])
    bad["metrics"]["loss"] = "NaN?"
    with pytest.raises(ValueError, match="loss"):
        frontier.validate_frontier_record(bad)
    out.write_text("\n".join([json.dumps(bad)] + lines[1:]) + "\n")
    assert frontier.main(SMALL + ["--output", str(out)]) == 0
    recs = _records(out)
    assert len(recs) == 9 and recs[-1]["point_key"] == bad["point_key"]
    assert "ignored (will be redone)" in capsys.readouterr().err


def test_frontier_point_key_must_match(tmp_path):
    out = tmp_path / "f.jsonl"
    frontier.main(SMALL + ["--output", str(out), "--methods", "fixed"])
    rec = _records(out)[0]
    rec["config"]["seed"] = 7
    with pytest.raises(ValueError, match="point_key"):
        frontier.validate_frontier_record(rec)


def test_frontier_failing_point_keeps_the_others(tmp_path, monkeypatch):
    out = tmp_path / "f.jsonl"
    real = frontier._run_point

    def broken(a, method, *rest):
        if method == "gate":
            raise RuntimeError("boom")
        return real(a, method, *rest)
    monkeypatch.setattr(frontier, "_run_point", broken)
    assert frontier.main(SMALL + ["--output", str(out)]) == 1
    recs = _records(out)
    assert len(recs) == 8
    assert [r["config"]["method"] for r in recs if r["status"] == "error"] == ["gate"]
    monkeypatch.setattr(frontier, "_run_point", real)
    assert frontier.main(SMALL + ["--output", str(out)]) == 0   # only the gate is redone
    assert len(_records(out)) == 9


@pytest.mark.parametrize("argv,needle", [
    (["--gate_rates", "1.5"], "argument --gate_rates"),
    (["--budgets", "0.5"], "argument --budgets"),
    (["--model_scale", "7b"], "argument --model_scale: invalid choice"),
    (["--train_chunks", "0"], "must be > 0"),
])
def test_frontier_bad_flags(argv, needle, capsys):
    with pytest.raises(SystemExit) as e:
        frontier.main(argv)
    assert e.value.code == 2 and needle in capsys.readouterr().err


def test_train_policy_cli_and_plots(tmp_path, capsys):
    out = tmp_path / "policy"
    rc = train_policy.main(TINY + ["--num_iterations", "3", "--num_chunks", "8",
                                   "--eval_chunks", "4", "--budget", "2.5",
                                   "--output_dir", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert [ln.split(":")[0] for ln in text.splitlines() if ln.startswith("Iteration")] == \
        ["Iteration 1/3", "Iteration 2/3", "Iteration 3/3"]
    rec = json.loads((out / "tiny" / "results.json").read_text())
    hist = rec["metrics"]["history"]
    assert len(hist) == 3 and all({"reward", "cost", "lambda", "action_counts"} <= set(h)
                                  for h in hist)
    ev = rec["metrics"]["eval"]
    assert ev["n_chunks"] == 4 and sum(ev["action_counts"].values()) == 4
    assert rec["config"]["budget"] == 2.5
    figs = tmp_path / "figs"
    assert visualize_results.main(["--results_file", str(out / "tiny" / "results.json"),
                                   "--output_dir", str(figs)]) == 0
    for name in ("training_history.png", "action_distribution.png"):
        assert (figs / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("argv,needle", [
    (["--budget", "0.5"], "argument --budget: must be between 1"),
    (["--budget", "x"], "argument --budget"),
    (["--num_iterations", "0"], "argument --num_iterations: must be > 0"),
    (["--model_scale", "2b"], "invalid choice"),
])
def test_train_policy_bad_flags(argv, needle, capsys):
    with pytest.raises(SystemExit) as e:
        train_policy.main(argv)
    assert e.value.code == 2 and needle in capsys.readouterr().err


def test_visualize_rejects_a_non_policy_file(tmp_path, capsys):
    f = tmp_path / "x.json"
    f.write_text(json.dumps({"metrics": {}}))
    with pytest.raises(SystemExit) as e:
        visualize_results.main(["--results_file", str(f)])
    assert e.value.code == 2 and "no metrics.history" in capsys.readouterr().err
