"""rtrl_moe.build: the one KEY=VALUE rule and the spec errors both CLIs print."""
import pytest

from rtrl_moe import build


@pytest.mark.parametrize("text, value", [("8", 8), ("2e-3", 2e-3), ("True", True),
                                         ("gru", "gru"), ("'x'", "x"), ("[1, 2]", [1, 2]),
                                         (" 16 ", 16)])
def test_parse_value_takes_literals_else_the_string(text, value):
    assert build.parse_value(text) == value


def test_parse_assignments_rejects_items_without_a_key():
    assert build.parse_assignments(["a=1", "b=x=y"]) == {"a": 1, "b": "x=y"}
    for bad in (["a"], ["=1"]):
        with pytest.raises(build.SpecError, match="expects KEY=VALUE"):
            build.parse_assignments(bad, "--config")


@pytest.mark.parametrize("value, like, out", [(3, 1, 3), (3, 1.0, 3.0), (1, True, True),
                                              ("no", True, False), (5, "tanh", "5")])
def test_coerce_to_the_default_type(value, like, out):
    got = build.coerce(value, like, "--config k")
    assert got == out and type(got) is type(out)


@pytest.mark.parametrize("value, like", [("abc", 1), (2.5, 1), (True, 1), ("x", 1.0),
                                         (float("inf"), 1.0), (2, True)])
def test_coerce_refuses_the_wrong_type(value, like):
    with pytest.raises(build.SpecError, match="expected"):
        build.coerce(value, like, "--config k")


def test_the_same_flag_builds_the_same_model_in_both_paths():
    task = build.make_task("anbn", 8, 1, 0)
    cfg = build.model_config("moe", build.parse_assignments(["d_model=8", "d_ff=16"]), task)
    assert (cfg.d_model, cfg.d_ff, cfg.d_in) == (8, 16, task.d_in)
    with pytest.raises(build.SpecError, match="unknown --config key nope for model moe"):
        build.model_config("moe", {"nope": 1}, task)
    with pytest.raises(build.SpecError, match="does not match the task"):
        build.model_config("moe", {"d_in": task.d_in + 1}, task)


def test_bad_names_and_learner_keywords_are_spec_errors():
    with pytest.raises(build.SpecError, match="unknown task"):
        build.make_task("copy", 8, 1, 0)
    with pytest.raises(build.SpecError, match="unknown --task-arg key lag"):
        build.make_task("anbn", 8, 1, 0, {"lag": 3})
    task = build.make_task("anbn", 8, 1, 0)
    model = build.make_model("moe", build.model_config("moe", {"d_model": 8}, task), 0)
    with pytest.raises(build.SpecError, match="unknown learner"):
        build.make_learner("nope", model)
    with pytest.raises(build.SpecError, match="learner tbptt"):
        build.make_learner("tbptt", model, {"k": 0})


def test_evaluate_counts_every_target_of_the_held_out_batches():
    task = build.make_task("anbn", 16, 2, 0)
    model = build.make_model("moe", build.model_config("moe", {"d_model": 8}, task), 0)
    one = build.evaluate(model, task, "cpu", "float32", (-1,))
    two = build.evaluate(model, task, "cpu", "float32", (-1, -2))
    assert 0 < one["n_targets"] < two["n_targets"]
    assert 0.0 <= two["accuracy"] <= 1.0 and two["loss"] > 0
