"""The quick start's runner: one fresh process per command, timed, logged, recorded."""
import json

import pytest

# the optional GPT-2 dependency (extra "ponder"): without it, skip this module
pytest.importorskip("transformers")

from ponderttt.experiments import document  # noqa: E402


def test_quick_group_at_tiny_scale(tmp_path, capsys):
    rc = document.main(["--out", str(tmp_path), "--scale", "tiny", "--only", "quick",
                        "--extra", "--chunk_size", "16", "--warmup", "0"])
    assert rc == 0
    cmds = [json.loads(x) for x in (tmp_path / "commands.ndjson").read_text().splitlines()]
    assert len(cmds) == 1 and cmds[0]["returncode"] == 0 and cmds[0]["end_to_end_s"] > 0
    rec = json.loads((tmp_path / "quick.jsonl").read_text().splitlines()[0])
    assert cmds[0]["run_id"] == rec["run_id"]
    assert rec["config"]["label"] == "doc-quick" and rec["config"]["num_chunks"] == 10
    # the record's own process lifetime fits inside the runner's end-to-end time
    assert 0 < rec["wall_s"] <= cmds[0]["end_to_end_s"] + 0.5
    log = (tmp_path / "logs" / "quick_SKIP.txt").read_text()
    assert "Chunk 10/10: loss=" in log and "Total cost: 10.0 (baseline)" in log
    # the same command as a `ponder` record the report reads
    crec = json.loads((tmp_path / "commands.jsonl").read_text().splitlines()[0])
    assert crec["config"]["label"] == "command-quick" and crec["status"] == "ok"
    assert crec["metrics"]["end_to_end_s"] == cmds[0]["end_to_end_s"]


def test_policy_group_times_the_second_experiment(tmp_path):
    rc = document.main(["--out", str(tmp_path), "--scale", "tiny", "--only", "policy", "--extra",
                        "--chunk_size", "16", "--num_chunks", "4", "--eval_chunks", "2",
                        "--episode_len", "4", "--episodes_per_iter", "2"])
    assert rc == 0
    line = json.loads((tmp_path / "commands.ndjson").read_text().splitlines()[0])
    assert line["argv"][:2] == ["-m", "ponderttt.experiments.train_policy"]
    assert line["argv"][line["argv"].index("--num_iterations") + 1] == "10"
    crec = json.loads((tmp_path / "commands.jsonl").read_text().splitlines()[0])
    assert crec["config"]["label"] == "command-policy" and crec["config"]["action"] == "PPO"
    assert (tmp_path / "policy" / "tiny" / "results.json").exists()
