"""The pretrained-backbone runner end to end on the random-init GPT-2 (a pipeline check)."""
import json

import pytest

pytest.importorskip("transformers")

ARGS = ["--backbone", "gpt2-random", "--scale", "tiny", "--seeds", "0", "--chunk_size", "32",
        "--train_chunks", "4", "--policy_chunks", "8", "--eval_chunks", "6", "--outer_steps", "4",
        "--ppo_iterations", "2", "--full_chunks", "2", "--data", "stdlib-heldout", "synthetic",
        "--gate_rates", "0.5", "--budgets", "2"]


def test_runner_records_and_resume(tmp_path):
    from ponderttt.experiments.pretrained import main, read
    out = tmp_path / "p.jsonl"
    args = ARGS + ["--output", str(out), "--cache_dir", str(tmp_path / "cache")]
    assert main(args) == 0
    recs = read(out)
    # ttt: 4 fixed + hindsight + gate + ppo + oracle at 2 + bare = 9 per data; full: 4 per data
    assert len(recs) == 2 * 9 + 2 * 4 and all(r["status"] == "ok" for r in recs)
    assert {r["config"]["role"] for r in recs} == {"pipeline-check"}
    for r in recs:
        m = r["metrics"]
        if r["config"]["method"] == "ppo":
            assert m["avg_cost"] <= 2.0 + 1e-9 and m["budget_tolerance"] == 0.0
        if r["config"]["update"] == "full" and r["config"]["action"] == "SKIP":
            assert m["loss"] == m["loss_skip"] and m["flops_ratio"] == 1.0
    assert {r["config"]["data"] for r in recs} == {"stdlib-heldout", "synthetic"}
    assert all(r["metrics"]["loss_skip_is_ttt_skip"] for r in recs if r["config"]["method"] == "bare")
    n = len(out.read_text().splitlines())
    assert main(args) == 0 and len(out.read_text().splitlines()) == n      # all resumed
    lines = out.read_text().splitlines()
    bad = json.loads(lines[0])
    bad["point_key"] = "x"
    out.write_text("\n".join([json.dumps(bad)] + lines[1:]) + "\n")
    assert len(read(out)) == n - 1                                          # redone next run


def test_hidden_cache_resumes(tmp_path):
    import torch

    from ponderttt.backbone import load_backbone
    from ponderttt.hidden_cache import hidden_states
    bb = load_backbone("gpt2-random", scale="tiny")
    ids, h, info = hidden_states(bb, "synthetic", 20, 16, tmp_path, log=lambda s: None)
    assert h.shape == (20, 16, 64) and info["computed_chunks"] == 20
    ids2, h2, info2 = hidden_states(bb, "synthetic", 20, 16, tmp_path, log=lambda s: None)
    assert info2["computed_chunks"] == 0 and torch.equal(h, h2)
    assert torch.allclose(h[3], bb.hidden(ids[3:4])[0])
