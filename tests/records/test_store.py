"""Results records: write/append, load into a DataFrame, reject bad or foreign data."""
import json
import math

import pytest

from rtrl_moe.records import (
    SCHEMA_VERSION,
    ResultsError,
    ResultsWarning,
    append_record,
    load_results,
    make_record,
    read_records,
)

MACHINE = {"machine_id": "abc123", "hostname": "h", "cpu": "cpu", "cores": 2, "ram_bytes": 1,
           "gpu": None, "gpu_driver": None, "cuda": None, "torch": "2", "python": "3",
           "platform": "p"}
GIT = {"commit": "0" * 40, "dirty": False}


def rec(learner="sparse-rtrl", status="ok", **metrics):
    cfg = {"kind": "agree", "learner": learner, "learner_kwargs": {}, "model_type": "moe",
           "model": {"d_model": 8, "n_slots": 4}, "task": "anbn", "seq_len": 16, "batch": 1,
           "dtype": "float64", "device": "cpu", "seed": 0, "budget_mb": None, "repeats": 5,
           "warmup": 1, "steps": None, "lr": None}
    return make_record(config=cfg, status=status, metrics=metrics, machine=MACHINE, git=GIT,
                       run_id="r1", message=None if status == "ok" else "why",
                       point_key=f"k-{learner}-{status}")


def test_round_trip_and_flattened_columns(tmp_path):
    f = tmp_path / "a.jsonl"
    append_record(f, rec(rel_err=1e-16, cosine=1.0, per_param={"w": {"rel_err": 0.0}}))
    append_record(f, rec("rtrl", rel_err=2e-15, max_abs_err=float("nan")))
    append_record(f, rec("tree-rtrl", status="oom"))
    lines = f.read_text().splitlines()
    assert len(lines) == 3 and all(json.loads(x)["schema"] == SCHEMA_VERSION for x in lines)
    df = load_results(f)
    assert list(df["config.learner"]) == ["sparse-rtrl", "rtrl", "tree-rtrl"]
    assert df["metrics.rel_err"].iloc[1] == 2e-15
    assert df["metrics.max_abs_err"].iloc[1] is None or math.isnan(df["metrics.max_abs_err"].iloc[1])
    assert json.loads(lines[1])["metrics"]["max_abs_err"] is None    # NaN stored as null
    assert df["config.model.d_model"].tolist() == [8, 8, 8]
    assert df["metrics.per_param"].iloc[0] == {"w": {"rel_err": 0.0}}
    assert df["record"].iloc[2]["status"] == "oom"
    assert df["status"].tolist() == ["ok", "ok", "oom"]
    assert df["source_line"].tolist() == [1, 2, 3]
    assert df["machine.machine_id"].iloc[0] == "abc123"


def test_directory_reads_every_jsonl_file_in_order(tmp_path):
    append_record(tmp_path / "b.jsonl", rec("rtrl"))
    append_record(tmp_path / "sub" / "a.jsonl", rec("bptt"))
    append_record(tmp_path / "a.jsonl", rec("tree-rtrl"))
    (tmp_path / "notes.txt").write_text("not a results file")
    df = load_results(tmp_path)
    assert sorted(df["config.learner"]) == ["bptt", "rtrl", "tree-rtrl"]
    assert len(read_records(tmp_path)) == 3


def test_empty_directory_gives_empty_frame_with_columns(tmp_path):
    df = load_results(tmp_path)
    assert len(df) == 0
    for c in ("config.learner", "metrics.rel_err", "metrics.tensor_bytes_peak", "status",
              "record", "machine.gpu"):
        assert c in df.columns


def _bad(tmp_path, text):
    f = tmp_path / "bad.jsonl"
    f.write_text(text)
    with pytest.raises(ResultsError) as ei:
        load_results(tmp_path)
    return f, ei.value


def test_malformed_line_names_file_and_line(tmp_path):
    good = json.dumps(rec())
    f, e = _bad(tmp_path, good + "\n" + good + "\n{\"schema\": 1, \"run_id\": \n" + good + "\n")
    assert e.line == 3 and e.path == str(f)
    assert f"{f}:3" in str(e) and "malformed JSON" in str(e)


def test_unknown_schema_is_rejected(tmp_path):
    r = rec()
    r["schema"] = 2
    f, e = _bad(tmp_path, json.dumps(rec()) + "\n" + json.dumps(r) + "\n")
    assert e.line == 2 and "unknown schema 2" in str(e)


