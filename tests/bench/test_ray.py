"""The sweep's ``ray`` executor on a local Ray instance (2 CPUs, tiny points): the same
deterministic figures as the local executor, failures as statuses, resume after the driver is
killed, no worker left behind, and one error line without Ray. Tests that need Ray skip when it
is not installed (``pip install -e '.[ray]'``); the last one needs no Ray at all."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rtrl_moe.bench import PointConfig, run_sweep
from rtrl_moe.bench.__main__ import main as bench_main
from rtrl_moe.bench.executors import pair_groups
from rtrl_moe.bench.regress import BYTES_METRICS, ERROR_METRICS, FLOPS_METRICS
from rtrl_moe.records import iter_records
from rtrl_moe.records.machine import machine_info

ROOT = Path(__file__).resolve().parents[2]
HOOKS = {"RTRL_MOE_BENCH_TEST_HOOKS": "1", "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def ray_cluster():
    """One local Ray instance for the module (starting one takes seconds); its address lets a
    CLI driver in a subprocess join it as on a real cluster. The test hooks are enabled in the
    environment the instance's workers inherit."""
    ray = pytest.importorskip("ray")
    with pytest.MonkeyPatch.context() as mp:
        for k, v in HOOKS.items():
            mp.setenv(k, v)
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            yield ray.get_runtime_context().gcs_address
        finally:
            ray.shutdown()


def _by_key(path):
    return {rec["point_key"]: rec for _, rec in iter_records(path)}


def test_ray_gives_the_local_figures_and_failures_are_statuses(tmp_path, tiny, ray_cluster,
                                                               clean_tree):
    base = dict(model=tiny, seq_len=4, threads=1)
    # bytes and FLOPs of a measure point, gradient errors of an agree point
    ok = [PointConfig(learner="sparse-rtrl", repeats=1, **base),
          PointConfig(kind="agree", learner="tree-rtrl", dtype="float64", **base)]
    bad = [PointConfig(learner="bptt", test_hook="crash", label="crash", **base),
           PointConfig(learner="bptt", test_hook="hang", label="hang", timeout_s=3, **base)]
    local, remote = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    run_sweep(ok, local, progress=open(os.devnull, "w"))
    s = run_sweep(ok + bad, remote, executor="ray", progress=open(os.devnull, "w"))
    assert s["ran"] == 4 and s["statuses"] == {"ok": 2, "error": 1, "timeout": 1}
    a, b = _by_key(local), _by_key(remote)
    assert set(a) == {p.key() for p in ok} and set(b) == {p.key() for p in ok + bad}
    # the deterministic figures (those CI's regression check compares) are equal
    compared = set()
    for key in a:
        for m in BYTES_METRICS + FLOPS_METRICS + ERROR_METRICS:
            if m in a[key]["metrics"]:
                assert b[key]["metrics"][m] == a[key]["metrics"][m], (m, a[key]["config"])
                compared.add(m)
    assert {"tensor_bytes_peak", "sensitivity_flops_per_step", "rel_err"} <= compared
    # each record names the node that ran it, described on that node (here: this machine)
    here = machine_info()
    for rec in b.values():
        assert rec["machine"]["node"] and rec["machine"]["machine_id"] == here["machine_id"]
        assert rec["machine"]["hostname"] == here["hostname"]
        assert rec["commit"] == clean_tree["commit"]
    # a crash and a timeout are the point's status, as with the local executor
    crash, hang = b[bad[0].key()], b[bad[1].key()]
    assert crash["status"] == "error" and "SIGSEGV" in crash["message"]
    assert hang["status"] == "timeout" and "3 s" in hang["message"]
    assert 3 <= hang["wall_s"] < 30


def test_a_task_lost_twice_is_retried_once_then_stored_as_error(tmp_path, tiny, ray_cluster,
                                                                 clean_tree):
    """A dead Ray worker (as when its node dies) is not the point's failure: Ray runs the task
    once more; lost again, its point is stored as error with the reason."""
    import psutil
    mark = f"lost-{tmp_path.name}"
    pt = PointConfig(learner="bptt", test_hook="hang", label=mark, timeout_s=120, model=tiny,
                     seq_len=4, threads=1)
    out = tmp_path / "r.jsonl"
    result: dict = {}
    sweep = threading.Thread(target=lambda: result.update(run_sweep(
        [pt], out, executor="ray", progress=open(os.devnull, "w"))))
    sweep.start()
    killed = []
    for attempt in range(2):   # the first run and Ray's one retry
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not [w for w in _workers(mark) if w not in killed]:
            time.sleep(0.2)
        worker = [w for w in _workers(mark) if w not in killed]
        assert worker, f"no point worker for attempt {attempt + 1}"
        killed.append(worker[0])
        psutil.Process(worker[0]).parent().kill()     # the Ray worker running the task
    sweep.join(timeout=60)
    assert not sweep.is_alive() and result["statuses"] == {"error": 1}, result
    (rec,) = _by_key(out).values()
    assert rec["status"] == "error" and rec["message"].startswith("Ray task lost (")
    assert "after 1 retry" in rec["message"] and rec["machine"]["node"] is None


