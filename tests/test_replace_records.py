"""scripts/replace_records.py: a re-measure replaces the records of its points, nothing else."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "replace_records.py"
RESULTS = ROOT / "results" / "quick.jsonl"


def _run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True,
                          text=True, timeout=120)


def test_records_of_the_same_points_are_replaced_and_others_kept(tmp_path):
    lines = RESULTS.read_text().splitlines()[:3]
    target, new = tmp_path / "t.jsonl", tmp_path / "n.jsonl"
    target.write_text("\n".join(lines) + "\n")
    fresh = json.loads(lines[1])
    fresh["run_id"] = "remeasured"
    new.write_text(json.dumps(fresh) + "\n")
    r = _run(target, new)
    assert r.returncode == 0, r.stderr
    out = [json.loads(x) for x in target.read_text().splitlines()]
    assert [o["run_id"] for o in out][:2] == [json.loads(lines[0])["run_id"], json.loads(lines[2])["run_id"]]
    assert out[-1]["run_id"] == "remeasured" and len(out) == 3


def test_a_foreign_file_stops_before_anything_is_written(tmp_path):
    target, new = tmp_path / "t.jsonl", tmp_path / "n.jsonl"
    target.write_text(RESULTS.read_text().splitlines()[0] + "\n")
    before = target.read_text()
    new.write_text('{"x": 1}\n')
    r = _run(target, new)
    assert r.returncode != 0 and "not an rtrl_moe bench record" in r.stderr
    assert target.read_text() == before
