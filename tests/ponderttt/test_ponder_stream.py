"""Chunked runs: SKIP, UPDATE_k step counts, per-sequence reset, per-chunk action lists."""
import pytest

# the optional GPT-2 dependency (extra "ponder"): without it, skip this module
pytest.importorskip("transformers")

import torch  # noqa: E402

from ponderttt import Action, build_model, make_tokens, run_stream  # noqa: E402


@pytest.fixture(scope="module")
def model():
    return build_model("tiny", seed=0)


@pytest.fixture(scope="module")
def tokens():
    return make_tokens(8 * 32, seed=1)


def _spy(model, monkeypatch):
    """Record (steps before, W before) at each inner step and each chunk's fresh state."""
    calls = {"steps": [], "inits": 0}
    inner, init = model.ttt.inner_step, model.ttt.init_state

    def step(state, xk, xv):
        calls["steps"].append(state.steps)
        return inner(state, xk, xv)

    def fresh(batch=1):
        calls["inits"] += 1
        return init(batch)
    monkeypatch.setattr(model.ttt, "inner_step", step)
    monkeypatch.setattr(model, "init_state", fresh)
    return calls


@pytest.mark.parametrize("action,k", [("UPDATE_1", 1), ("UPDATE_2", 2), ("UPDATE_4", 4)])
def test_update_k_takes_exactly_k_steps(model, tokens, monkeypatch, action, k):
    calls = _spy(model, monkeypatch)
    res = run_stream(model, tokens, action, chunk_size=32, seq_len=0, num_chunks=3)
    assert [c.steps for c in res.chunks] == [k] * 3
    assert calls["steps"] == list(range(3 * k))  # one state carried over, k steps per chunk
    assert [len(c.inner_losses) for c in res.chunks] == [k] * 3


def test_skip_leaves_fast_weights_untouched(model, tokens, monkeypatch):
    seen = []
    fwd = model.ttt.forward

    def spy(h, state):
        seen.append((state.W.clone(), state.b.clone(), state.steps))
        return fwd(h, state)
    monkeypatch.setattr(model.ttt, "forward", spy)
    res = run_stream(model, tokens, "SKIP", chunk_size=32, seq_len=0, num_chunks=4)
    assert [c.steps for c in res.chunks] == [0] * 4
    assert all(c.inner_losses == [] for c in res.chunks)
    for W, b, steps in seen:
        assert steps == 0
        assert torch.equal(W[0], model.ttt.W0.detach()) and torch.equal(b[0], model.ttt.b0.detach())


def test_fast_weights_reset_per_sequence_and_carry_within(model, tokens, monkeypatch):
    calls = _spy(model, monkeypatch)
    res = run_stream(model, tokens, "UPDATE_1", chunk_size=32, seq_len=64, num_chunks=6)
    assert calls["inits"] == 3  # 6 chunks, 2 per sequence
    assert calls["steps"] == [0, 1, 0, 1, 0, 1]
    assert [c.position for c in res.chunks] == [0, 1, 0, 1, 0, 1]
    assert [c.sequence for c in res.chunks] == [0, 0, 1, 1, 2, 2]


def test_reset_makes_a_sequence_independent_of_the_one_before(model):
    # the same tokens as sequence 2 give the same loss whatever sequence 1 held
    a, b, c = (make_tokens(64, seed=s) for s in (5, 6, 7))
    r1 = run_stream(model, torch.cat([a, c]), "UPDATE_2", chunk_size=32, seq_len=64)
    r2 = run_stream(model, torch.cat([b, c]), "UPDATE_2", chunk_size=32, seq_len=64)
    assert r1.losses[2:] == r2.losses[2:]
    assert r1.losses[:2] != r2.losses[:2]
    # without the reset the history would matter
    r3 = run_stream(model, torch.cat([a, c]), "UPDATE_2", chunk_size=32, seq_len=0)
    r4 = run_stream(model, torch.cat([b, c]), "UPDATE_2", chunk_size=32, seq_len=0)
    assert r3.losses[2:] != r4.losses[2:]


def test_per_chunk_action_list(model, tokens):
    acts = ["SKIP", "UPDATE_4", Action.UPDATE_1, "SKIP"]
    res = run_stream(model, tokens, acts, chunk_size=32, seq_len=0)
    assert [c.steps for c in res.chunks] == [0, 4, 1, 0]
    assert res.total_cost == 1 + 12 + 3 + 1
    with pytest.raises(ValueError, match="4 actions for 3 chunks"):
        run_stream(model, tokens, acts, chunk_size=32, num_chunks=3)


def test_skip_equals_backbone_plus_ttt_with_W0(model, tokens):
    # loss of a SKIP chunk recomputed from the pieces by hand
    ids = tokens[:32].unsqueeze(0)
    res = run_stream(model, tokens, "SKIP", chunk_size=32, num_chunks=1)
    with torch.no_grad():
        h = model.lm.transformer(input_ids=ids).last_hidden_state
        logits = model.lm.lm_head(h + model.ttt(h, model.init_state()))
    ref = torch.nn.functional.cross_entropy(logits[0, :-1], ids[0, 1:])
    assert res.losses[0] == pytest.approx(float(ref), rel=1e-6)


def test_bad_stream_arguments(model, tokens):
    with pytest.raises(ValueError, match="multiple of chunk_size"):
        run_stream(model, tokens, "SKIP", chunk_size=32, seq_len=48)
    with pytest.raises(ValueError, match="exceeds the context"):
        run_stream(model, tokens, "SKIP", chunk_size=2048)
    with pytest.raises(ValueError, match="unknown action"):
        run_stream(model, tokens, "UPDATE_3", chunk_size=32)
    with pytest.raises(ValueError, match="chunks asked for"):
        run_stream(model, tokens, "SKIP", chunk_size=32, num_chunks=99)
