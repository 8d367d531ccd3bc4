"""The pretrained-backbone runner end to end on the random-init GPT-2 (a pipeline check), its
records contract, resume, recovery's definition and bad input (issue 32)."""
import pytest

pytest.importorskip("transformers")

ARGS = ["--backbone", "gpt2-random", "--scale", "tiny", "--seeds", "0", "--chunk_size", "32",
        "--train_chunks", "4", "--val_chunks", "2", "--policy_chunks", "8", "--eval_chunks", "6",
        "--max_steps", "4", "--eval_every", "2", "--ppo_iterations", "2", "--full_chunks", "2",
        "--full_policy_chunks", "2", "--data", "stdlib-heldout", "synthetic",
        "--budgets", "2", "--full_budgets", "2"]


def test_runner_records_contract_and_resume(tmp_path):
    from ponderttt.experiments.pretrained import CONTRACT_ACTIONS, FILES, main
    from rtrl_moe.records import read_records
    out = tmp_path / "out"
    args = ARGS + ["--out_dir", str(out), "--cache_dir", str(tmp_path / "cache")]
    assert main(args) == 0
    recs = {k: read_records(out / f) for k, f in FILES.items()}
    # training: (train, val) x (bare + 4 actions); ttt: bare + 4 + oracle x2 + gate + ppo, per data
    assert len(recs["training"]) == 10 and len(recs["ttt"]) == 2 * 9
    assert len(recs["full"]) == 2 * (5 + 2)
    for r in sum(recs.values(), []):
        c = r["config"]
        assert r["status"] == "ok" and c["role"] == "pipeline-check"
        assert c["backbone"] == "gpt2-random" and c["update"] in ("ttt", "full")
        assert c["action"] in CONTRACT_ACTIONS and isinstance(c["seed"], int) and c["data"]
        assert isinstance(r["metrics"]["loss"], float)
        assert r["versions"]["ponder.pretrained"] == 1 and None not in r["versions"].values()
    for r in recs["ttt"]:
        m = r["metrics"]
        if r["config"]["action"] == "SKIP":
            assert m["loss"] == m["loss_bare"] and m["skip_equals_bare"]
        if r["config"]["action"] == "ppo":
            assert m["avg_cost"] <= 2.0 + 1e-9
        if r["config"]["action"] in ("gate", "ppo", "SKIP", "UPDATE_1"):
            assert isinstance(m["recovery"], float)           # never dropped
    for r in recs["full"]:
        if r["config"]["action"] in ("bare", "SKIP"):
            assert r["metrics"]["flops_ratio"] == 1.0
    n = {k: len((out / f).read_text().splitlines()) for k, f in FILES.items()}
    assert main(args) == 0                                    # everything resumed
    assert n == {k: len((out / f).read_text().splitlines()) for k, f in FILES.items()}


def test_recovery_never_updating_scores_zero():
    from ponderttt.experiments.pretrained import recovery
    assert recovery(2.0, 2.0, 1.5) == 0.0                     # never updates: 0, not None
    assert recovery(2.0, 1.75, 1.5) == pytest.approx(0.5)
    assert recovery(2.0, 2.1, 2.0) == 0.0                     # no headroom at that budget: 0
    assert recovery(2.0, 2.1, 1.9) == pytest.approx(-1.0)     # worse than bare: negative


@pytest.mark.parametrize("bad", [["--budgets", "0.5"], ["--chunk_size", "0"], ["--stage", "x"],
                                 ["--seeds", "a"], ["--nope"]])
def test_bad_flags_one_line_exit_2(bad, capsys):
    from ponderttt.experiments.pretrained import main
    with pytest.raises(SystemExit) as e:
        main(bad)
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and "Traceback" not in err[0]


def test_summary_of_a_broken_file_is_one_line(tmp_path, capsys):
    from ponderttt.experiments.pretrained import main
    (tmp_path / "ttt_frontier.jsonl").write_text("{not json}\n")
    assert main(["--out_dir", str(tmp_path), "--summary"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]


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


def test_records_carry_behaviour_versions():
    from ponderttt.versions import units_of_config
    from rtrl_moe.records import current_versions, versions_of
    cur = current_versions()
    for cfg in ({"kind": "ponder", "label": "issue32", "update": "ttt", "action": "ppo"},
                {"kind": "ponder", "label": "issue32", "update": "full", "action": "gate"},
                {"kind": "ponder", "label": "doc-first", "action": "SKIP"}):
        units = units_of_config(cfg)
        assert units and all(u in cur for u in units)
        assert versions_of(units) == {u: cur[u] for u in units}
    assert "ponder.full-policies" in units_of_config({"kind": "ponder", "label": "issue32",
                                                      "update": "full", "action": "ppo"})
