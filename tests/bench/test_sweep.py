"""End to end: a tiny sweep in fresh subprocesses, with an OOM, a crash and a timeout among
the points; every other point is stored, and a second run resumes (skips stored points)."""
import io
import json
import subprocess
import sys
from pathlib import Path

from rtrl_moe.bench import PointConfig, load_results, run_point_isolated, run_sweep
from rtrl_moe.records.machine import git_info, machine_info

ROOT = Path(__file__).resolve().parents[2]


def _points(tiny):
    base = dict(model=tiny, seq_len=4, threads=1)
    return [
        PointConfig(learner="bptt", repeats=2, label="ok-measure", **base),
        PointConfig(learner="bptt", budget_mb=48, test_hook="oom", label="oom", **base),
        PointConfig(learner="bptt", test_hook="crash", label="crash", **base),
        PointConfig(kind="agree", learner="sparse-rtrl", dtype="float64", label="ok-agree",
                    **base),
        PointConfig(learner="bptt", test_hook="hang", label="hang", timeout_s=6, **base),
        PointConfig(kind="train", learner="bptt", steps=2, label="ok-train", **base),
    ]


def test_sweep_stores_every_point_with_its_status_and_resumes(tmp_path, tiny, hook_env,
                                                            clean_tree):
    out = tmp_path / "results" / "tiny.jsonl"
    log = io.StringIO()
    pts = _points(tiny)
    s1 = run_sweep(pts, out, progress=log)
    assert s1["ran"] == 6 and s1["skipped"] == 0, log.getvalue()
    df = load_results(out.parent)
    by = {r["config.label"]: r for _, r in df.iterrows()}
    assert set(by) == {p.label for p in pts}
    assert by["ok-measure"]["status"] == "ok"
    assert by["ok-measure"]["metrics.tensor_bytes_peak"] > 0
    assert by["ok-agree"]["status"] == "ok" and by["ok-agree"]["metrics.rel_err"] < 1e-10
    assert by["ok-train"]["status"] == "ok" and len(by["ok-train"]["metrics.curve"]) == 2
    oom = by["oom"]
    assert oom["status"] == "oom" and oom["config.budget_mb"] == 48 and "48" in oom["message"]
    crash = by["crash"]
    assert crash["status"] == "error" and "SIGSEGV" in crash["message"]
    assert crash["record"]["returncode"] == -11
    hang = by["hang"]
    assert hang["status"] == "timeout" and "6 s" in hang["message"]
    assert 6 <= hang["wall_s"] < 30
    # every record: same run, this commit and machine, the point's key
    g, m = clean_tree, machine_info()
    assert df["run_id"].nunique() == 1 and set(df["commit"]) == {g["commit"]}
    assert set(df["machine.machine_id"]) == {m["machine_id"]}
    assert sorted(df["point_key"]) == sorted(p.key() for p in pts)
    assert "[6/6]" in log.getvalue()

    # resumed: nothing runs again, nothing is appended
    log2 = io.StringIO()
    s2 = run_sweep(pts, out, progress=log2)
    assert s2["ran"] == 0 and s2["skipped"] == 6
    assert len(out.read_text().splitlines()) == 6
    assert "stored (oom), skipped" in log2.getvalue()

    # --retry-failed re-runs error/timeout points only; label/timeout do not change identity
    pts2 = [p for p in pts if p.label in ("crash", "ok-measure")]
    s3 = run_sweep([p.replace(label="renamed") for p in pts2], out, retry_failed=True,
                   progress=io.StringIO())
    assert s3["ran"] == 1 and s3["statuses"] == {"error": 1}
    assert len(out.read_text().splitlines()) == 7


def test_cli_sweep_points_file_resume_and_force(tmp_path, tiny, hook_env):
    pts = [PointConfig(learner="bptt", repeats=1, model=tiny, seq_len=3, threads=1)]
    pf = tmp_path / "points.json"
    pf.write_text(json.dumps([p.to_dict() for p in pts]))
    out = tmp_path / "r.jsonl"

    def sweep(*extra):
        r = subprocess.run([sys.executable, "-m", "rtrl_moe.bench", "sweep", "--points", str(pf),
                            "--out", str(out), *extra, "--json"], cwd=ROOT, capture_output=True,
                           text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout), r.stderr

    s, err = sweep()
    assert s["ran"] == 1 and "[1/1] ok" in err
    s, err = sweep("--resume")
    # records measured with uncommitted changes are never reused (test_faults.py); a clean
    # checkout, as in CI, resumes past the stored point
    dirty = bool(git_info().get("dirty"))
    assert (s["ran"], s["skipped"]) == ((1, 0) if dirty else (0, 1))
    s, err = sweep("--force")
    assert s["ran"] == 1
    assert len(load_results(out)) == (4 if dirty else 2)


def test_isolated_point_reports_a_python_error_with_traceback(tiny, hook_env):
    rec = run_point_isolated(PointConfig(learner="bptt", seq_len=3, model=tiny,
                                         test_hook="raise"), timeout_s=120)
    assert rec["status"] == "error" and "deliberate failure" in rec["message"]
    assert "Traceback" in rec["traceback"]
    assert rec["config"]["model"]["d_in"] == 3 and rec["point_key"]


def test_progress_shows_an_eta_on_a_terminal_and_plain_lines_elsewhere():
    from rtrl_moe.bench.sweep_plan import Progress

    class Tty(io.StringIO):
        def isatty(self):
            return True
    tty = Tty()
    bar = Progress(tty, 4)
    bar.line("[1/4] ok")
    bar.advance()
    bar.close()
    text = tty.getvalue()
    assert "1/4" in text and "<" in text and "[1/4] ok" in text     # tqdm's [elapsed<remaining]
    plain = io.StringIO()
    bar = Progress(plain, 4)
    bar.line("[1/4] ok")
    bar.advance()
    bar.close()
    assert plain.getvalue() == "[1/4] ok\n"
