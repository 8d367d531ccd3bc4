"""One point in-process against the real library: what each kind measures."""
import pytest
import torch

import rtrl_moe as rm
from rtrl_moe.bench import PointConfig, execute, measure_agreement, run_point
from rtrl_moe.bench.probes.tensors import SavedTensorTracker


def _ok(r):
    assert r["status"] == "ok", (r.get("message"), r.get("traceback"))
    return r["metrics"]


def test_measure_bptt_fields_and_exact_accounting(tiny):
    m = _ok(execute(PointConfig(learner="bptt", seq_len=8, repeats=3, model=tiny)))
    task = rm.make_task("anbn", seq_len=8, batch_size=1)
    model = rm.RecurrentMoE(rm.MoEConfig(d_in=task.d_in, d_out=task.d_out, **tiny))
    n = sum(p.numel() for p in model.parameters())
    assert m["tensor_bytes_params"] == 4 * n == m["tensor_bytes_grads"]
    assert m["tensor_bytes_optimizer"] >= 2 * 4 * n            # Adam: exp_avg, exp_avg_sq
    assert m["tensor_bytes_method"] == "saved_tensors_hooks"
    assert m["tensor_bytes_saved_peak"] > 0
    assert m["tensor_bytes_peak"] == (m["tensor_bytes_params"] + m["tensor_bytes_grads"]
                                      + m["tensor_bytes_optimizer"]
                                      + m["tensor_bytes_learner_state"]
                                      + m["tensor_bytes_saved_peak"])
    assert len(m["time_step_ns"]) == 3 and m["time_step_median_ns"] > 0
    assert m["time_per_token_ns"] == pytest.approx(m["time_step_median_ns"] / 8)
    assert m["threads"] == torch.get_num_threads() == 1
    assert m["cuda_allocated_peak"] is None and m["nvml_source"] is None
    assert m["sensitivity_flops_per_step"] is None                # no sensitivity in BPTT
    assert m["n_params"] == n and m["H"] == tiny["n_slots"] * tiny["d_model"]


def test_tensor_bytes_are_deterministic_and_bptt_grows_with_T(tiny):
    a = _ok(execute(PointConfig(learner="bptt", seq_len=8, repeats=0, model=tiny)))
    b = _ok(execute(PointConfig(learner="bptt", seq_len=8, repeats=0, model=tiny)))
    c = _ok(execute(PointConfig(learner="bptt", seq_len=16, repeats=0, model=tiny)))
    assert a["tensor_bytes_peak"] == b["tensor_bytes_peak"]
    assert c["tensor_bytes_saved_peak"] > 1.6 * a["tensor_bytes_saved_peak"]
    assert a["time_step_median_ns"] is None and a["time_step_ns"] == []   # memory-only


@pytest.mark.parametrize("jacobian,method", [
    # the hand-derived Jacobian runs no torch.func: autograd's saved-tensor hooks work (they
    # see the readout's graph only; the Jacobian's own intermediates are plain tensors)
    ("analytic", "saved_tensors_hooks"),
    ("torch.func", "dispatch_live"),        # torch.func refuses the hooks: live tensors
])
def test_measure_sparse_rtrl_state_is_flat_and_work_is_counted(tiny, jacobian, method):
    pts = [_ok(execute(PointConfig(learner="sparse-rtrl", seq_len=T, repeats=1, model=tiny,
                                   learner_kwargs={"jacobian": jacobian})))
           for T in (12, 24)]
    for m in pts:
        assert m["tensor_bytes_method"] == method
        transient = m["tensor_bytes_transient_peak" if method == "dispatch_live"
                      else "tensor_bytes_saved_peak"]
        assert transient > 0
        assert m["sensitivity_flops_per_step"] == m["sensitivity_flops_analytic"] > 0
        assert m["sensitivity_ns_per_step"] > 0
        assert m["matmul_flops_per_s"] > 0 and 0 < m["matmul_fraction"]
        assert len(m["matmul_shape"]) == 4
    assert pts[0]["tensor_bytes_learner_state"] == pts[1]["tensor_bytes_learner_state"] > 0


