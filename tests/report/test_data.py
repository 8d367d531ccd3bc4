"""The accessors of data.py that several modules rely on."""
from __future__ import annotations

import synth
from report_testlib import load_records

from rtrl_moe.report.data import SeriesKey, series_key


def test_series_key_names_the_config_by_field(tmp_path):
    recs = [synth.record("measure", "tree-rtrl", 64, synth.measure_metrics("tree-rtrl", 64), kwargs={"n": 16}),
            synth.record("measure", "rtrl", 64, synth.measure_metrics("rtrl", 64))]
    df = load_records(tmp_path, recs)
    keys = list(series_key(df, with_run=True))
    assert all(isinstance(k, SeriesKey) for k in keys)
    tree, rtrl = sorted(keys, key=lambda k: k.kwargs != "{}")[::-1]
    assert tree.task == "anbn" and tree.model_config == synth.MODEL and tree.kwargs == '{"n": 16}'
    assert tree.run_id == synth.RUN
    # the two learners' series share a config once their kwargs are left out
    assert tree != rtrl and tree.config == rtrl.config
    # its text is the fields it holds, in order, as the notes print it
    assert str(tree.config) == "|".join(["fx01", "cpu", "float32", "1.0", "anbn", "moe", tree.model, synth.RUN])


def test_series_key_without_kwargs_or_run(tmp_path):
    df = load_records(tmp_path, [synth.record("measure", "rtrl", 64, synth.measure_metrics("rtrl", 64))])
    (k,) = series_key(df, with_kwargs=False)
    assert k.kwargs is None and k.run_id is None and str(k).count("|") == 6
