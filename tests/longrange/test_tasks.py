"""The long-range tasks: the delay is respected, chance is stated, held-out is disjoint, seeded."""
import pytest
import torch

from rtrl_moe.longrange.tasks import IGNORE, CopyTask, Curriculum, DelayedRecall


def collect(it):
    xs, ys = zip(*it)
    return torch.cat(xs, 1), torch.stack(ys, 1)          # [B, T, d_in], [B, T]


@pytest.mark.parametrize("D", [0, 1, 16, 300])
def test_target_is_the_symbol_d_plus_one_steps_back(D):
    task = DelayedRecall(delay=D, batch=5, seed=3)
    x, y = collect(task.stream(3 * task.episode_len + 7))
    tok = x.argmax(-1)
    hits = (y != IGNORE).nonzero().tolist()
    assert hits
    for b, t in hits:
        assert tok[b, t] == task.query_token
        assert y[b, t] == tok[b, t - D - 1]                       # the symbol
        assert tok[b, t - D - 1] < task.n_symbols
        between = tok[b, t - D:t]
        assert ((between >= task.n_symbols) & (between < task.query_token)).all()


def test_staggered_streams_never_score_an_episode_they_entered_late():
    task = DelayedRecall(delay=20, batch=64, seed=0)
    x, y = collect(task.stream(task.episode_len))
    tok = x.argmax(-1)
    for b, t in (y != IGNORE).nonzero().tolist():
        assert t - 21 >= 0 and y[b, t] == tok[b, t - 21]
    # staggered: not every stream queries at the same step
    assert len(set((tok == task.query_token).float().argmax(1).tolist())) > 1


def test_chance_and_sizes():
    task = DelayedRecall(delay=4, n_symbols=10, n_distractors=3)
    assert task.chance_accuracy == pytest.approx(0.1)
    assert (task.d_in, task.d_out, task.episode_len) == (14, 10, 6)
    _, y = collect(DelayedRecall(delay=2, batch=256, seed=1).heldout_stream(40, 256))
    sym = y[y != IGNORE]
    freq = torch.bincount(sym, minlength=8).float() / sym.numel()
    assert (freq - 1 / 8).abs().max() < 0.02                        # uniform: chance is 1/8


def test_deterministic_per_seed_and_split():
    a = collect(DelayedRecall(delay=8, seed=4).stream(50))
    b = collect(DelayedRecall(delay=8, seed=4).stream(50))
    c = collect(DelayedRecall(delay=8, seed=5).stream(50))
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    assert not torch.equal(a[0], c[0])


def test_heldout_episodes_are_disjoint_from_training_ones():
    D = 16
    task = DelayedRecall(delay=D, batch=16, seed=0)

    def episodes(x, y):
        tok = x.argmax(-1)
        return {tuple(tok[b, t - D - 1:t + 1].tolist()) for b, t in (y != IGNORE).nonzero().tolist()}

    train = episodes(*collect(task.stream(2000)))
    held = episodes(*collect(task.heldout_stream(4, 64)))
    assert len(train) > 1000 and len(held) == 256
    assert not train & held


def test_bad_arguments():
    with pytest.raises(ValueError, match="delay"):
        DelayedRecall(delay=-1)
    with pytest.raises(ValueError, match="2 symbols"):
        DelayedRecall(delay=3, n_symbols=1)
    with pytest.raises(ValueError, match="split"):
        list(DelayedRecall(delay=3).stream(2, split="test"))


def test_copy_targets_and_curriculum():
    task = CopyTask(length=3, batch=2, seed=0)
    x, y = collect(task.stream(14))
    tok = x.argmax(-1)
    for b, t in (y != IGNORE).nonzero().tolist():
        assert y[b, t] == tok[b, t - 4]                           # L + 1 steps back
    cur = Curriculum(l_min=2, l_max=8, threshold=0.9, window=10)
    stream = task.stream(10_000, curriculum=cur)
    lengths = set()
    for i, (_, y_t) in enumerate(stream):
        n = int((y_t != IGNORE).sum())
        if n:
            cur.report(n, n)                                      # a perfect learner
        lengths.add(cur.length)
        if i > 500:
            break
    assert lengths == {2, 4, 8}
    low = Curriculum(l_min=2, l_max=8, window=10)
    for _ in range(50):
        low.report(0, 1)
    assert low.length == 2
