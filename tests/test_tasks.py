"""The synthetic tasks: exact definitions, determinism, stream == batch, chance levels, errors."""

import itertools

import pytest
import torch

from rtrl_moe.tasks import IGNORE, TASKS, make_task

torch.set_num_threads(1)

SMALL = {"anbn": {}, "haystack": {}, "stream": {"lag": 3, "marker_prob": 0.3}}


def tokens(x):
    return x.argmax(-1)


def test_task_names():
    assert TASKS == ("anbn", "haystack", "stream")


@pytest.mark.parametrize("name", TASKS)
def test_shapes_and_one_hot(name):
    task = make_task(name, seq_len=12, batch_size=3, **SMALL[name])
    x, y = task.batch()
    assert x.shape == (3, 12, task.d_in) and x.dtype == torch.float32
    assert y.shape == (3, 12) and y.dtype == torch.long
    assert torch.equal(x.sum(-1), torch.ones(3, 12))  # exactly one hot
    targets = y[y != IGNORE]
    assert targets.numel() > 0 and targets.min() >= 0 and targets.max() < task.d_out


@pytest.mark.parametrize("name", TASKS)
def test_stream_is_batch_step_by_step(name):
    task = make_task(name, seq_len=40, batch_size=4, seed=3, **SMALL[name])
    x, y = task.batch()
    steps = list(task.stream())
    assert len(steps) == 40
    for t, (x_t, y_t) in enumerate(steps):
        assert x_t.shape == (4, 1, task.d_in) and x_t.dtype == torch.float32
        assert y_t.shape == (4,)
        assert torch.equal(x_t[:, 0], x[:, t]) and torch.equal(y_t, y[:, t])


@pytest.mark.parametrize("name", TASKS)
def test_deterministic_per_seed_and_index(name):
    def data(**kw):
        return make_task(name, seq_len=30, batch_size=4, seed=kw.pop("seed", 0),
                         **SMALL[name]).batch(**kw)
    x0, y0 = data(seed=7)
    x1, y1 = data(seed=7)
    assert torch.equal(x0, x1) and torch.equal(y0, y1)
    assert not torch.equal(data(seed=8)[0], x0)
    assert not torch.equal(data(seed=7, index=1)[0], x0)
    assert not torch.equal(data(seed=7, index=-1)[0], x0)


@pytest.mark.parametrize("name", TASKS)
def test_stream_is_lazy(name):
    # A million-token stream must start at once: nothing of size T is built up front.
    task = make_task(name, seq_len=1_000_000, batch_size=2, **SMALL[name])
    first = list(itertools.islice(task.stream(), 3))
    assert len(first) == 3 and first[0][0].shape == (2, 1, task.d_in)


# -- anbn ---------------------------------------------------------------------------------------

def test_anbn_hand_checked_len_max_1():
    # n is always 1: "a b E a b E ...", the only targets are E after each b.
    x, y = make_task("anbn", seq_len=7, batch_size=2, seed=5, len_max_a=1).batch()
    assert tokens(x).tolist() == [[0, 1, 2, 0, 1, 2, 0]] * 2
    assert y.tolist() == [[IGNORE, 2, IGNORE, IGNORE, 2, IGNORE, IGNORE]] * 2


def test_anbn_structure_and_targets():
    task = make_task("anbn", seq_len=200, batch_size=8, seed=1, len_max_a=5)
    x, y = task.batch()
    for row_tok, row_y in zip(tokens(x).tolist(), y.tolist()):
        t, seen_n = 0, set()
        while t < len(row_tok):
            n = 0
            while t + n < len(row_tok) and row_tok[t + n] == 0:
                n += 1
            assert n >= 1
            string = [0] * n + [1] * n + [2]
            piece = row_tok[t:t + len(string)]
            assert piece == string[:len(piece)]
            expect = [IGNORE] * n + [1] * (n - 1) + [2] + [IGNORE]
            assert row_y[t:t + len(piece)] == expect[:len(piece)]
            if len(piece) == len(string):
                assert 1 <= n <= 5
                seen_n.add(n)
            t += len(string)
        assert len(seen_n) >= 3  # n really varies


def test_anbn_chance_accuracy():
    task = make_task("anbn", seq_len=2000, batch_size=16, seed=2)  # len_max_a = 8
    assert task.chance_accuracy == pytest.approx(7 / 9)
    _, y = task.batch()
    targets = y[y != IGNORE]
    # Memoryless best guess after a b is "b": its accuracy is the share of b targets.
    assert (targets == 1).float().mean().item() == pytest.approx(7 / 9, abs=0.02)
    assert make_task("anbn", 4, 1, len_max_a=1).chance_accuracy == 1.0
    assert make_task("anbn", 4, 1, len_max_a=3).chance_accuracy == pytest.approx(0.5)


