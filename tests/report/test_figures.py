"""Figures that are drawn only from their own piece's records."""
from __future__ import annotations

import synth
from report_testlib import load_records

from rtrl_moe.report import figures


def test_trajectory_figure_needs_both_learners_of_one_seed(tmp_path):
    recs = synth.trajectory_records("float64") + synth.trajectory_records("float32", 120)
    assert figures.trajectory(load_records(tmp_path, recs)) is not None
    only_bptt = [r for r in recs if r["config"]["learner"] == "bptt"]
    assert figures.trajectory(load_records(tmp_path / "b", only_bptt)) is None
