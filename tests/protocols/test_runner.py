"""The runner: one subprocess per point, a crash stored as an error without losing the others,
and a resumed run skipping what is stored for the same code."""
import json

from rtrl_moe.protocols import PIECES, PRESET
from rtrl_moe.protocols.runner import fingerprint, point_key, run
from rtrl_moe.records import load_results, read_records


def test_preset_names_pieces_and_leaves_out_the_selftest():
    assert set(PRESET) <= set(PIECES) and "selftest" not in PRESET
    assert len(PRESET) == len(set(PRESET))


def test_a_crash_is_stored_and_the_others_run(tmp_path):
    out = tmp_path / "p.jsonl"
    run(["selftest"], [0, 1], out, "bench", log=lambda *_: None)
    run(["selftest"], [2], out, "bench", overrides={"crash": True}, log=lambda *_: None)
    run(["selftest"], [3], out, "bench", overrides={"exit_code": 3}, log=lambda *_: None)
    recs = read_records(out)
    assert [r["status"] for r in recs] == ["ok", "ok", "error", "error"]
    assert recs[0]["metrics"]["value"] == 0 and recs[1]["metrics"]["value"] == 2
    assert "selftest asked to crash" in recs[2]["message"]
    assert "exit status 3" in recs[3]["message"]
    c = recs[0]["config"]
    assert (c["kind"], c["label"], c["protocol"], c["seed"], c["arch"]) == \
        ("protocol", "protocol-selftest", "selftest", 0, "bench")
    assert "protocols/selftest.py" in recs[0]["code"]["library_files"]
    df = load_results(out)                       # the records' reader accepts them
    assert list(df["config.protocol"]) == ["selftest"] * 4


def test_resume_skips_points_stored_with_todays_behaviour_versions(tmp_path):
    out = tmp_path / "p.jsonl"
    run(["selftest"], [0], out, "bench", log=lambda *_: None)
    seen = []
    run(["selftest"], [0, 1], out, "bench", log=seen.append)
    assert any(s.startswith("skip") for s in seen)
    assert [r["config"]["seed"] for r in read_records(out)] == [0, 1]
    # a record of another version of its piece is not a reason to skip
    lines = out.read_text().splitlines()
    rec = json.loads(lines[0])
    assert rec["versions"] == {"protocol.selftest": 1}
    rec["versions"]["protocol.selftest"] = 0
    out.write_text(json.dumps(rec) + "\n")
    run(["selftest"], [0], out, "bench", log=lambda *_: None)
    assert len(read_records(out)) == 2


def test_point_key_and_fingerprint_depend_on_args_and_arch():
    p = PIECES["anbn_classify9"]
    assert point_key("x", 0, {"a": 1}, "bench") != point_key("x", 0, {"a": 2}, "bench")
    assert point_key("x", 0, {"a": 1}, "bench") != point_key("x", 0, {"a": 1}, "upstream")
    assert "moe.py" in fingerprint(p, "bench")["library_files"]
    assert "upstream.py" in fingerprint(p, "upstream")["library_files"]
