import pytest
import torch

from rtrl_moe.protocols.models import (
    ReluEmbedRNN,
    SiluNormRNN,
    default_arch,
    model_file,
    model_info,
    protocol_model,
)


@pytest.mark.parametrize("arch", ["bench", "upstream"])
def test_protocol_model_switches_on_one_argument(arch):
    m = protocol_model(arch, d_model=8, n_heads=2, n_slots=4, n_experts=4, topk=2, d_in=2, d_out=2)
    y, h, _ = m.step(torch.zeros(1, 5, 2), m.init_state(1))     # a whole sequence as one chunk
    assert y.shape == (1, 2) and h.shape == (1, 32)
    assert model_info(m)["H"] == 32
    assert model_file(arch) == ("upstream.py" if arch == "upstream" else "moe.py")


def test_bad_arch_and_default():
    with pytest.raises(ValueError):
        protocol_model("nope", d_model=8)
    assert default_arch() in ("upstream", "bench")


def test_baselines_have_the_step_interface():
    m = SiluNormRNN(2, 30, 2)
    y, h, route = m.step(torch.zeros(3, 1, 2), m.init_state(3))
    assert y.shape == (3, 2) and h.shape == (3, 30) and route is None
    assert all(n.startswith("state_") for n in m.state_param_names())
    r = ReluEmbedRNN(8, 32, 4)
    x = torch.nn.functional.one_hot(torch.tensor([[1, 2, 3]]), 8).float()
    assert r.step(x, r.init_state(1))[0].shape == (1, 4)


def test_an_rtrl_learner_runs_on_the_silu_rnn():
    from rtrl_moe.learners import make_learner
    m = SiluNormRNN(2, 6, 2).double()
    x = torch.randn(1, 4, 2, dtype=torch.float64)
    y = torch.tensor([[-100, -100, -100, 1]])
    g_rtrl = make_learner("rtrl", m, jacobian="torch.func").gradient(x, y)
    g_bptt = make_learner("bptt", m).gradient(x, y)
    for k in g_bptt:
        assert torch.allclose(g_rtrl[k], g_bptt[k], atol=1e-10)
