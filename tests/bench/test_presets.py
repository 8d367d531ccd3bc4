"""Presets cover what the issue asks for (checked on the lists, nothing is run)."""
from rtrl_moe.bench.presets import get_preset


def test_quick_holds_what_decides_on_a_new_machine():
    # issue 33: exactness, memory shape, the budget's out-of-memory and the speed targets' pairs
    from rtrl_moe.bench.presets import SPEED_EXPERTS, SPEED_SLOTS
    pts = get_preset("quick")
    assert len({p.key() for p in pts}) == len(pts)                  # no duplicates
    assert all(p.threads == 1 for p in pts)
    agree = [p for p in pts if p.kind == "agree"]
    assert {p.learner for p in agree if p.dtype == "float64"} == {
        "rtrl", "sparse-rtrl", "tree-rtrl", "sparse-rtrl-readonly", "tbptt"}
    assert "float32" in {p.dtype for p in agree}
    assert all(p.seq_len > p.learner_kwargs.get("k", 0) for p in agree if p.learner == "tbptt")
    mem = [p for p in pts if p.label == "memory-curve"]
    assert {p.learner for p in mem} == {"bptt", "sparse-rtrl"} and all(p.repeats == 0 for p in mem)
    for lr in ("bptt", "sparse-rtrl"):                               # a slope needs 3 lengths
        assert len({p.seq_len for p in mem if p.learner == lr}) >= 3
    budget = [p for p in pts if p.label == "budget"]
    assert budget and all(p.budget_mb and p.device == "cpu" for p in budget)
    assert {p.learner for p in budget} == {"bptt", "sparse-rtrl"}
    for label, model, pair in (("speed-slots", SPEED_SLOTS, {"rtrl", "sparse-rtrl"}),
                               ("speed-experts", SPEED_EXPERTS, {"sparse-rtrl", "tree-rtrl"})):
        sp = [p for p in pts if p.label == label]
        assert {p.learner for p in sp} == pair and all(p.model == model for p in sp)
        assert len({p.seed for p in sp}) >= 3 and all(p.repeats >= 5 for p in sp)
    assert not [p for p in pts if "compile" in p.learner_kwargs]     # compiled: its own preset


def test_compiled_preset_pairs_each_compiled_point_with_its_eager_twin():
    pts = get_preset("compiled")
    assert len({p.key() for p in pts}) == len(pts) and all(p.threads == 1 for p in pts)
    comp = [p for p in pts if p.learner_kwargs.get("compile")]
    assert comp
    eager = {(p.learner, tuple(sorted(p.model.items())), p.seq_len) for p in pts
             if not p.learner_kwargs.get("compile")}
    for p in comp:
        assert (p.learner, tuple(sorted(p.model.items())), p.seq_len) in eager


def test_expert_params_are_most_of_the_state_in_the_expert_speed_config():
    import rtrl_moe as rm
    from rtrl_moe.bench.presets import SPEED_EXPERTS
    model = rm.RecurrentMoE(rm.MoEConfig(d_in=3, d_out=3, **SPEED_EXPERTS))
    experts = sum(p.numel() for g in model.expert_param_groups()
                  for n, p in model.named_parameters() if n in set(g))
    assert experts > 0.6 * rm.flops.state_param_count(model)


def test_full_and_gpu_presets():
    full = get_preset("full")
    assert max(p.seq_len for p in full) >= 100_000 and all(p.device == "cpu" for p in full)
    gpu = get_preset("gpu")
    assert all(p.device == "cuda" for p in gpu)
    table = [p for p in gpu if p.label == "gpu-table"]
    assert {p.seq_len for p in table} == {32, 64, 128, 256, 512, 1024, 2048}
    assert all(p.model["d_model"] == 32 and p.model["n_slots"] == 4 and p.model["n_experts"] == 4
               and p.model["topk"] == 2 for p in table)
    extreme = [p for p in gpu if p.label == "gpu-extreme"]
    assert {p.seq_len for p in extreme} == {10000, 50000} and all(p.budget_mb for p in extreme)
    for preset in (full, gpu):
        assert len({p.key() for p in preset}) == len(preset)


def test_long_preset_reaches_past_the_quick_lengths_and_shares_points_with_full():
    long = get_preset("long")
    assert len({p.key() for p in long}) == len(long) and all(p.threads == 1 for p in long)
    mem = [p for p in long if p.kind == "measure" and p.repeats == 0 and not p.budget_mb]
    assert {p.learner for p in mem if p.seq_len > 10_000} >= {"bptt", "ckpt-bptt", "tree-rtrl"}
    assert max(p.seq_len for p in mem if p.learner == "sparse-rtrl") >= 100_000
    hay = [p for p in long if p.task == "haystack"]
    assert {p.learner for p in hay if p.budget_mb} == {"bptt", "sparse-rtrl"}
    assert {p.learner for p in hay if p.repeats >= 5 and p.seq_len == 8} == {"sparse-rtrl",
                                                                             "tree-rtrl"}
    full_keys = {p.key() for p in get_preset("full")}
    shared = [p for p in long if p.task == "anbn"]
    assert shared and all(p.key() in full_keys for p in shared)


