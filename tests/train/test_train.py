"""`python -m rtrl_moe train` end to end on tiny settings: logs, checkpoints, resume, errors."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rtrl_moe.__main__ import main as cli_main
from rtrl_moe.train import CSV_FIELDS
from rtrl_moe.train import main as train_main

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[2]
TINY_MOE = ["--config", "d_model=4", "d_ff=4", "n_slots=3", "n_experts=2", "topk=1"]


def tiny(tmp_path, *extra, task="anbn", learner="tbptt", steps=2, seq_len=8, name="run"):
    return ["--task", task, "--learner", learner, "--seq-len", str(seq_len), "--steps",
            str(steps), "--batch", "2", "--log-dir", str(tmp_path / name), *TINY_MOE, *extra]


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def final_params(path):
    return torch.load(path, weights_only=True)["model"]


def test_writes_csv_and_checkpoint(tmp_path):
    # len_max_a=2 so that every 8-token sequence has targets (a long a-run may have none)
    argv = tiny(tmp_path, "--eval-every", "2", "--task-arg", "len_max_a=2", learner="sparse-rtrl",
                steps=3)
    assert train_main(argv) == 0
    rows = read_rows(tmp_path / "run" / "metrics.csv")
    assert tuple(rows[0]) == CSV_FIELDS
    assert [r["step"] for r in rows] == ["1", "2", "3"]
    assert [r["tokens"] for r in rows] == ["8", "16", "24"]
    for r in rows:
        assert 0 <= float(r["accuracy"]) <= 1 and float(r["loss"]) > 0
        assert int(r["state_bytes"]) > 0 and int(r["rss_peak_bytes"]) > 0
    # eval at every 2nd step and at the end
    assert [r["eval_accuracy"] != "" for r in rows] == [False, True, True]
    ckpt = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert ckpt["step"] == 3 and ckpt["config"]["d_model"] == 4 and ckpt["task"] == "anbn"
    assert set(ckpt) >= {"model", "optimizer", "step", "config"}
    assert ckpt["optimizer"]["state"]  # Adam really stepped


def test_training_changes_parameters(tmp_path):
    assert train_main(tiny(tmp_path, "--lr", "1e-2", learner="bptt", steps=1, name="a")) == 0
    assert train_main(tiny(tmp_path, "--lr", "1e-2", learner="bptt", steps=2, name="b")) == 0
    a, b = final_params(tmp_path / "a/checkpoint.pt"), final_params(tmp_path / "b/checkpoint.pt")
    assert any(not torch.equal(a[k], b[k]) for k in a)


def test_resume_matches_uninterrupted_run(tmp_path):
    common = ("--model", "rnn", "--config", "hidden=5", "--dtype", "float64")
    # TINY_MOE's --config keys do not exist for the RNN: build these argv by hand.
    def argv(steps, name, *extra):
        return ["--task", "haystack", "--learner", "rtrl", "--seq-len", "6", "--steps",
                str(steps), "--batch", "2", "--log-dir", str(tmp_path / name), *common, *extra]
    assert train_main(argv(4, "straight")) == 0
    assert train_main(argv(2, "split", "--checkpoint-every", "1")) == 0
    assert train_main(argv(4, "split", "--resume", str(tmp_path / "split/checkpoint.pt"))) == 0
    straight = final_params(tmp_path / "straight/checkpoint.pt")
    split = final_params(tmp_path / "split/checkpoint.pt")
    for k in straight:
        assert torch.equal(straight[k], split[k]), k
    rows = read_rows(tmp_path / "split" / "metrics.csv")  # appended, one header
    assert [r["step"] for r in rows] == ["1", "2", "3", "4"]
    straight_rows = read_rows(tmp_path / "straight" / "metrics.csv")
    assert [r["loss"] for r in rows] == [r["loss"] for r in straight_rows]


def test_online_every_k_logs_one_row_per_update(tmp_path):
    argv = tiny(tmp_path, "--every", "3", task="stream", seq_len=10, steps=2,
                learner="sparse-rtrl") + ["--task-arg", "lag=2", "marker_prob=0.5"]
    assert train_main(argv) == 0
    rows = read_rows(tmp_path / "run" / "metrics.csv")
    # 10 tokens in updates of 3: 3, 6, 9, 10 per sequence
    assert [(r["step"], r["update"], r["tokens"]) for r in rows] == [
        ("1", "1", "3"), ("1", "2", "6"), ("1", "3", "9"), ("1", "4", "10"),
        ("2", "1", "13"), ("2", "2", "16"), ("2", "3", "19"), ("2", "4", "20")]


BAD = [
    (["--config", "topk=3"], "topk=3 exceeds n_experts=2"),
    (["--config", "nope=1"], "unknown --config key nope for model moe"),
    (["--config", "d_in=4"], "set by the task"),
    (["--config", "d_model=big"], "expected an integer"),
    (["--config", "chunk=2"], "chunk=1 only"),
    (["--seq-len", "0"], "--seq-len: must be >= 1"),
    (["--steps", "x"], "--steps: expected a positive integer"),
    (["--lr", "-1"], "--lr: must be a positive number"),
    (["--learner", "nope"], "unknown learner 'nope'; valid: bptt"),
    (["--learner", "bptt", "--every", "2"], "--every needs a streaming learner"),
    (["--learner-arg", "bogus=1"], "learner tbptt: "),
    (["--learner-arg", "k"], "--learner-arg expects KEY=VALUE"),
    (["--task", "copy"], "--task: invalid choice"),
    (["--task-arg", "lag=3"], "unknown --task-arg key lag for task anbn"),
    (["--frobnicate"], "unrecognized arguments"),
    (["--resume", "missing.pt"], "--resume missing.pt: no such file"),
]


@pytest.mark.parametrize("extra, message", BAD, ids=[b[1] for b in BAD])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, extra, message):
    # Later flags win in argparse, so appending overrides the valid tiny defaults.
    assert train_main(tiny(tmp_path) + extra) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert message in err


def test_missing_required_flags(capsys):
    assert train_main(["--task", "anbn"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--learner" in err and "--steps" in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU error")
def test_cuda_without_gpu(tmp_path, capsys):
    assert train_main(tiny(tmp_path, "--device", "cuda")) == 2
    err = capsys.readouterr().err
    assert err == "error: --device cuda asked for, but no CUDA GPU is available\n"


def test_resume_refuses_other_model(tmp_path, capsys):
    assert train_main(tiny(tmp_path, steps=1)) == 0
    capsys.readouterr()
    ckpt = str(tmp_path / "run" / "checkpoint.pt")
    assert train_main(tiny(tmp_path, "--resume", ckpt, "--config", "d_model=6")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "differs from the flags" in err


def test_dispatcher(capsys):
    assert cli_main([]) == 0
    assert "train" in capsys.readouterr().out
    assert cli_main(["bogus"]) == 2
    assert capsys.readouterr().err.startswith("error: unknown command 'bogus'")


def _python_m(*args):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "rtrl_moe", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def test_real_process_no_args_prints_help():
    done = _python_m()
    assert done.returncode == 0 and "train" in done.stdout


def test_real_process_bad_flag_has_no_traceback():
    done = _python_m("train", "--task", "anbn", "--learner", "rtrl", "--seq-len", "0",
                     "--steps", "1")
    assert done.returncode == 2
    assert done.stderr == "error: argument --seq-len: must be >= 1 (a positive integer), got 0\n"


@pytest.mark.parametrize("flag, where", [("--log-dir", "/proc/x"), ("--log-dir", "FILE/sub"),
                                         ("--checkpoint", "FILE/sub/c.pt")])
def test_unwritable_outputs_fail_before_training(tmp_path, capsys, flag, where):
    (tmp_path / "FILE").write_text("a file")
    where = where.replace("FILE", str(tmp_path / "FILE"))
    argv = tiny(tmp_path, steps=10_000) + [flag, where]   # would take minutes if it trained
    assert train_main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {flag} ") and "cannot write" in err


def test_resume_never_repeats_a_step_in_metrics_csv(tmp_path):
    ckpt = tmp_path / "c.pt"
    assert train_main(tiny(tmp_path, steps=4) + ["--checkpoint", str(ckpt),
                                                 "--checkpoint-every", "2"]) == 0
    # the run went on to step 4; resume from a step-2 checkpoint as after a crash at step 3
    import torch
    c = torch.load(ckpt, weights_only=True)
    c["step"] = 2
    torch.save(c, ckpt)
    assert train_main(tiny(tmp_path, steps=4) + ["--resume", str(ckpt)]) == 0
    steps = [r["step"] for r in read_rows(tmp_path / "run" / "metrics.csv")]
    assert steps == ["1", "2", "3", "4"]
