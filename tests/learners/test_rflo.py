"""rflo against its closed form, worked in plain Python on a 2-unit tanh RNN."""
import math

import pytest
import torch

import rtrl_moe as rm

from .helpers import assert_exact, moe, rel_err, sequence

W_IH = [[0.5, -0.2], [0.1, 0.3]]
B_IH = [0.05, -0.1]
W_HH = [[0.4, -0.6], [0.7, 0.2]]
B_HH = [0.0, 0.02]
W_OUT = [[1.0, -0.5], [0.3, 0.8]]
B_OUT = [0.1, -0.1]
XS = [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]
YS = [1, -100, 0]


def two_unit_rnn():
    model = rm.RecurrentRNN(rm.RNNConfig(d_in=2, d_out=2, hidden=2)).double()
    values = {"cell.weight_ih": W_IH, "cell.bias_ih": B_IH, "cell.weight_hh": W_HH,
              "cell.bias_hh": B_HH, "out.weight": W_OUT, "out.bias": B_OUT}
    with torch.no_grad():
        for n, p in model.named_parameters():
            p.copy_(torch.tensor(values[n], dtype=torch.float64))
    return model


def closed_form(feedback):
    """delta_t = (B eps_t) * (1 - h_t^2); W_hh += delta h_{t-1}^T, W_ih += delta x^T, b += delta;
    readout exact; everything over the 2 targets."""
    g = {"hh": [[0.0] * 2 for _ in range(2)], "ih": [[0.0] * 2 for _ in range(2)],
         "b": [0.0, 0.0], "out": [[0.0] * 2 for _ in range(2)], "bout": [0.0, 0.0]}
    h = [0.0, 0.0]
    n = 0
    for x, y in zip(XS, YS):
        u = [sum(W_IH[i][j] * x[j] for j in range(2)) + B_IH[i]
             + sum(W_HH[i][j] * h[j] for j in range(2)) + B_HH[i] for i in range(2)]
        hn = [math.tanh(v) for v in u]
        if y != -100:
            n += 1
            logits = [sum(W_OUT[k][j] * hn[j] for j in range(2)) + B_OUT[k] for k in range(2)]
            z = sum(math.exp(v) for v in logits)
            eps = [math.exp(logits[k]) / z - (1.0 if k == y else 0.0) for k in range(2)]
            for i in range(2):
                delta = sum(feedback[i][k] * eps[k] for k in range(2)) * (1 - hn[i] ** 2)
                g["b"][i] += delta
                for j in range(2):
                    g["hh"][i][j] += delta * h[j]
                    g["ih"][i][j] += delta * x[j]
            for k in range(2):
                g["bout"][k] += eps[k]
                for j in range(2):
                    g["out"][k][j] += eps[k] * hn[j]
        h = hn

    def t(v):
        return torch.tensor(v, dtype=torch.float64) / n
    return {"cell.weight_ih": t(g["ih"]), "cell.weight_hh": t(g["hh"]), "cell.bias_ih": t(g["b"]),
            "cell.bias_hh": t(g["b"]), "out.weight": t(g["out"]), "out.bias": t(g["bout"])}


def run(learner):
    x = torch.tensor([XS], dtype=torch.float64)
    y = torch.tensor([YS])
    return learner.gradient(x, y)


@pytest.mark.parametrize("seed", [0, 5])
def test_rflo_random_feedback_matches_the_closed_form(seed):
    L = rm.make_learner("rflo", two_unit_rnn(), seed=seed)
    B = L.feedback.tolist()
    assert_exact(run(L), closed_form(B), tol=1e-12)


def test_rflo_true_feedback_matches_the_closed_form_with_the_readout_transpose():
    W_out_T = [[W_OUT[k][i] for k in range(2)] for i in range(2)]
    assert_exact(run(rm.make_learner("rflo", two_unit_rnn(), feedback="true")),
                 closed_form(W_out_T), tol=1e-12)


def test_rflo_true_feedback_is_one_step_truncated_bptt_on_this_cell():
    # The non-leaky cell leaves RFLO's trace no memory: an independent path to the same number.
    torch.manual_seed(4)
    model = rm.RecurrentRNN(rm.RNNConfig(d_in=5, d_out=5, hidden=7)).double()
    x, y = sequence(2, 20, 5)
    ref = rm.make_learner("tbptt", model, k=1).gradient(x, y)
    assert_exact(rm.make_learner("rflo", model, feedback="true").gradient(x, y), ref)
    assert rel_err(rm.make_learner("rflo", model).gradient(x, y), ref) > 1e-2


def test_rflo_refuses_what_its_derivation_does_not_cover():
    gru = rm.RecurrentRNN(rm.RNNConfig(d_in=5, d_out=5, hidden=7, cell="gru")).double()
    for model, what in ((moe(), "RecurrentMoE"), (gru, "gru")):
        with pytest.raises(ValueError, match=what):
            rm.make_learner("rflo", model)
    with pytest.raises(ValueError, match="feedback"):
        rm.make_learner("rflo", two_unit_rnn(), feedback="transposed")
