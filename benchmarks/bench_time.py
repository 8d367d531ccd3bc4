"""time_*: wall time of one training step (forward, gradient, Adam step) per learner and T.

asv times these itself (several samples per process, `rounds` processes); one intra-op
thread; the first step runs in setup as warm-up. Lower is better.
"""
from ._common import PARAM_NAMES, PARAMS, make_step, pin_threads, require_cuda


class TimeStep:
    """CPU, float32, batch 1, the small MoE of the suite."""

    params = PARAMS
    param_names = PARAM_NAMES
    number = 1              # one step per sample: a step is milliseconds to a second
    repeat = (3, 5, 10.0)   # min samples, max samples, max seconds per process
    rounds = 2
    warmup_time = 0.0
    timeout = 300

    def setup(self, learner, seq_len):
        pin_threads()
        self.step = make_step(learner, seq_len, "cpu")
        self.step()

    def time_step(self, learner, seq_len):
        self.step()


class TimeStepCUDA:
    """Same step on the GPU (synchronised); skipped without CUDA."""

    params = PARAMS
    param_names = PARAM_NAMES
    number = 1
    repeat = (3, 5, 10.0)
    rounds = 2
    warmup_time = 0.0
    timeout = 300

    def setup(self, learner, seq_len):
        require_cuda()
        pin_threads()
        self.step = make_step(learner, seq_len, "cuda")
        self.step()

    def time_step(self, learner, seq_len):
        self.step()