@pytest.mark.parametrize("text,why", [
    ("learner,rel_err\nrtrl,1e-16\n", "malformed JSON"),          # a CSV file
    ('{"name": "something else", "value": 3}\n', "no 'schema' field"),
    ("[1, 2, 3]\n", "expected a JSON object"),
])
def test_foreign_files_are_rejected(tmp_path, text, why):
    _, e = _bad(tmp_path, text)
    assert e.line == 1 and why in str(e)


def test_record_missing_fields_or_bad_status(tmp_path):
    r = rec()
    del r["metrics"]
    _, e = _bad(tmp_path, json.dumps(r) + "\n")
    assert "metrics" in str(e)
    r = rec()
    r["status"] = "great"
    _, e = _bad(tmp_path, json.dumps(r) + "\n")
    assert "unknown status" in str(e)


def test_partial_last_line_is_skipped_named_and_counted(tmp_path):
    f = tmp_path / "r.jsonl"
    append_record(f, rec("bptt"))
    with open(f, "a") as fh:
        fh.write(json.dumps(rec("rtrl"))[:40])          # a writer killed mid-line
    with pytest.warns(ResultsWarning, match=r"r.jsonl:2: skipped a partial last line"):
        df = load_results(f)
    assert list(df["config.learner"]) == ["bptt"]
    assert df.attrs["partial_lines"] == [f"{f}:2"]


def test_append_sets_a_partial_last_line_aside_and_never_glues_onto_it(tmp_path):
    f = tmp_path / "r.jsonl"
    append_record(f, rec("bptt"))
    with open(f, "a") as fh:
        fh.write(json.dumps(rec("rtrl"))[:40])
    with pytest.warns(ResultsWarning, match="moved to"):
        append_record(f, rec("tree-rtrl"))
    assert [r["config"]["learner"] for r in read_records(f)] == ["bptt", "tree-rtrl"]
    assert (tmp_path / "r.jsonl.partial").read_text() == json.dumps(rec("rtrl"))[:40] + "\n"


def test_a_bad_line_before_the_last_is_still_an_error(tmp_path):
    f = tmp_path / "r.jsonl"
    f.write_text(json.dumps(rec("bptt"))[:40] + "\n" + json.dumps(rec("rtrl")) + "\n")
    with pytest.raises(ResultsError) as ei:
        load_results(f)
    assert ei.value.line == 1


def test_a_failed_write_leaves_no_partial_line(tmp_path):
    import resource
    import subprocess
    import sys
    f = tmp_path / "r.jsonl"
    append_record(f, rec("bptt"))
    size = f.stat().st_size
    big = rec("rtrl", per_param={f"p{i}": "x" * 100 for i in range(200)})
    code = (f"import json, resource; from rtrl_moe.records import append_record\n"
            f"resource.setrlimit(resource.RLIMIT_FSIZE, ({size + 1000}, {size + 1000}))\n"
            f"import signal; signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
            f"try:\n    append_record({str(f)!r}, json.loads({json.dumps(json.dumps(big))}))\n"
            f"except OSError as e:\n    print('failed', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "failed" in out.stdout, out.stderr
    assert f.stat().st_size == size                       # cut back to the last whole line
    assert [r["config"]["learner"] for r in read_records(f)] == ["bptt"]
    del resource


def test_field_types_are_checked_against_the_schema(tmp_path):
    r = rec()
    r["metrics"]["tensor_bytes_peak"] = "abc"
    _, e = _bad(tmp_path, json.dumps(r) + "\n")
    assert "metrics.tensor_bytes_peak: 'abc' is not of type" in str(e) and e.line == 1
    r = rec()
    del r["config"]["learner"]
    _, e = _bad(tmp_path, json.dumps(r) + "\n")
    assert "'learner' is a required property" in str(e)


def test_blank_lines_carry_no_data_and_are_allowed(tmp_path):
    f = tmp_path / "r.jsonl"
    f.write_text("\n" + json.dumps(rec()) + "\n\n")
    assert len(load_results(f)) == 1


def test_missing_path_is_an_error(tmp_path):
    with pytest.raises(ResultsError):
        load_results(tmp_path / "nope")


def test_append_validates_before_writing(tmp_path):
    f = tmp_path / "r.jsonl"
    r = rec()
    r["schema"] = 99
    with pytest.raises(ResultsError):
        append_record(f, r)
    assert not f.exists()
