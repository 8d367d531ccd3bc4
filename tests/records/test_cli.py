"""``python -m rtrl_moe.records stale`` (its --json output is a contract)."""
import json
import subprocess
import sys

from rtrl_moe.records import append_record, code_fingerprints, make_record
from rtrl_moe.records.__main__ import main

CFG = {"kind": "train", "learner": "bptt", "learner_kwargs": {}, "model_type": "rnn", "model": {},
       "task": "anbn", "seq_len": 8, "batch": 1, "dtype": "float32"}


def write(path, *recs):
    for r in recs:
        append_record(path, r)


def rec(**kw):
    return make_record(config=CFG, status="ok", metrics={}, machine={"machine_id": "m"},
                       git={"commit": "c", "dirty": False}, **kw)


def test_stale_lists_each_stale_record_with_its_unit(tmp_path, capsys):
    f = tmp_path / "a.jsonl"
    fresh = rec()
    old = {**rec(), "versions": {**fresh["versions"], "learner.bptt": -1}}
    legacy = {**rec(), "code": {**code_fingerprints(), "library": "x"}}
    legacy.pop("versions")
    unknown = {**rec()}
    unknown.pop("versions"), unknown.pop("code")
    write(f, fresh, old, legacy, unknown)
    assert main(["stale", str(f)]) == 0
    out = capsys.readouterr().out
    assert f"{f}: 2 stale, 1 unknown, of 4 records" in out
    assert f"{f}:2 " in out and "learner.bptt -1 -> 1" in out
    assert f"{f}:3 " in out and "source changed since: library" in out
    assert main(["stale", "--json", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out) == {str(f): 2}


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    for args in (["stale", str(tmp_path / "missing")], ["stale", str(bad)], ["nothing"]):
        p = subprocess.run([sys.executable, "-m", "rtrl_moe.records", *args],
                           capture_output=True, text=True)
        assert p.returncode == 2, args
        assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr, args
