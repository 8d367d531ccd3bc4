"""The long-range CLI: the contract's ``point ... --json``, bad input as one line, help text."""
import json
import os
import subprocess
import sys

import pytest

from rtrl_moe.longrange.__main__ import DEFAULT_OUT, main, parser


def cli(*args):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "rtrl_moe.longrange", *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_point_json_contract():
    p = cli("point", "--model", "lru", "--learner", "tbptt-4", "--delay", "4", "--seed", "1",
            "--updates", "3", "--json")
    assert p.returncode == 0, p.stderr
    rec = json.loads(p.stdout)
    m = rec["metrics"]
    assert 0.0 <= m["heldout_accuracy"] <= 1.0 and m["chance"] == 0.125
    assert m["tensor_bytes_peak"] > 0 and m["ms_per_token"] > 0
    assert m["updates_done"] == 3 and m["heldout_targets"] >= 256
    c = rec["config"]
    assert (c["learner_label"], c["delay"], c["seed"], c["arm"]) == ("tbptt-4", 4, 1, "episodic")


@pytest.mark.parametrize("args,code,says", [
    (("point", "--model", "lru", "--learner", "sparse-rtrl", "--delay", "16"), 2,
     "not defined on model"),
    (("point", "--model", "lru", "--learner", "bptt", "--delay", "0"), 2, "must be >= 1"),
    (("point", "--model", "gru", "--learner", "bptt", "--delay", "4"), 2, "invalid choice"),
    (("point", "--model", "lru", "--delay", "4"), 2, "needs --learner"),
    (("point", "--model", "lru", "--learner", "bptt", "--delay", "4", "--updates", "x"), 2,
     "must be an integer"),
    (("run", "--out", "/proc/nope.jsonl"), 2, "--out"),
    (("point", "--model", "lru", "--learner", "bptt", "--delay", "4", "--out",
      "/proc/nope.jsonl"), 2, "--out"),
    (("run", "--seeds", "a"), 2, "seeds must be integers"),
    (("run", "--only", "nothing", "--out", "{tmp}/x.jsonl"), 2, "matches no point"),
    (("list", "--delays", "0"), 2, "delays must be integers >= 1"),
])
def test_bad_input_is_one_line(tmp_path, args, code, says):
    p = cli(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert p.returncode == code, p.stderr
    assert "Traceback" not in p.stderr and says in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_every_flag_has_help_and_outputs_default_outside_results():
    ap = parser()
    subs = ap._subparsers._group_actions[0].choices
    for name, sp in subs.items():
        for act in sp._actions:
            if act.option_strings and act.dest != "help":
                assert act.help, f"{name} {act.option_strings} has no help"
    assert DEFAULT_OUT.startswith("local/")
    for name in ("run", "list", "kstar", "tune", "equivalence"):
        out = [a for a in subs[name]._actions if a.dest == "out"][0]
        assert not out.default.startswith("results/")


def test_list_explains_its_markers(tmp_path, capsys):
    assert main(["list", "--models", "lru", "--delays", "16", "--seeds", "0",
                 "--out", str(tmp_path / "r.jsonl")]) == 0
    out = capsys.readouterr().out
    assert "[k* pending]" in out and "markers:" in out and "lru/lru-rtrl|D=16|seed=0" in out