def test_a_node_on_another_commit_stores_errors_instead_of_measuring(tmp_path, tiny,
                                                                      ray_cluster, clean_tree,
                                                                      monkeypatch):
    # the driver believes it runs another commit than the checkout its Ray workers import
    monkeypatch.setattr("rtrl_moe.bench.executors._machine.git_info",
                        lambda: {"commit": "d" * 40, "dirty": False})
    out = tmp_path / "r.jsonl"
    s = run_sweep([PointConfig(kind="agree", learner="rtrl", model=tiny, seq_len=2)], out,
                  executor="ray", progress=open(os.devnull, "w"))
    (rec,) = _by_key(out).values()
    assert s["statuses"] == {"error": 1} and "the sweep's is dddddddddddd" in rec["message"]
    assert rec["metrics"] == {}


def test_timed_points_of_one_label_and_seed_share_a_task(tiny):
    base = dict(model=tiny, seq_len=4)
    pts = [PointConfig(learner="bptt", label="a", seed=0, **base),
           PointConfig(learner="bptt", label="a", seed=1, **base),
           PointConfig(learner="sparse-rtrl", label="a", seed=0, **base),
           PointConfig(learner="bptt", label="a", seed=0, repeats=0, seq_len=8, model=tiny),
           PointConfig(kind="agree", learner="rtrl", label="a", **base)]
    todo = list(enumerate(pts, 1))
    idx = [[i for i, _ in g] for g in pair_groups(todo)]
    # the seed-0 pair together (list order); memory-only and agree points alone
    assert idx == [[1, 3], [2], [4], [5]]
    assert [[i for i, _ in g] for g in pair_groups(todo, "label")] == [[1, 2, 3], [4], [5]]
    assert [[i for i, _ in g] for g in pair_groups(todo, "point")] == [[1], [2], [3], [4], [5]]


# -- the driver killed, resumed; no orphans -------------------------------------------------
#: the CLI, with the resume rule seeing a clean tree at a fixed commit (as conftest's clean_tree)
CLEAN_CLI = ("import sys, rtrl_moe.bench.sweep as s; "
             "s.git_info = lambda: {'commit': 'c' * 40, 'dirty': False}; "
             "from rtrl_moe.bench.__main__ import main; sys.exit(main(sys.argv[1:]))")


def _write_points(path, pts):
    path.write_text(json.dumps([p.to_dict() for p in pts]))


def _workers(marker: str) -> list[int]:
    """Point workers whose spec names ``marker`` (the point's label): the worker of a Ray task
    makes its temp folder where the Ray worker's TMPDIR says, so it is found by its spec."""
    import psutil
    found = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        cmd = p.info["cmdline"] or []
        if "rtrl_moe.bench.worker" in cmd and "--spec" in cmd:
            try:
                if marker in Path(cmd[cmd.index("--spec") + 1]).read_text():
                    found.append(p.info["pid"])
            except (OSError, IndexError):
                pass
    return found


def _driver(tmp_path, points, out, *extra):
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    # a short path for Ray's own session folder (its sockets must fit in 107 bytes); the point
    # folders of a local instance's workers go to TMPDIR
    env = {**os.environ, **HOOKS, "TMPDIR": str(tmp), "RAY_TMPDIR": "/tmp"}
    return subprocess.Popen([sys.executable, "-c", CLEAN_CLI, "sweep", "--points", str(points),
                             "--out", str(out), "--executor", "ray", *extra], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_ctrl_c_default), tmp


