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
    assert n == 1 and out[0]["versions"] == {"model.rnn": 1, "protocol.selftest": 1}
    done = {**proto, "versions": {"model.rnn": 7}}
    assert migrate([done], base)[0][0] is done


def test_package_at_extracts_a_commit(tmp_path):
    root = package_at("HEAD", str(PACKAGE.parent), str(tmp_path))
    assert (tmp_path / "rtrl_moe" / "moe.py").is_file() and root.endswith("rtrl_moe")
