"""The long-range section: the thesis judgement comes out each way on synthetic records."""
import json

from rtrl_moe.longrange import registry
from rtrl_moe.records import make_record
from rtrl_moe.report import data, longrange

MACHINE = {"machine_id": "m", "cpu": "x", "cores": 2}


def rec(model, learner, D, seed, acc, mem, status="ok", k=None, **metrics):
    p = registry.Point(model, learner, D, seed, k)
    m = {"heldout_accuracy": acc, "tensor_bytes_peak": mem, "chance_accuracy": 0.125,
         "ms_per_token": 0.01, "rss_peak": 1000, **metrics}
    if status != "ok":
        m = {"not_run": "budget", **metrics}
    return make_record(config=p.config(), status=status, metrics=m, point_key=p.key,
                       machine=MACHINE, git={"commit": "c", "dirty": False},
                       message=None if status == "ok" else "not run: over")


def frame(tmp_path, records):
    (tmp_path / "longrange.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    df, _ = data.load(tmp_path)
    return df


def arm(model, learner, accs, mem, k=None, seeds=3):
    return [rec(model, learner, D, s, a, mem, k=k) for D, a in accs.items() for s in range(seeds)]


def judge(tmp_path, records):
    return longrange.thesis(longrange.table(frame(tmp_path, records)))


def test_yes_when_a_constant_memory_learner_solves_what_tbptt_cannot(tmp_path):
    rs = arm("lru", "lru-rtrl", {16: 1.0, 64: 0.95}, 100) + \
        arm("lru", "tbptt", {16: 1.0, 64: 0.2}, 150, k=16)
    th = judge(tmp_path, rs)
    assert th["verdict"] == "yes" and th["pairs"][0]["at"] == 64
    assert th["sentence"].startswith("Yes")


def test_no_when_tbptt_at_the_same_memory_solves_it_too(tmp_path):
    rs = arm("lru", "lru-rtrl", {16: 1.0, 64: 0.95}, 100) + \
        arm("lru", "tbptt", {16: 1.0, 64: 0.93}, 150, k=64)
    assert judge(tmp_path, rs)["verdict"] == "no"


def test_a_tbptt_with_much_more_memory_does_not_count(tmp_path):
    rs = arm("lru", "lru-rtrl", {16: 1.0, 64: 0.95}, 100) + \
        arm("lru", "tbptt", {16: 1.0, 64: 0.99}, 1000, k=256) + \
        arm("lru", "tbptt", {16: 0.3, 64: 0.2}, 150, k=16)
    assert judge(tmp_path, rs)["verdict"] == "yes"


def test_undecided_without_enough_seeds_or_without_a_comparable_tbptt(tmp_path):
    few = arm("lru", "lru-rtrl", {64: 0.95}, 100) + arm("lru", "tbptt", {64: 0.2}, 150, k=16,
                                                           seeds=2)
    assert judge(tmp_path, few)["verdict"] == "undecided"
    alone = arm("lru", "lru-rtrl", {64: 0.95}, 100) + arm("lru", "tbptt", {64: 0.2}, 900, k=16)
    sub = tmp_path / "b"
    sub.mkdir()
    th = judge(sub, alone)
    assert th["verdict"] == "undecided" and "no truncated BPTT" in th["sentence"]


def test_solved_needs_three_seeds_and_ninety_percent(tmp_path):
    rows = longrange.table(frame(tmp_path, arm("rnn", "rflo", {16: 0.91, 64: 0.89}, 10) +
                                 arm("rnn", "uoro", {16: 1.0}, 10, seeds=2)))
    by = {r["learner"]: r for r in rows}
    assert by["rflo"]["longest"] == 16 and by["uoro"]["longest"] is None
    assert longrange.SOLVED == registry.SOLVED          # one rule, in both places


def test_not_run_points_are_named_and_the_section_renders(tmp_path):
    rs = arm("lru", "lru-rtrl", {16: 1.0}, 100) + [rec("moe", "sparse-rtrl", 16, 0, None, None,
                                                      status="skipped", est_train_s=400.0)]
    sec = longrange.section(frame(tmp_path, rs))
    moe = [r for r in sec["rows"] if r["learner"] == "sparse-rtrl"][0]
    assert moe["D=16"] == "not run (budget, est. 400 s)"
    assert moe["longest D solved"] == "not run"
    assert sec["figure"] is not None and sec["figure"].png[:4] == b"\x89PNG"
    assert sec["thesis"]["verdict"] == "undecided"


def test_empty(tmp_path):
    sec = longrange.section(data.load(tmp_path)[0])
    assert sec["rows"] == [] and sec["thesis"] is None and sec["figure"] is None
