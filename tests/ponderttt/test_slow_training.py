"""Slow-weight training with a validation split: the best state is kept, step 0 included, and a
run resumes from its checkpoint (issue 32)."""
import torch

from ponderttt.slow_training import SlowTrainConfig, mean_loss, train_early_stopping
from ponderttt.ttt_minibatch import MiniBatchTTT, MiniBatchTTTConfig, chunk_loss


def _setup(seed=0):
    torch.manual_seed(seed)
    head = torch.nn.Linear(32, 50, bias=False)
    h, ids = torch.randn(6, 32, 32), torch.randint(0, 50, (6, 32))
    return MiniBatchTTT(MiniBatchTTTConfig(32, 4)), head, h, ids


def test_never_worse_than_the_start_on_validation():
    """With a learning rate that can only hurt, the kept layer is the initial one: on the
    validation chunks it equals the bare backbone exactly."""
    layer, head, h, ids = _setup()
    cfg = SlowTrainConfig(max_steps=12, eval_every=3, patience=2, lr=5.0)
    hist = train_early_stopping(layer, head, h[:4], ids[:4], h[4:], ids[4:], cfg)
    bare = sum(float(chunk_loss(head, h[i:i + 1], torch.zeros_like(h[i:i + 1]), ids[i:i + 1]))
               for i in (4, 5)) / 2
    val = mean_loss(layer, head, h[4:], ids[4:])
    assert hist["best_val"] <= bare + 1e-12
    assert all(v <= bare + 1e-9 for v in val.values())
    if hist["best_step"] == 0:
        assert torch.count_nonzero(layer.o.weight) == 0


def test_training_helps_and_resumes(tmp_path):
    layer, head, h, ids = _setup()
    cfg = SlowTrainConfig(max_steps=20, eval_every=5, patience=10, lr=3e-2)
    ck = tmp_path / "ck.pt"
    a = train_early_stopping(layer, head, h[:4], ids[:4], h[4:], ids[4:], cfg, ck)
    assert a["steps_run"] == 20 and a["val"][0][0] == 0 and len(a["val"]) == 5
    again, head2, _, _ = _setup()
    b = train_early_stopping(again, head2, h[:4], ids[:4], h[4:], ids[4:], cfg, ck)
    assert b["steps_run"] == 20 and b["best_step"] == a["best_step"]      # nothing redone
    for p, q in zip(layer.state_dict().values(), again.state_dict().values()):
        assert torch.equal(p, q)
