"""Command line: bad input is one `error:` line and exit 2; --json prints JSON only."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from rtrl_moe.bench.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


def _bad(capsys, argv):
    with pytest.raises(SystemExit) as ei:
        rc = main(argv)
        raise SystemExit(rc)
    out, err = capsys.readouterr()
    assert ei.value.code == 2, (out, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.mark.parametrize("argv,needle", [
    ([], "required"),
    (["bogus"], "invalid choice"),
    (["point", "--learner", "bptt"], "--seq-len"),
    (["point", "--learner", "bptt", "--seq-len", "0"], "positive integer"),
    (["point", "--learner", "bptt", "--seq-len", "abc"], "positive integer"),
    (["point", "--learner", "bptt", "--seq-len", "8", "--dtype", "float16"], "invalid choice"),
    (["point", "--learner", "bptt", "--seq-len", "8", "--budget-mb", "-3"], "positive number"),
    (["point", "--learner", "bptt", "--seq-len", "8", "--config", "n_slotz=3"], "n_slotz"),
    (["point", "--learner", "bptt", "--seq-len", "8", "--config", "d_model"], "KEY=VALUE"),
    (["point", "--learner", "nope", "--seq-len", "8"], "unknown learner"),
    (["point", "--learner", "bptt", "--task", "nope", "--seq-len", "8"], "unknown task"),
    (["point", "--learner", "bptt", "--seq-len", "8", "--model", "rnn", "--config",
      "d_model=4"], "d_model"),
    (["point", "--learner", "bptt", "--seq-len", "8", "--kind", "train"], "steps"),
    (["agree", "--learners", "rtrl", "--lengths", "1,x"], "integers"),
    (["agree", "--learners", "rtrl", "--lengths", "4", "--dtype", "float16"], "float16"),
    (["agree", "--lengths", "4"], "--learners"),
    (["sweep", "--preset", "quick", "--resume", "--force"], "not allowed"),
    (["sweep", "--preset", "nope"], "invalid choice"),
    (["sweep"], "required"),
])
def test_bad_input_is_one_error_line_exit_2(capsys, argv, needle):
    line = _bad(capsys, argv)
    assert needle in line


def test_config_values_are_python_literals_or_strings():
    from rtrl_moe.build import parse_assignments
    assert parse_assignments(["d_model=16", "cell=gru", "x=[1, 2]", "f=1e-3"]) == {
        "d_model": 16, "cell": "gru", "x": [1, 2], "f": 1e-3}


def _cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "rtrl_moe.bench", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


TINY_ARGS = ["--config", "d_model=4", "n_slots=3", "n_experts=2", "topk=1", "topk_read=1",
             "topk_write=1", "d_ff=8"]


def test_point_json_is_exactly_one_record_on_stdout():
    r = _cli("point", "--learner", "bptt", "--task", "anbn", "--seq-len", "6", "--repeats", "2",
             "--threads", "1", *TINY_ARGS, "--json")
    assert r.returncode == 0, r.stderr
    rec = json.loads(r.stdout)                    # the whole stdout is one JSON value
    assert r.stdout.count("\n") == 1
    assert rec["schema"] == 1 and rec["status"] == "ok" and rec["isolated"] is True
    assert rec["config"]["learner"] == "bptt" and rec["config"]["model"]["d_model"] == 4
    assert rec["config"]["model"]["d_in"] == 3           # from the task
    assert len(rec["metrics"]["time_step_ns"]) == 2
    assert "[1/1]" in r.stderr                            # progress went to stderr


def test_agree_json_is_a_list_with_learner_length_metrics(tmp_path):
    out = tmp_path / "agree.jsonl"
    r = _cli("agree", "--learners", "sparse-rtrl,tbptt", "--lengths", "1,12", "--threads", "1",
             "--learner-arg", "tbptt:k=2", *TINY_ARGS, "--in-process", "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    recs = json.loads(r.stdout)
    assert [(x["learner"], x["length"]) for x in recs] == [
        ("sparse-rtrl", 1), ("sparse-rtrl", 12), ("tbptt", 1), ("tbptt", 12)]
    assert all(x["dtype"] == "float64" and x["status"] == "ok" for x in recs)
    assert all(x["rel_err"] < 1e-10 for x in recs[:3])    # tbptt k=2 is exact at T=1
    assert recs[3]["rel_err"] > 1e-6                       # and truncated at T=12
    assert recs[0]["metrics"]["per_param"]
    from rtrl_moe.records import load_results
    assert len(load_results(out)) == 4
