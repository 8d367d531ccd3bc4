"""Migration of records measured before behaviour versions (rtrl_moe/records/migrate.py)."""
import shutil

from rtrl_moe.records import code_fingerprints, staleness
from rtrl_moe.records.migrate import MIGRATED_FIELD, migrate, package_at
from rtrl_moe.records.provenance import PACKAGE

CFG = {"kind": "agree", "learner": "rtrl", "model_type": "moe", "task": "anbn"}


def test_only_byte_identical_source_gets_versions(tmp_path):
    base = tmp_path / "rtrl_moe"
    shutil.copytree(PACKAGE, base, ignore=shutil.ignore_patterns("__pycache__"))
    same = {"config": CFG, "code": code_fingerprints(str(base))}
    files = ["moe.py", "learners/rtrl.py"]
    narrow = {"config": CFG, "code": code_fingerprints(str(base), files)}
    changed = {"config": CFG, "code": {**code_fingerprints(str(base)), "library": "0" * 12}}
    bare = {"config": CFG}
    (base / "learners" / "uoro.py").write_text("# another learner changed\n")
    out, n = migrate([same, narrow, changed, bare], str(base), rev="r0")
    assert n == 1                                  # `same` hashed uoro.py; `narrow` did not
    out, n = migrate([narrow, changed, bare], str(base), rev="r0")
    assert n == 1
    assert out[0]["versions"] == {"kind.agree": 1, "learner.bptt": 1, "learner.rtrl": 1,
                                  "model.moe": 1, "task.anbn": 1}
    assert out[0][MIGRATED_FIELD] == "r0"
    assert "versions" not in out[1] and "versions" not in out[2]
    assert staleness(out[2])[0] is None


def test_extra_units_and_records_with_versions_are_kept(tmp_path):
    base = str(tmp_path / "rtrl_moe")
    shutil.copytree(PACKAGE, base, ignore=shutil.ignore_patterns("__pycache__"))
    proto = {"config": {"kind": "protocol", "protocol": "selftest"},
             "code": code_fingerprints(base)}
    out, n = migrate([proto], base, extra_units=lambda r: ["model.rnn"])
    assert n == 1 and out[0]["versions"] == {"model.rnn": 1}
    from rtrl_moe.protocols.registry import units_of_config
    piece = {"config": {"kind": "protocol", "protocol": "haystack8_rtrl", "arch": "upstream"},
             "code": code_fingerprints(base)}
    got = migrate([piece], base, extra_units=lambda r: units_of_config(r["config"]))[0][0]
    assert got["versions"] == {
        "learner.sparse-rtrl": 1, "model.upstream-moe": 1, "protocol.haystack8_rtrl": 1}
    done = {**proto, "versions": {"model.rnn": 7}}
    assert migrate([done], base)[0][0] is done


def test_package_at_extracts_a_commit(tmp_path):
    root = package_at("HEAD", str(PACKAGE.parent), str(tmp_path))
    assert (tmp_path / "rtrl_moe" / "moe.py").is_file() and root.endswith("rtrl_moe")


def test_the_script_rewrites_only_files_with_migrated_records(tmp_path):
    import subprocess
    import sys

    from rtrl_moe.records import append_record, make_record
    script = str(PACKAGE.parent / "scripts" / "migrate_versions.py")
    f = tmp_path / "r.jsonl"
    r = make_record(config={"kind": "ponder", "action": "a", "model_scale": "s"}, status="ok",
                    machine={"machine_id": "m"}, git={"commit": "c", "dirty": False})
    r.pop("code")
    append_record(f, r)
    before = f.read_bytes()
    p = subprocess.run([sys.executable, script, str(f)], capture_output=True, text=True)
    assert p.returncode == 0 and "0 of 1 records migrated" in p.stdout
    assert f.read_bytes() == before
    bad = tmp_path / "bad.jsonl"
    bad.write_text("[]\n")
    p = subprocess.run([sys.executable, script, str(bad)], capture_output=True, text=True)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1