def test_track_steps_window_still_samples_state(tiny):
    m = _ok(execute(PointConfig(learner="rtrl", seq_len=10, repeats=0, track_steps=3,
                                tensor_tracking="live", model=tiny)))
    assert m["tensor_bytes_tracked_steps"] == 3
    assert m["tensor_bytes_learner_state"] > 0


def test_saved_tensor_tracking_does_not_change_the_gradient(tiny):
    task = rm.make_task("anbn", seq_len=12, batch_size=2)
    x, y = task.batch()
    torch.manual_seed(0)
    model = rm.RecurrentMoE(rm.MoEConfig(d_in=task.d_in, d_out=task.d_out, **tiny)).double()
    g0 = rm.make_learner("bptt", model).gradient(x.double(), y)
    with SavedTensorTracker(exclude=list(model.parameters())) as tr:
        g1 = rm.make_learner("bptt", model).gradient(x.double(), y)
    assert tr.peak > 0 and tr.current == 0
    for k in g0:
        assert torch.equal(g0[k], g1[k]), k


def test_agreement_exact_for_rtrl_and_not_for_truncated_bptt(tiny):
    ok = measure_agreement("sparse-rtrl", 16, dtype="float64", model=tiny)
    assert ok["rel_err"] < 1e-10 and ok["exact"] is True
    assert ok["cosine"] == pytest.approx(1.0, abs=1e-12)
    assert set(ok["per_param"]) == {n for n, _ in rm.RecurrentMoE(rm.MoEConfig(
        d_in=3, d_out=3, **tiny)).named_parameters()}
    bad = measure_agreement("tbptt", 24, dtype="float64", model=tiny, learner_kwargs={"k": 2})
    assert bad["rel_err"] > 1e-6 and bad["exact"] is False
    f32 = measure_agreement("rtrl", 16, dtype="float32", model=tiny)
    assert 0 < f32["rel_err"] < 1e-3 and f32["exact"] is None


def test_train_kind_curve_and_held_out_eval(tiny):
    m = _ok(execute(PointConfig(kind="train", learner="bptt", seq_len=12, steps=4,
                                eval_every=2, lr=1e-2, model=tiny)))
    assert [c[0] for c in m["curve"]] == [1, 2, 4]
    assert 0 <= m["final_accuracy"] <= 1 and m["final_loss"] > 0
    # an accuracy is decided on >= 1000 held-out targets, never on one short batch
    assert m["eval_targets"] >= 1000 and m["eval_batches"] > 2
    assert m["tensor_bytes_peak"] > 0 and m["time_total_s"] > 0


def test_rnn_model_and_unknown_key(tiny):
    _ok(execute(PointConfig(learner="rtrl", model_type="rnn", model={"hidden": 6},
                            seq_len=4, repeats=1)))
    r = execute(PointConfig(learner="bptt", seq_len=4, model={"n_slotz": 3}))
    assert r["status"] == "error" and "n_slotz" in r["message"]


def test_cuda_point_without_cuda_is_skipped_with_reason():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    rec = run_point(PointConfig(learner="bptt", seq_len=4, device="cuda"))
    assert rec["status"] == "skipped" and "CUDA not available" in rec["message"]


def test_test_hooks_need_the_env_var(monkeypatch):
    monkeypatch.delenv("RTRL_MOE_BENCH_TEST_HOOKS", raising=False)
    r = execute(PointConfig(learner="bptt", seq_len=4, test_hook="raise"))
    assert r["status"] == "error" and "RTRL_MOE_BENCH_TEST_HOOKS" in r["message"]


