"""The protocol of issue 30: reset per episode, no step without a target, fresh held-out
episodes, equal budgets, the tuning rule, the curriculum; exact learners follow BPTT's curve."""
import math

import pytest
import torch

from rtrl_moe.learners.base import IGNORE
from rtrl_moe.longrange import experiment, protocol
from rtrl_moe.longrange.protocol import MODELS, Point


def small(model="lru", learner="lru-rtrl", D=4, updates=3, **kw):
    return Point(model, learner, D, 0, updates=updates, batch=kw.pop("batch", 2), **kw)


def run_train(point):
    model = experiment.build_model(point)
    learner = experiment.make(point, model)
    opt = torch.optim.Adam(model.parameters(), lr=point.learning_rate)
    resets = []
    orig = learner._reset

    def spy(batch, like):
        resets.append(batch)
        return orig(batch, like)
    learner._reset = spy
    out = experiment.train(point, model, learner, opt)
    return out, resets, opt


def test_episodic_arm_resets_the_state_at_every_episode():
    out, resets, _ = run_train(small(updates=5))
    assert len(resets) == 5 and out["optimizer_steps"] == 5


def test_streaming_arm_carries_the_state_across_episodes():
    out, resets, _ = run_train(small(updates=5, arm="streaming"))
    assert len(resets) == 1 and out["optimizer_steps"] == 5


def test_an_update_without_a_target_takes_no_optimizer_step():
    point = small()
    model = experiment.build_model(point)
    learner = experiment.make(point, model)
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    before = [p.detach().clone() for p in model.parameters()]
    task = point.task()
    episode = [(x, torch.full_like(y, IGNORE)) for x, y in next(experiment.episodes(task))]
    grads = experiment.gradient(learner, episode, "episodic")
    assert experiment.update(learner, opt, grads) is False
    assert not opt.state                       # Adam never stepped: no momentum either
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    episode = next(experiment.episodes(task))  # a real episode does step
    assert experiment.update(learner, opt, experiment.gradient(learner, episode, "episodic"))


def test_every_training_update_has_a_target_per_stream():
    point = small(D=6)
    ep = next(experiment.episodes(point.task()))
    assert len(ep) == 8 and all((y != IGNORE).sum() == 0 for _, y in ep[:-1])
    assert bool((ep[-1][1] != IGNORE).all())


def test_heldout_episodes_are_fresh_and_scored_from_the_initial_state():
    task = small(D=8).task()
    train = torch.stack([x.argmax(-1).squeeze(1) for x, _ in
                         next(experiment.episodes(task.__class__(**{**task.__dict__,
                                                                    "batch": 256})))])
    held = torch.stack([x.argmax(-1).squeeze(1) for x, _ in task.heldout_stream(1, 256)])
    assert not torch.equal(train, held)
    assert protocol.EVAL_EPISODES >= 256

    class Spy(torch.nn.Module):               # records the state the scoring starts from
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))
            self.first = None

        def init_state(self, b):
            return torch.full((b, 3), 7.0)

        def step(self, x, h):
            if self.first is None:
                self.first = h.clone()
            return torch.zeros(x.shape[0], 8), h, None
    spy = Spy()
    out = experiment.evaluate(spy, task)
    assert out["heldout_targets"] == protocol.EVAL_EPISODES
    assert torch.equal(spy.first, torch.full((256, 3), 7.0))
    lo, hi = out["heldout_ci95"]
    assert lo <= out["heldout_accuracy"] <= hi


def test_budget_is_in_updates_and_equal_across_learners_at_each_delay():
    pts = protocol.preset(kstar={("lru", "lru-rtrl"): 8, ("rnn", "rflo"): 3, ("rnn", "uoro"): 7,
                                 ("moe", "sparse-rtrl"): 2000, ("moe", "tree-rtrl"): 2100})
    by = {}
    for p in pts:
        by.setdefault((p.model, p.delay), set()).add(p.n_updates)
    assert all(len(v) == 1 for v in by.values())
    assert {"tbptt-8", "tbptt-16", "lru-rtrl", "bptt"} <= {p.learner for p in pts
                                                          if p.model == "lru"}
    outs = [run_train(small(learner=lab, updates=4))[0] for lab in ("lru-rtrl", "tbptt-2",
                                                                     "bptt")]
    assert {o["updates_done"] for o in outs} == {4}


def test_tuning_rule_and_its_seed():
    assert protocol.pick_lr((1e-3, 3e-3, 1e-2), {1e-3: 0.5, 3e-3: 0.9, 1e-2: 0.9}) == 3e-3
    assert protocol.TUNING_SEED not in protocol.VERDICT_SEEDS
    for m in MODELS.values():
        assert m.lr in m.lr_candidates


def test_wilson_interval():
    lo, hi = experiment.wilson(256, 256)
    assert hi == 1.0 and 0.98 < lo < 0.99
    lo, hi = experiment.wilson(32, 256)
    assert lo < 0.125 < hi
    assert all(math.isnan(v) for v in experiment.wilson(0, 0))


def test_curriculum_doubles_the_training_delay_up_to_d():
    cur = protocol.Curriculum(start=16)
    assert cur.first(64) == 16 and cur.first(4) == 4
    assert protocol.Curriculum().first(64) == 64
    assert MODELS["moe"].curriculum.start == 16 and MODELS["lru"].curriculum.start is None


def test_bad_points():
    with pytest.raises(ValueError, match="not defined on model"):
        Point("lru", "sparse-rtrl", 16, 0)
    with pytest.raises(ValueError, match="tbptt-K"):
        Point("lru", "tbptt", 16, 0)
    with pytest.raises(ValueError, match="delay"):
        Point("lru", "bptt", 0, 0)


@pytest.mark.parametrize("model,learners", [("lru", ("lru-rtrl",)),
                                            ("moe", ("sparse-rtrl", "tree-rtrl"))])
def test_exact_learners_reproduce_bptts_training_curve(model, learners):
    """Episodic, one update per episode, float64: the same losses as BPTT, update by update."""
    D, n = (8, 6) if model == "lru" else (4, 3)
    ref = run_train(small(model, "bptt", D=D, updates=n, batch=1, dtype="float64"))[0]["losses"]
    for lab in learners:
        got = run_train(small(model, lab, D=D, updates=n, batch=1, dtype="float64"))[0]["losses"]
        assert len(got) == n
        assert max(abs(a - b) / abs(b) for a, b in zip(got, ref)) < 1e-10


def test_declared_rates_follow_the_tuning_records():
    """Each model's lr is what pick_lr gives on the stored tuning points (seed 100, bptt)."""
    from pathlib import Path

    from rtrl_moe.records import read_records
    path = Path(__file__).resolve().parents[2] / protocol.TUNING_RECORDS
    if not path.is_file():
        pytest.skip("no tuning records")
    acc = {}
    for r in read_records(path):
        c = r["config"]
        if c.get("role") == "tuning" and r["status"] == "ok":
            assert c["seed"] == protocol.TUNING_SEED and c["learner"] == "bptt"
            acc.setdefault(c["model_name"], {})[c["lr"]] = r["metrics"]["heldout_accuracy"]
    for name, m in MODELS.items():
        if set(acc.get(name, {})) == set(m.lr_candidates):
            assert m.lr == protocol.pick_lr(m.lr_candidates, acc[name]), name
