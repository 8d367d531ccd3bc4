import random

import pytest
import torch

from rtrl_moe.protocols.tasks import AnbnClassify, haystack_tokens, one_hot


def test_anbn_classify9_has_nine_inputs_with_their_labels():
    task = AnbnClassify(max_n=3)
    inputs = task.inputs()
    assert len(inputs) == 9
    assert {(n, m) for n, m, _, _ in inputs} == {(n, m) for n in (1, 2, 3) for m in (1, 2, 3)}
    assert all(label == int(n == m) for n, m, label, _ in inputs)
    assert sum(p for *_, p in inputs) == pytest.approx(1.0)
    # half the mass on the 3 positives: chance (and the majority class) is 50%
    assert sum(p for _, _, label, p in inputs if label) == pytest.approx(0.5)
    assert task.chance == 0.5


def test_samples_match_the_inputs_and_their_frequencies():
    task = AnbnClassify(max_n=3)
    rng = random.Random(0)
    counts: dict = {}
    for _ in range(9000):
        x, label = task.sample(rng)
        n = int(x[:, 0].sum())
        m = int(x[:, 1].sum())
        assert torch.equal(x, task.encode(n, m)) and label == int(n == m)
        counts[(n, m)] = counts.get((n, m), 0) + 1
    probs = {(n, m): p for n, m, _, p in task.inputs()}
    for k, c in counts.items():
        assert c / 9000 == pytest.approx(probs[k], abs=0.02)
    assert len(counts) == 9


def test_train_anbn_task_has_64_inputs():
    assert len(AnbnClassify(max_n=8).inputs()) == 64


@pytest.mark.parametrize("T", [8, 32, 128])
def test_haystack_has_the_scripts_layout(T):
    rng = random.Random(1)
    for _ in range(50):
        seq, k = haystack_tokens(T, 8, rng, "verify")
        assert len(seq) == T and seq[0] == 0 and seq[-1] == 3
        i = seq.index(1)
        assert seq[i + 1] == 4 + k and seq[i + 2] == 2 and 0 <= k < 4
    assert one_hot(seq, 8).shape == (1, T, 8)


def test_haystack_extreme_rule_and_bad_rule():
    seq, _ = haystack_tokens(10_000, 8, random.Random(0), "extreme")
    assert len(seq) == 10_000 and seq.index(1) < 1000
    with pytest.raises(ValueError):
        haystack_tokens(8, 8, random.Random(0), "nope")