def test_in_process_oom_under_budget_is_status_oom_and_limit_is_lifted(hook_env):
    import resource
    before = resource.getrlimit(resource.RLIMIT_AS)
    r = execute(PointConfig(learner="bptt", seq_len=4, budget_mb=32, test_hook="oom"))
    assert r["status"] == "oom" and "32" in r["message"]
    assert resource.getrlimit(resource.RLIMIT_AS) == before


MEASURE_KEYS = """tensor_bytes_peak tensor_bytes_params tensor_bytes_grads tensor_bytes_optimizer
tensor_bytes_learner_state tensor_bytes_saved_peak rss_peak rss_baseline cuda_allocated_peak
cuda_reserved_peak nvml_used_peak nvml_context_bytes nvml_source time_step_median_ns
time_step_iqr_ns time_step_ns time_per_token_ns threads sensitivity_flops_per_step
sensitivity_ns_per_step sensitivity_flops_per_s matmul_flops_per_s matmul_fraction loss accuracy
n_params n_state_params H""".split()
CONFIG_KEYS = """kind learner learner_kwargs model_type model task seq_len batch dtype device seed
budget_mb repeats warmup steps lr""".split()


@pytest.mark.parametrize("cfg,keys", [
    (dict(kind="measure", learner="tree-rtrl", repeats=1), MEASURE_KEYS),
    (dict(kind="agree", learner="rtrl"), ["rel_err", "max_abs_err", "cosine", "per_param"]),
    (dict(kind="train", learner="sparse-rtrl", steps=2),
     ["final_loss", "final_accuracy", "curve", "time_total_s", "tensor_bytes_peak"]),
])
def test_records_carry_every_documented_field(tiny, cfg, keys):
    rec = run_point(PointConfig(seq_len=5, model=tiny, **cfg))
    assert rec["status"] == "ok", rec["message"]
    assert set(keys) <= set(rec["metrics"]), set(keys) - set(rec["metrics"])
    assert set(CONFIG_KEYS) <= set(rec["config"])
    for k in ("schema", "run_id", "commit", "dirty", "created", "machine", "config", "status",
              "message", "metrics"):
        assert k in rec


def test_hooks_and_live_tracking_agree_on_bptt_and_ckpt_is_tracked_live(tiny):
    hooks = _ok(execute(PointConfig(learner="bptt", seq_len=48, repeats=0, model=tiny)))
    live = _ok(execute(PointConfig(learner="bptt", seq_len=48, repeats=0, model=tiny,
                                   tensor_tracking="live")))
    assert hooks["tensor_bytes_method"] == "saved_tensors_hooks"
    assert live["tensor_bytes_method"] == "dispatch_live"
    assert live["tensor_bytes_transient_peak"] == pytest.approx(
        hooks["tensor_bytes_saved_peak"], rel=0.2)
    ckpt = _ok(execute(PointConfig(learner="ckpt-bptt", learner_kwargs={"k": 4}, seq_len=48,
                                   repeats=0, model=tiny)))
    assert ckpt["tensor_bytes_method"] == "dispatch_live"          # checkpoint hides from hooks
    assert 0 < ckpt["tensor_bytes_transient_peak"] < 0.5 * hooks["tensor_bytes_saved_peak"]


def test_same_seed_trajectories_of_bptt_and_sparse_rtrl_agree_in_float64(tiny):
    """The proxy behind reading RTRL's accuracy from bptt's runs: exact gradients make the two
    trainings one trajectory up to rounding. In float64 the losses agree step by step."""
    def curve(learner, dtype):
        m = _ok(execute(PointConfig(kind="train", learner=learner, seq_len=12, steps=25, eval_every=1,
                                    lr=1e-2, model=tiny, dtype=dtype)))
        return [c[1] for c in m["curve"]]
    a, b = curve("bptt", "float64"), curve("sparse-rtrl", "float64")
    assert len(a) == len(b) == 25
    assert max(abs(x - y) / abs(x) for x, y in zip(a, b)) < 1e-10
    assert a[-1] != a[0]                     # it did train: a constant curve would agree trivially
