"""The harness under faults, as a user meets them: nothing measured is lost, no worker or temp
folder outlives its sweep, stale records are not reused silently, every error is one line."""
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rtrl_moe.bench import PointConfig, run_sweep
from rtrl_moe.bench.sweep import SweepError, _reusable

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "rtrl_moe.bench", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _one_line_error(done, code=2):
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    err = [ln for ln in done.stderr.splitlines() if ln.startswith("error:")]
    assert len(err) == 1, done.stderr
    return err[0]


# -- resume rule ------------------------------------------------------------------------------
def _stored(dirty, key="k1", status="ok", commit="c" * 40):
    return {"commit": commit, "dirty": dirty, "machine": {"machine_id": "m"}, "point_key": key,
            "status": status}


def test_resume_reuses_only_clean_records_of_this_commit_and_machine():
    recs = [_stored(False, "a"), _stored(True, "b"), _stored(False, "c", commit="d" * 40)]
    assert _reusable(recs, "c" * 40, "m", dirty=False) == {"a": "ok"}
    assert _reusable(recs, "c" * 40, "other", dirty=False) == {}


def test_resume_reuses_records_whose_behaviour_versions_are_todays_on_any_commit():
    from rtrl_moe.records import current_versions
    v = current_versions()["learner.sparse-rtrl"]
    fresh = {**_stored(False, "f", commit="e" * 40), "versions": {"learner.sparse-rtrl": v}}
    stale = {**_stored(False, "s", commit="e" * 40), "versions": {"learner.sparse-rtrl": v - 1}}
    dirty = {**fresh, "dirty": True, "point_key": "d"}
    other = {**fresh, "machine": {"machine_id": "x"}, "point_key": "o"}
    assert _reusable([fresh, stale, dirty, other], "c" * 40, "m", dirty=False) == {"f": "ok"}
    assert _reusable([fresh], "c" * 40, "m", dirty=True) == {"f": "ok"}


def test_a_dirty_tree_refuses_to_resume_past_clean_records():
    with pytest.raises(SweepError, match="uncommitted changes.*--rerun-if-dirty"):
        _reusable([_stored(False, "a")], "c" * 40, "m", dirty=True)
    # nothing stored for this commit: nothing to misread, the sweep may run
    assert _reusable([_stored(True, "a")], "c" * 40, "m", dirty=True) == {}


def test_a_second_sweep_on_the_same_file_fails_at_once(tmp_path, tiny, clean_tree):
    out = tmp_path / "r.jsonl"
    fd = os.open(tmp_path / "r.jsonl.lock", os.O_RDWR | os.O_CREAT)
    os.write(fd, b"4242")
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with pytest.raises(SweepError, match=r"another sweep \(pid 4242\) is writing"):
            run_sweep([PointConfig(learner="bptt", seq_len=2, model=tiny)], out)
    finally:
        os.close(fd)
    assert not out.read_text()          # nothing ran


# -- outputs checked before the work; a record that cannot be written is printed -----------
def test_point_out_under_a_regular_file_fails_before_any_work(tmp_path):
    (tmp_path / "x").write_text("a file")
    t0 = time.monotonic()
    done = _cli("point", "--learner", "bptt", "--seq-len", "4", "--out", str(tmp_path / "x" / "y.jsonl"))
    line = _one_line_error(done, 2)
    assert "argument --out" in line and "cannot append" in line
    assert time.monotonic() - t0 < 60


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_record_that_cannot_be_written_is_still_printed(tiny):
    cfg = [f"{k}={v}" for k, v in tiny.items()]
    done = _cli("point", "--learner", "bptt", "--seq-len", "4", "--repeats", "0",
                "--in-process", "--out", "/dev/full", "--config", *cfg)
    line = _one_line_error(done, 1)
    assert "could not append the record" in line
    rec = json.loads(done.stdout)
    assert rec["status"] == "ok" and rec["metrics"]["tensor_bytes_peak"] > 0


@pytest.mark.parametrize("args, needle", [
    (["--config", "d_model=abc"], "expected an integer"),
    (["--config", "topk=9"], "topk"),
    (["--task-arg", "bogus=1"], "unknown --task-arg key bogus"),
    (["--learner-arg", "bogus=1"], "learner tbptt"),
    (["--learner-arg", "k=0"], "learner tbptt"),
    (["--seeds", "1,x"], "expected integers >= 0"),
    (["--seed", "-1"], "must be >= 0"),
])
def test_point_value_errors_exit_2_and_write_nothing(tmp_path, args, needle):
    out = tmp_path / "r.jsonl"
    done = _cli("point", "--learner", "tbptt", "--seq-len", "4", "--out", str(out), *args)
    assert needle in _one_line_error(done, 2)
    assert not out.exists() or not out.read_text()


# -- no orphans --------------------------------------------------------------------------------
def _hanging_sweep(tmp_path, tiny):
    points = tmp_path / "points.json"
    points.write_text(json.dumps([{"learner": "bptt", "seq_len": 4, "model": tiny,
                                   "test_hook": "hang", "threads": 1, "timeout_s": 120}]))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp), "RTRL_MOE_BENCH_TEST_HOOKS": "1",
           "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "rtrl_moe.bench", "sweep", "--points",
                             str(points), "--out", str(tmp_path / "r.jsonl"), "--force"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=_ctrl_c_default)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        dirs = list(tmp.glob("rtrl_moe_point_*"))
        if dirs and _workers(dirs[0]):
            return proc, tmp, dirs[0]
        time.sleep(0.2)
    proc.kill()
    pytest.fail("the worker did not start: " + proc.stderr.read())


def _workers(tmp_dir: Path) -> list[int]:
    import psutil
    out = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        if any(str(tmp_dir) in part for part in (p.info["cmdline"] or [])):
            out.append(p.info["pid"])
    return out


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_no_worker_and_no_temp_folder_outlive_the_sweep(tmp_path, tiny, sig):
    proc, tmp, point_dir = _hanging_sweep(tmp_path, tiny)
    os.kill(proc.pid, sig)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (_workers(point_dir) or list(tmp.iterdir())):
        time.sleep(0.2)
    assert _workers(point_dir) == [], "a worker outlived its sweep"
    assert list(tmp.iterdir()) == [], "a temp folder outlived its sweep"
    if sig != signal.SIGKILL:
        err = proc.stderr.read()
        assert "Traceback" not in err and "error: interrupted" in err, err
        assert proc.returncode == 130


def _ctrl_c_default():
    """In the child: SIGINT back to its default. A shell starts background jobs (``pytest &``,
    nohup) with SIGINT ignored, the child inherits that, and Python then installs no Ctrl-C
    handler, so the sweep would never see the interrupt these tests send."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
