"""Every ponderttt command line (issue 32): help on every flag, one line and exit 2 for a bad
flag, and default outputs under local/, never under results/."""
import importlib

import pytest

CLIS = ["train_baseline", "pretrained", "frontier", "train_policy", "visualize_results", "document"]


def _parser(name):
    return importlib.import_module(f"ponderttt.experiments.{name}").build_parser()


@pytest.mark.parametrize("name", CLIS)
def test_every_flag_has_help_and_outputs_default_to_local(name):
    p = _parser(name)
    for act in p._actions:
        assert act.help, f"{name}: {act.option_strings} has no help"
        d = act.default
        if isinstance(d, str) and ("/" in d or d.endswith(".jsonl")):
            assert d.startswith("local/") and "results" not in d, f"{name}: {act.dest} -> {d}"


@pytest.mark.parametrize("name", CLIS)
def test_bad_flag_is_one_line_exit_2(name, capsys):
    mod = importlib.import_module(f"ponderttt.experiments.{name}")
    with pytest.raises(SystemExit) as e:
        mod.main(["--no_such_flag"])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and "Traceback" not in err[0]


def test_train_baseline_backbone_flag(capsys):
    from ponderttt.experiments.train_baseline import build_parser, main
    assert build_parser().parse_args([]).backbone == "gpt2-random"     # the seed's default
    assert build_parser().parse_args(["--backbone", "smollm2-135m"]).backbone == "smollm2-135m"
    with pytest.raises(SystemExit) as e:
        main(["--backbone", "smollm2-135m", "--weights", "x.pt"])
    assert e.value.code == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1


def test_train_baseline_runs_on_smollm2(tmp_path, capsys):
    """The document's CLI on the pretrained backbone (full-weight mode), a tiny run."""
    pytest.importorskip("gguf")
    from ponderttt.experiments.train_baseline import main
    from rtrl_moe.records import read_records
    rc = main(["--backbone", "smollm2-135m", "--action", "SKIP,UPDATE_1", "--num_chunks", "2",
               "--chunk_size", "16", "--output_dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0 and "Chunk 2/2: loss=" in out and "Average loss:" in out
    assert "Total cost: 4.0" in out
    (rec,) = read_records(tmp_path / "records.jsonl")
    assert rec["config"]["backbone"] == "smollm2-135m" and rec["config"]["update"] == "full"
    assert rec["metrics"]["chunk_actions"] == ["SKIP", "UPDATE_1"]