# -- haystack -----------------------------------------------------------------------------------

def test_haystack_definition():
    task = make_task("haystack", seq_len=9, batch_size=64, seed=4, n_keys=3, n_distractors=5,
                     key_pos=2)
    assert (task.d_in, task.d_out, task.query) == (9, 3, 8)
    x, y = task.batch()
    tok = tokens(x)
    assert (y[:, :-1] == IGNORE).all()
    assert torch.equal(y[:, -1], tok[:, 2])             # the answer is the key
    assert ((tok[:, 2] >= 0) & (tok[:, 2] < 3)).all()
    assert (tok[:, -1] == 8).all()                       # the query
    others = torch.cat([tok[:, :2], tok[:, 3:-1]], dim=1)
    assert ((others >= 3) & (others < 8)).all()          # distractors only
    assert set(y[:, -1].tolist()) == {0, 1, 2}
    assert task.chance_accuracy == pytest.approx(1 / 3)


def test_haystack_key_is_uniform():
    _, y = make_task("haystack", seq_len=2, batch_size=4000, seed=0).batch()
    counts = torch.bincount(y[:, -1], minlength=4).float() / 4000
    assert torch.allclose(counts, torch.full((4,), 0.25), atol=0.03)


# -- stream -------------------------------------------------------------------------------------

def _stream_reference_targets(tok, lag, n_content, cue):
    """Targets rebuilt from the tokens alone, by the rule in the module docstring."""
    marker, query = n_content, n_content + 1
    expect = [IGNORE] * len(tok)
    t = 0
    while t < len(tok):
        if tok[t] == marker:
            q = t + 1
            assert q >= len(tok) or tok[q] < n_content      # the payload is content
            window = tok[q + 1:q + lag + 1]
            assert marker not in window                      # no overlapping payloads
            if q + lag < len(tok):
                expect[q + lag] = tok[q]
                assert (tok[q + lag] == query) == cue
            t = q + lag + 1
        else:
            assert tok[t] < n_content                        # idle: content only, no query
            t += 1
    return expect


@pytest.mark.parametrize("cue", [True, False])
def test_stream_definition(cue):
    task = make_task("stream", seq_len=300, batch_size=6, seed=9, lag=5, n_content=4,
                     marker_prob=0.2, cue=cue)
    assert (task.d_in, task.d_out) == (6, 4)
    x, y = task.batch()
    for row_tok, row_y in zip(tokens(x).tolist(), y.tolist()):
        assert row_y == _stream_reference_targets(row_tok, 5, 4, cue)
    assert (y != IGNORE).sum() >= 6 * 5                  # plenty of targets
    assert task.chance_accuracy == pytest.approx(1 / 4)


def test_stream_hand_checked_lag_1():
    # marker_prob=1: every idle step is a marker, so the row is M p Q M p Q ... with cue.
    x, y = make_task("stream", seq_len=6, batch_size=1, seed=0, lag=1, n_content=3,
                     marker_prob=1.0).batch()
    tok = tokens(x)[0].tolist()
    assert tok[0] == 3 and tok[3] == 3 and tok[2] == 4 and tok[5] == 4
    assert y[0].tolist() == [IGNORE, IGNORE, tok[1], IGNORE, IGNORE, tok[4]]


# -- bad arguments ------------------------------------------------------------------------------

@pytest.mark.parametrize("args, kw, match", [
    (("copy", 8, 2), {}, "valid tasks: anbn, haystack, stream"),
    (("anbn", 0, 2), {}, "seq_len must be >= 1"),
    (("anbn", 8, 0), {}, "batch_size must be >= 1"),
    (("anbn", 8.0, 2), {}, "seq_len must be an integer"),
    (("anbn", True, 2), {}, "seq_len must be an integer"),
    (("anbn", 8, 2), {"seed": "x"}, "seed must be an integer"),
    (("anbn", 8, 2), {"lag": 3}, "unknown option.*lag.*valid: len_max_a"),
    (("anbn", 8, 2), {"len_max_a": 0}, "len_max_a must be >= 1"),
    (("haystack", 1, 2), {}, "seq_len >= key_pos \\+ 2"),
    (("haystack", 5, 2), {"key_pos": 4}, "seq_len >= key_pos \\+ 2"),
    (("haystack", 5, 2), {"n_keys": 0}, "n_keys must be >= 1"),
    (("stream", 5, 2), {"lag": 0}, "lag must be >= 1"),
    (("stream", 5, 2), {"marker_prob": 0.0}, "marker_prob"),
    (("stream", 5, 2), {"marker_prob": 1.5}, "marker_prob"),
    (("stream", 5, 2), {"cue": 1}, "cue must be True or False"),
])
def test_bad_arguments(args, kw, match):
    with pytest.raises(ValueError, match=match):
        make_task(*args, **kw)
