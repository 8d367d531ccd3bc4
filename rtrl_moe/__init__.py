"""rtrl_moe: a recurrent mixture-of-experts cell and exact (sparse, lazy) RTRL learners.

See docs/API.md for the public API that the harness, the asv suite and the report use.
"""
from . import flops
from .learners import LEARNERS, Learner, learner_class, make_learner
from .moe import MoEConfig, RecurrentMoE, Route
from .rnn import RecurrentRNN, RNNConfig
from .tasks import TASKS, make_task
from .upstream import UpstreamConfig, UpstreamMoE

__all__ = ["LEARNERS", "Learner", "MoEConfig", "RNNConfig", "RecurrentMoE", "RecurrentRNN",
           "Route", "TASKS", "UpstreamConfig", "UpstreamMoE", "flops", "learner_class",
           "make_learner", "make_task"]
