"""track_*: gradient error of each learner against BPTT (kind "agree", float64). Lower is better.

Same parameters, sequence and routing as BPTT; every point in its own subprocess
(`run_point_isolated`) in one shared `setup_cache`. Relative errors below 1e-12 are float64
round-off of an exact learner and are reported as 1e-12, so that round-off never reads as a
regression in `asv continuous`; approximate learners (tbptt, sparse-rtrl-readonly, ...) show
their real error.
"""
from ._common import ERROR_FLOOR, LEARNERS, LENGTHS, metric, run_grid

AGREE_LEARNERS = [learner for learner in LEARNERS if learner != "bptt"]


class _Agree:
    params = [AGREE_LEARNERS, LENGTHS]
    param_names = ["learner", "seq_len"]
    timeout = 300

    def setup_cache(self):
        return run_grid("agree", device="cpu", learners=AGREE_LEARNERS)

    setup_cache.timeout = 1800

    def setup(self, cache, learner, seq_len):
        self.value = max(float(metric(cache, learner, seq_len, self.metric)), ERROR_FLOOR)


class GradRelErr(_Agree):
    metric = "rel_err"

    def track_grad_rel_err(self, cache, learner, seq_len):
        return self.value

    track_grad_rel_err.unit = "relative L2 error"


class GradMaxAbsErr(_Agree):
    metric = "max_abs_err"

    def track_grad_max_abs_err(self, cache, learner, seq_len):
        return self.value

    track_grad_max_abs_err.unit = "max abs error"