def test_docs_preset_is_the_documents_workload_in_pairs():
    from rtrl_moe.bench.presets import DOC, DOC_TABLE_T
    pts = get_preset("docs")
    assert len({p.key() for p in pts}) == len(pts)
    assert all(p.model == DOC and p.threads == 1 for p in pts)      # one config, never pooled
    mem = [p for p in pts if p.label == "docs-memory"]
    for lr in ("bptt", "sparse-rtrl", "tree-rtrl"):
        assert sorted(p.seq_len for p in mem if p.learner == lr and p.task == "anbn") == list(DOC_TABLE_T)
    assert sorted(p.seq_len for p in mem if p.task == "haystack") == list(DOC_TABLE_T)
    for label in ("docs-time", "docs-tree-anbn", "docs-tree-haystack"):
        timed = [p for p in pts if p.label == label]
        lengths = {p.seq_len for p in timed}
        assert len(lengths) >= 4, label                             # a trend needs >= 4 lengths
        for T in lengths:
            for lr in {p.learner for p in timed}:
                seeds = {p.seed for p in timed if p.seq_len == T and p.learner == lr}
                assert len(seeds) >= 3, (label, T, lr)              # >= 3 pairs per ratio
    assert {p.budget_mb for p in pts if p.label == "docs-budget"} == {256}


def test_frontier_preset_covers_every_online_learner_where_it_applies():
    from rtrl_moe.bench import spec
    pts = get_preset("frontier")
    assert len({p.key() for p in pts}) == len(pts)
    for p in pts:
        spec.check(p)                                   # rflo only on the tanh RNN, etc.
    agree = [p for p in pts if p.label == "frontier-agree"]
    for mt in ("moe", "rnn"):
        names = {p.learner for p in agree if p.model_type == mt}
        assert {"snap-1", "snap-2", "uoro", "tbptt"} <= names
        assert {p.seq_len for p in agree if p.model_type == mt} == {16, 64, 256, 1024}
    assert "rflo" in {p.learner for p in agree if p.model_type == "rnn"}
    train = [p for p in pts if p.label == "frontier-train"]
    assert {p.task for p in train} == {"anbn", "haystack"} and {p.seed for p in train} == {0, 1, 2}


def test_a_record_names_the_files_its_learner_depends_on():
    from rtrl_moe.bench import PointConfig
    from rtrl_moe.bench.spec import code_of
    snap = code_of(PointConfig(learner="snap-1"))["library_files"]
    assert "learners/snap.py" in snap and "learners/snap_pattern.py" in snap
    assert "learners/rtrl.py" not in snap and "moe.py" in snap
    tree = code_of(PointConfig(learner="tree-rtrl"))["library_files"]
    assert {"learners/tree_rtrl.py", "learners/rtrl.py", "learners/base.py"} <= set(tree)


def test_docs_scale_preset_is_the_documents_model_at_their_lengths():
    from rtrl_moe.bench.presets import DOC, SCALE_T, TREE_N
    pts = get_preset("docs-scale")
    assert len({p.key() for p in pts}) == len(pts)
    assert all(p.model == DOC and p.threads == 1 and p.batch == 1 for p in pts)
    mem = [p for p in pts if p.label == "docs-scale-memory"]
    assert all(p.repeats == 0 and p.budget_mb is None for p in mem)             # one pass, no budget
    assert {p.seq_len for p in mem if p.learner == "sparse-rtrl"} == set(SCALE_T)
    assert {p.seq_len for p in mem if p.learner == "bptt"} == {10_000, 20_000}   # 002 says "> 10000"
    budget = [p for p in pts if p.label == "docs-scale-budget"]
    assert [(p.learner, p.seq_len, p.budget_mb) for p in budget] == [("bptt", 10_000, 256)]
    tree = [p for p in pts if p.label == "docs-tree-n"]
    assert {p.learner_kwargs["n"] for p in tree} == set(TREE_N)
    assert all(p.seq_len >= 2 * p.learner_kwargs["n"] and p.repeats >= 3 for p in tree)  # the buffer wraps
    assert {p.seed for p in tree} == {0, 1, 2}
    pairs = [p for p in pts if p.label == "docs-dense-sparse"]
    assert {(p.learner, p.seed) for p in pairs} == {(lr, s) for lr in ("rtrl", "sparse-rtrl",
                                                                     "sparse-rtrl-readonly")
                                                    for s in (0, 1, 2)}
