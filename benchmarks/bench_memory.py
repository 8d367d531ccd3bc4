"""track_* (unit bytes): memory of one training step per learner and T. Lower is better.

Every grid point is measured once, each in its own fresh subprocess
(`rtrl_moe.bench.run_point_isolated`, kind "measure"), in the shared `setup_cache` of each
group; the classes below only read one figure each (docs/RESULTS.md names them):

* tensor bytes (exact accounting, deterministic): peak and learner state;
* peak RSS of the worker process above its baseline;
* sensitivity-update FLOPs per step (RTRL learners; deterministic);
* GPU: CUDA allocator peak (allocated, reserved) and NVML peak of the process; these
  classes are skipped (NotImplementedError in setup) on a machine without CUDA.
"""
from ._common import PARAM_NAMES, PARAMS, cuda_available, metric, run_grid


class _CPU:
    params = PARAMS
    param_names = PARAM_NAMES
    timeout = 300

    def setup_cache(self):
        return run_grid("measure", device="cpu")

    setup_cache.timeout = 1800

    def setup(self, cache, learner, seq_len):
        self.value = metric(cache, learner, seq_len, self.metric)


class TensorBytesPeak(_CPU):
    metric = "tensor_bytes_peak"

    def track_tensor_bytes_peak(self, cache, learner, seq_len):
        return self.value

    track_tensor_bytes_peak.unit = "bytes"


class TensorBytesLearnerState(_CPU):
    metric = "tensor_bytes_learner_state"

    def track_tensor_bytes_learner_state(self, cache, learner, seq_len):
        return self.value

    track_tensor_bytes_learner_state.unit = "bytes"


class RSSPeak(_CPU):
    metric = "rss_peak"

    def track_rss_peak(self, cache, learner, seq_len):
        return self.value

    track_rss_peak.unit = "bytes"


class SensitivityFlops(_CPU):
    metric = "sensitivity_flops_per_step"

    def track_sensitivity_flops_per_step(self, cache, learner, seq_len):
        return self.value

    track_sensitivity_flops_per_step.unit = "flops"


class _GPU:
    params = PARAMS
    param_names = PARAM_NAMES
    timeout = 300

    def setup_cache(self):
        if not cuda_available():  # a runtime check in setup_cache, never at import time
            return {"no_gpu": "no CUDA device on this machine"}
        return run_grid("measure", device="cuda")

    setup_cache.timeout = 1800

    def setup(self, cache, learner, seq_len):
        if "no_gpu" in cache:
            raise NotImplementedError(cache["no_gpu"])
        self.value = metric(cache, learner, seq_len, self.metric)


class CudaAllocatedPeak(_GPU):
    metric = "cuda_allocated_peak"

    def track_cuda_allocated_peak(self, cache, learner, seq_len):
        return self.value

    track_cuda_allocated_peak.unit = "bytes"


class CudaReservedPeak(_GPU):
    metric = "cuda_reserved_peak"

    def track_cuda_reserved_peak(self, cache, learner, seq_len):
        return self.value

    track_cuda_reserved_peak.unit = "bytes"


class NvmlUsedPeak(_GPU):
    metric = "nvml_used_peak"

    def track_nvml_used_peak(self, cache, learner, seq_len):
        return self.value

    track_nvml_used_peak.unit = "bytes"


class TensorBytesPeakCUDA(_GPU):
    """Deterministic: equal to the CPU figure (conventions), tracked to catch a divergence."""
    metric = "tensor_bytes_peak"

    def track_tensor_bytes_peak_cuda(self, cache, learner, seq_len):
        return self.value

    track_tensor_bytes_peak_cuda.unit = "bytes"