def _wait_for(cond, what, proc, seconds=90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = cond()
        if found:
            return found
        if proc.poll() is not None:
            pytest.fail(f"the driver exited before {what}: {proc.stderr.read()}")
        time.sleep(0.2)
    proc.kill()
    pytest.fail(f"no {what} in {seconds} s")


def _lines(path):
    return path.read_text().splitlines() if path.exists() else []


def test_resume_after_the_driver_is_killed_loses_only_the_in_flight_point(tmp_path, tiny,
                                                                         ray_cluster):
    base = dict(model=tiny, seq_len=4, threads=1)
    done_pts = [PointConfig(kind="agree", learner=lr, dtype="float64", **base)
                for lr in ("rtrl", "sparse-rtrl")]
    mark = f"hang-{tmp_path.name}"
    hang = PointConfig(learner="bptt", test_hook="hang", label=mark, timeout_s=120, **base)
    points, out = tmp_path / "points.json", tmp_path / "r.jsonl"
    _write_points(points, done_pts + [hang])
    # the driver joins the running cluster, as on a real one
    proc, tmp = _driver(tmp_path, points, out, "--address", ray_cluster)
    _wait_for(lambda: len(_lines(out)) == 2 and _workers(mark), "hanging worker", proc)
    proc.kill()
    proc.wait(timeout=30)
    # Ray ends the dead driver's tasks; the point worker follows its parent
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _workers(mark):
        time.sleep(0.2)
    assert _workers(mark) == [], "a point worker outlived its killed driver"
    assert len(_lines(out)) == 2

    # resumed (same points; the timeout is not the point's identity): only the lost one runs
    _write_points(points, done_pts + [hang.replace(timeout_s=3)])
    proc, _ = _driver(tmp_path, points, out, "--address", ray_cluster, "--json")
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    s = json.loads(stdout)
    assert (s["ran"], s["skipped"], s["statuses"]) == (1, 2, {"timeout": 1}), stderr
    assert stderr.count("stored (ok), skipped") == 2
    recs = [rec for _, rec in iter_records(out)]
    assert len(recs) == 3 and sorted(r["point_key"] for r in recs) == sorted(
        p.key() for p in done_pts + [hang])


def test_sigterm_of_a_ray_sweep_stops_its_local_instance_and_workers(tmp_path, tiny):
    pytest.importorskip("ray")
    points, out = tmp_path / "points.json", tmp_path / "r.jsonl"
    mark = f"hang-{tmp_path.name}"
    _write_points(points, [PointConfig(learner="bptt", test_hook="hang", model=tiny, seq_len=4,
                                       threads=1, timeout_s=120, label=mark)])
    # no --address: the sweep starts (and must stop) its own local instance
    proc, tmp = _driver(tmp_path, points, out)
    _wait_for(lambda: _workers(mark) and list(tmp.glob("rtrl_moe_point_*")), "hanging worker",
              proc)
    os.kill(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "error: interrupted" in err, err
    assert "Traceback" not in err
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and (_workers(mark) or list(tmp.glob("rtrl_moe_point_*"))):
        time.sleep(0.2)
    assert _workers(mark) == [], "a point worker outlived its sweep"
    assert list(tmp.glob("rtrl_moe_point_*")) == [], "a temp folder outlived its sweep"
    assert _lines(out) == []


# -- without Ray ----------------------------------------------------------------------------
def test_executor_ray_without_ray_is_one_line_and_exit_2(tmp_path, tiny, monkeypatch, capsys):
    points = tmp_path / "points.json"
    _write_points(points, [PointConfig(learner="bptt", model=tiny, seq_len=4)])
    monkeypatch.setitem(sys.modules, "ray", None)   # `import ray` now fails, as uninstalled
    out = tmp_path / "r.jsonl"
    rc = bench_main(["sweep", "--points", str(points), "--out", str(out), "--executor", "ray"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1, err
    assert err[0].startswith("error: ") and "pip install -e '.[ray]'" in err[0]
    assert not out.exists()


@pytest.mark.parametrize("flag", [["--address", "h:6379"], ["--max-parallel", "2"],
                                  ["--pair-by", "label"]])
def test_ray_flags_without_executor_ray_are_one_line_and_exit_2(tmp_path, flag, capsys):
    rc = bench_main(["sweep", "--preset", "quick", "--out", str(tmp_path / "r.jsonl"), *flag])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err == [f"error: argument {flag[0]}: only with --executor ray"]


def _ctrl_c_default():
    """In the child: SIGINT back to its default. A shell starts background jobs (``pytest &``,
    nohup) with SIGINT ignored, the child inherits that, and Python then installs no Ctrl-C
    handler, so the sweep would never see the interrupt these tests send."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
