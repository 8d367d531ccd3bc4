"""A sweep's ETA: points weighed by their recorded wall times, scaled by this machine's pace,
and shown off a terminal too (nox, CI)."""
import io
import json

import pytest

from rtrl_moe.bench import progress as pg
from rtrl_moe.bench.config import PointConfig


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(pg.time, "perf_counter", c)
    return c


def test_recorded_seconds_takes_the_median_and_passes_over_what_does_not_read(tmp_path):
    f = tmp_path / "r.jsonl"
    rows = [{"point_key": "a", "wall_s": 1.0}, {"point_key": "a", "wall_s": 3.0},
            {"point_key": "a", "wall_s": 10.0}, {"point_key": "b", "wall_s": 4.0},
            {"point_key": "c"}]
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n{broken\n" + '{"point_k')
    assert pg.recorded_seconds([f, tmp_path / "missing.jsonl"]) == {"a": 3.0, "b": 4.0}
    assert pg.recorded_seconds([f], keys={"b"}) == {"b": 4.0}


def test_unrecorded_points_weigh_the_median_of_the_recorded_ones():
    pts = [PointConfig(learner="bptt", seq_len=T) for T in (1, 2, 3, 4)]
    rec = {pts[0].key(): 2.0, pts[1].key(): 4.0, pts[2].key(): 9.0}
    assert pg.weights_for(pts, rec) == [2.0, 4.0, 9.0, 4.0]
    assert pg.weights_for(pts, {}) == [1.0] * 4


def test_eta_scales_the_recorded_times_by_this_machines_pace(clock):
    bar = pg.Progress(io.StringIO(), 3, weights=[10.0, 20.0, 30.0])
    assert bar.estimate() == "1m00s" and bar.eta() == "ETA 1m00s"
    clock.t = 20.0                 # the first point took twice its recorded 10 s
    bar.advance()
    assert bar.eta() == "ETA 1m40s"  # (20 + 30) s recorded x 2
    bar.advance(skipped=True)      # a skipped point is no evidence of pace
    assert bar.eta() == "ETA 1m00s"


def test_without_records_the_eta_is_by_count_once_a_point_ran(clock):
    bar = pg.Progress(io.StringIO(), 4)
    assert bar.eta() == "ETA ?" and bar.estimate() == ""
    clock.t = 5.0
    bar.advance()
    assert bar.eta() == "ETA 15s"


def test_plain_lines_of_a_sweep_carry_the_eta(tmp_path):
    from rtrl_moe.bench.sweep import run_sweep
    tiny = {"d_model": 4, "n_slots": 3, "n_experts": 2, "topk": 1, "topk_read": 1,
            "topk_write": 1, "d_ff": 8}
    pts = [PointConfig(kind="agree", learner="rtrl", model=tiny, seq_len=2, threads=1)]
    log = io.StringIO()
    ref = tmp_path / "ref.jsonl"
    ref.write_text(json.dumps({"point_key": pts[0].key(), "wall_s": 3.0}) + "\n")
    run_sweep(pts, tmp_path / "out.jsonl", progress=log, reference=[ref])
    text = log.getvalue()
    assert "about 3s by the recorded wall times of 1 of them" in text
    assert "[1/1] running (ETA 3s," in text


def test_a_groups_later_points_take_what_its_first_took_here(clock):
    # the second and third point are one config at two seeds, never recorded (guessed at 10 s)
    bar = pg.Progress(io.StringIO(), 3, weights=[10.0, 10.0, 10.0], known=[True, False, False],
                      groups=["a", "b", "b"])
    clock.t = 10.0
    bar.advance()
    assert bar.eta() == "ETA 20s"
    clock.t = 50.0                 # the unrecorded one took 40 s: its twin will too, and the
    bar.advance()                  # pace of recorded points (x1) is left as it was
    assert bar.eta() == "ETA 40s"
