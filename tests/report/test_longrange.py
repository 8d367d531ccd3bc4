"""The long-range section: the thesis rule flips each way on synthetic records; the section
renders; a point not run shows no accuracy."""
import json

from rtrl_moe.longrange import protocol
from rtrl_moe.longrange.protocol import Point
from rtrl_moe.records import make_record
from rtrl_moe.report import data, longrange

MACHINE = {"machine_id": "m", "cpu": "x", "cores": 2}
GIT = {"commit": "c", "dirty": False}


def rec(model, learner, D, seed, acc, status="ok", mem=1000):
    p = Point(model, learner, D, seed)
    m = {"heldout_accuracy": acc, "heldout_correct": round(acc * 256), "heldout_targets": 256,
         "tensor_bytes_peak": mem, "chance": 0.125, "ms_per_token": 0.01,
         "load_avg_1m": 0.5} if status == "ok" else {"not_run": "session"}
    return make_record(config=p.config(), status=status, metrics=m, point_key=p.key,
                       machine=MACHINE, git=GIT,
                       message=None if status == "ok" else "not run: budget spent")


def kstar(model, learner, k):
    p = Point(model, learner, 16, 0, updates=1, role="kstar")
    return make_record(config={**p.config(), "arm": "kstar"}, status="ok",
                       metrics={"kstar": k, "learner_bytes": 1000.0,
                                "bytes_per_window_step": 100.0},
                       point_key=f"longrange|kstar|{model}/{learner}", machine=MACHINE, git=GIT)


def arm(model, learner, accs, seeds=3):
    return [rec(model, learner, D, s, a) for D, a in accs.items() for s in range(seeds)]


def frame(tmp_path, records):
    (tmp_path / "longrange-episodic.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in records))
    df, _ = data.load(tmp_path)
    return df


def judge(tmp_path, records, delays=(16, 64)):
    df = frame(tmp_path, records)
    return longrange.thesis(longrange.table(df), longrange.kstars(df), {"lru": delays})["lru"]


def test_yes_only_where_the_constant_memory_learner_solves_what_its_rival_fails(tmp_path):
    rs = [kstar("lru", "lru-rtrl", 8)] + arm("lru", "lru-rtrl", {16: 1.0, 64: 0.97}) + \
        arm("lru", "tbptt-8", {16: 0.13, 64: 0.12})
    th = judge(tmp_path, rs)
    assert th["answer"] == "yes" and th["pairs"][0]["wins"] == [16, 64]
    assert "tbptt-8" in th["sentence"]


def test_rival_solving_too_flips_it_away_from_yes(tmp_path):
    rs = [kstar("lru", "lru-rtrl", 8)] + arm("lru", "lru-rtrl", {16: 1.0, 64: 0.97}) + \
        arm("lru", "tbptt-8", {16: 0.95, 64: 0.93})
    assert judge(tmp_path, rs)["answer"] in ("no", "undecided")


def test_no_when_the_learner_fails_every_delay_beyond_its_rivals_reach(tmp_path):
    rs = [kstar("lru", "lru-rtrl", 8)] + arm("lru", "lru-rtrl", {16: 0.2, 64: 0.12}) + \
        arm("lru", "tbptt-8", {16: 0.13, 64: 0.12}) + arm("lru", "bptt", {16: 0.3, 64: 0.1})
    th = judge(tmp_path, rs)
    assert th["answer"] == "no" and th["cell_limit"] == [16, 64]


def test_undecided_with_too_few_seeds_a_missing_kstar_or_nothing_beyond_reach(tmp_path):
    few = [kstar("lru", "lru-rtrl", 8)] + arm("lru", "lru-rtrl", {64: 1.0}, seeds=2) + \
        arm("lru", "tbptt-8", {64: 0.1})
    (tmp_path / "a").mkdir()
    assert judge(tmp_path / "a", few, delays=(64,))["answer"] == "undecided"
    (tmp_path / "b").mkdir()
    assert judge(tmp_path / "b", arm("lru", "lru-rtrl", {64: 1.0}))["answer"] == "undecided"
    (tmp_path / "c").mkdir()
    near = [kstar("lru", "lru-rtrl", 5000)] + arm("lru", "lru-rtrl", {64: 0.1})
    th = judge(tmp_path / "c", near, delays=(64,))
    assert th["answer"] == "undecided" and "beyond" in th["sentence"]


def test_solved_pools_three_seeds_at_ninety_percent():
    assert longrange.SOLVED == protocol.SOLVED and longrange.MIN_SEEDS == protocol.MIN_SEEDS


def test_section_and_finding_render_and_a_point_not_run_shows_no_accuracy(tmp_path):
    rs = [kstar("lru", "lru-rtrl", 8)] + arm("lru", "lru-rtrl", {16: 1.0, 64: 0.97}) + \
        arm("lru", "tbptt-8", {16: 0.13, 64: 0.12}) + \
        [rec("moe", "sparse-rtrl", 64, s, None, status="skipped") for s in range(3)]
    df = frame(tmp_path, rs)
    sec = longrange.section(df)
    for key in ("rows", "cols", "thesis", "n", "statuses", "updates", "rule", "figure"):
        assert key in sec
    assert sec["thesis"]["sentence"] and sec["figure"] is not None
    moe = [r for r in sec["rows"] if r["learner"] == "sparse-rtrl"][0]
    assert moe["D=64"].startswith("not run") and "%" not in moe["D=64"]
    assert moe["longest D solved"] == "not run"
    assert any("k* of lru-rtrl" in r["learner"] for r in sec["rows"])
    rflo = [r for r in sec["rows"] if r["learner"] == "rflo"][0]     # no record at all
    assert rflo["D=16"].startswith("not run") and rflo["D=1024"] == ""   # not a declared D
    lru = [r for r in sec["rows"] if r["learner"] == "lru-rtrl"][0]
    assert lru["D=256"].startswith("not run (est.")       # cost from its measured ms/token
    f = longrange.finding(df)
    assert f["key"] == "thesis" and f["anchor"] == "longrange"
    assert f["answer"]["lru"] == "yes" and "97%" in f["text"] and "12%" in f["text"]
    assert set(f["answer"].values()) <= set(longrange.ANSWERS)


def test_empty(tmp_path):
    df = frame(tmp_path, [])
    sec = longrange.section(df)
    assert sec["rows"] == [] and sec["figure"] is None
    assert longrange.finding(df)["text"].startswith("Not measured")
