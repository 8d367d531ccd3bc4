"""The train_baseline CLI: output format, results files, bad flags (one line, exit 2)."""
import json
import math
import re
import subprocess
import sys

import pytest

# the optional GPT-2 dependency (extra "ponder"): without it, skip this module
pytest.importorskip("transformers")

from ponderttt.experiments import train_baseline  # noqa: E402

TINY = ["--model_scale", "tiny", "--chunk_size", "32", "--seq_len", "64"]


def _run(argv, capsys):
    rc = train_baseline.main(argv)
    return rc, capsys.readouterr()


def test_output_format_and_results(tmp_path, capsys):
    out_dir = tmp_path / "out"
    rc, cap = _run(TINY + ["--action", "UPDATE_2", "--num_chunks", "3",
                           "--output_dir", str(out_dir)], capsys)
    assert rc == 0
    lines = cap.out.splitlines()
    assert lines[:3] == ["Loading GPT-2 model...", "Generating synthetic data (3 chunks)...",
                         "Running UPDATE_2 updates..."]
    chunk = [ln for ln in lines if ln.startswith("Chunk ")]
    assert [re.match(r"Chunk (\d)/3: loss=(\d+\.\d{3})\b", ln).group(1) for ln in chunk] == \
        ["1", "2", "3"]
    avg = next(ln for ln in lines if ln.startswith("Average loss: "))
    cost = next(ln for ln in lines if ln.startswith("Total cost: "))
    assert cost.startswith("Total cost: 15.0 ")  # 3 chunks x 5 units

    rec = json.loads((out_dir / "tiny" / "UPDATE_2_synthetic_seed0.json").read_text())
    lines_jsonl = (out_dir / "records.jsonl").read_text().splitlines()
    assert len(lines_jsonl) == 1 and json.loads(lines_jsonl[0]) == rec
    assert rec["schema"] == 1 and rec["status"] == "ok"
    for key in ("run_id", "commit", "dirty", "created", "machine", "wall_s"):
        assert key in rec
    assert rec["machine"]["machine_id"]
    cfg, m = rec["config"], rec["metrics"]
    assert {k: cfg[k] for k in ("kind", "action", "model_scale", "data", "chunk_size",
                                "num_chunks", "seed", "threads")} == \
        {"kind": "ponder", "action": "UPDATE_2", "model_scale": "tiny", "data": "synthetic",
         "chunk_size": 32, "num_chunks": 3, "seed": 0, "threads": 1}
    # the printed figures are the recorded ones
    printed = [float(re.search(r"loss=(\S+)", ln).group(1)) for ln in chunk]
    assert printed == [round(x, 3) for x in m["chunk_losses"]]
    assert float(avg.split(": ")[1]) == round(m["average_loss"], 3)
    assert m["total_cost"] == 15.0 and m["chunk_steps"] == [2, 2, 2]
    assert len(m["inner_losses"]) == 3 and all(len(x) == 2 for x in m["inner_losses"])
    assert len(m["chunk_seconds"]) == 3 and all(s > 0 for s in m["chunk_seconds"])
    assert m["flops_profiler_per_chunk"]["UPDATE_2"] == \
        m["flops_analytic_breakdown"]["UPDATE_2"]["total"] == m["chunk_flops_analytic"][0]
    for key in ("tokens_per_s", "rss_peak", "load_avg_1m", "time_total_s"):
        assert isinstance(m[key], (int, float)) and math.isfinite(m[key]), key


def test_skip_prints_baseline_cost_and_appends(tmp_path, capsys):
    rec_path = tmp_path / "r.jsonl"
    for _ in range(2):
        rc, cap = _run(TINY + ["--action", "skip", "--num_chunks", "2", "--warmup", "0",
                               "--output_dir", str(tmp_path), "--record", str(rec_path)], capsys)
        assert rc == 0
    assert "Total cost: 2.0 (baseline)" in cap.out
    recs = [json.loads(x) for x in rec_path.read_text().splitlines()]
    assert len(recs) == 2 and recs[0]["run_id"] != recs[1]["run_id"]
    assert recs[1]["metrics"]["flops_profiler_per_chunk"] is None  # --warmup 0: not counted


def test_real_data_flag(tmp_path, capsys):
    rc, cap = _run(TINY + ["--action", "UPDATE_1", "--num_chunks", "2", "--use_real_data",
                           "--output_dir", str(tmp_path)], capsys)
    assert rc == 0 and "Reading standard-library code (2 chunks, heldout split)..." in cap.out
    rec = json.loads((tmp_path / "tiny" / "UPDATE_1_stdlib_seed0.json").read_text())
    assert rec["config"]["data"] == "stdlib" and rec["config"]["data_split"] == "heldout"


@pytest.mark.parametrize("argv,needle", [
    (["--action", "UPDATE_3"], "argument --action: invalid choice"),
    (["--model_scale", "7b"], "argument --model_scale: invalid choice"),
    (["--num_chunks", "0"], "argument --num_chunks: must be > 0"),
    (["--num_chunks", "-3"], "argument --num_chunks: must be > 0"),
    (["--chunk_size", "0"], "argument --chunk_size: must be > 0"),
    (["--chunk_size", "2048"], "exceeds GPT-2's context 1024"),
    (["--chunk_size", "100"], "--seq_len 1024 is not a multiple of --chunk_size 100"),
    (["--weights", "/nonexistent/ckpt"], "no such file or directory"),
])
def test_bad_flags_one_line_exit_2(argv, needle, capsys):
    with pytest.raises(SystemExit) as e:
        train_baseline.main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err and err.startswith(
        "python -m ponderttt.experiments.train_baseline: error: ")


def test_help_covers_every_flag():
    parser = train_baseline.build_parser()
    for action in parser._actions:
        assert action.help, action.option_strings
    for flag in ("--model_scale", "--action", "--num_chunks", "--output_dir", "--use_real_data",
                 "--seed", "--chunk_size", "--device", "--weights", "--threads"):
        assert flag in parser.format_help()


def test_module_entry_point_subprocess(tmp_path):
    r = subprocess.run([sys.executable, "-m", "ponderttt.experiments.train_baseline", *TINY,
                        "--num_chunks", "1", "--output_dir", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "Chunk 1/1: loss=" in r.stdout and "Average loss: " in r.stdout
    assert "\r" not in r.stderr  # no progress bar when stderr is not a terminal


def test_action_cycle_times_each_action_in_one_process(tmp_path, capsys):
    rc, cap = _run(TINY + ["--action", "SKIP,update_4", "--num_chunks", "4",
                           "--output_dir", str(tmp_path)], capsys)
    assert rc == 0
    assert "Total cost: 26.0 (the 1+2k rule gives 20.0)" in cap.out
    rec = json.loads((tmp_path / "tiny" / "SKIP+UPDATE_4_synthetic_seed0.json").read_text())
    m = rec["metrics"]
    assert rec["config"]["action"] == "SKIP,UPDATE_4"
    assert m["chunk_actions"] == ["SKIP", "UPDATE_4"] * 2 and m["chunk_steps"] == [0, 4] * 2
    assert m["chunks_by_action"] == {"SKIP": 2, "UPDATE_4": 2}
    assert m["time_ratio_to_skip"]["SKIP"] == 1.0 and m["time_ratio_to_skip"]["UPDATE_4"] > 0
    assert 1.0 < m["flops_ratio_to_skip"]["UPDATE_4"] < 1.1  # tiny: the LM head dominates
    assert set(m["flops_profiler_per_chunk"]) == {"SKIP", "UPDATE_4"}
