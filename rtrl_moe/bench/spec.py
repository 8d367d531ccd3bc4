"""From a :class:`PointConfig` to library objects, through ``rtrl_moe.build`` (the rule the
``train`` CLI shares), and the model facts every record carries.

:func:`check` is run by the CLI before any work starts, so a bad name, key or value is one
``error:`` line and exit 2, never a stored ``error`` record.
"""
from __future__ import annotations

from .. import build
from .config import DEFAULT_LR, ConfigError, PointConfig


def make_task(cfg: PointConfig):
    return build.make_task(cfg.task, cfg.seq_len, cfg.batch, cfg.seed, cfg.task_kwargs)


def model_config(cfg: PointConfig, task=None):
    """The resolved model config (``d_in``/``d_out`` from the task)."""
    return build.model_config(cfg.model_type, cfg.model, task if task is not None else
                              make_task(cfg))


def make_model(cfg: PointConfig, mcfg):
    """Model on cfg.device / cfg.dtype, initialised from ``torch.manual_seed(cfg.seed)``."""
    return build.make_model(cfg.model_type, mcfg, cfg.seed, cfg.device, cfg.dtype)


def make_learner(cfg: PointConfig, model):
    return build.make_learner(cfg.learner, model, cfg.learner_kwargs)


def learner_class(cfg: PointConfig):
    import rtrl_moe as rm
    try:
        return rm.learner_class(cfg.learner)
    except ValueError as e:
        raise ConfigError(str(e)) from None


def check(cfg: PointConfig) -> None:
    """Everything the point needs exists and its values are valid: learner, task and its
    options, the model config, and the learner's keywords on a model of that config (built
    on the CPU in float64: a small model, milliseconds)."""
    learner_class(cfg)
    task = make_task(cfg)
    mcfg = model_config(cfg, task)
    model = build.make_model(cfg.model_type, mcfg, cfg.seed, "cpu", "float64")
    make_learner(cfg, model)


def resolved_config(cfg: PointConfig, mcfg=None) -> dict:
    """The record's ``config``: the point's fields, ``model`` resolved where known and the
    overrides kept under ``model_overrides``."""
    d = cfg.to_dict()
    d["model_overrides"] = dict(cfg.model)
    if cfg.kind == "train" and d["lr"] is None:
        d["lr"] = DEFAULT_LR
    if mcfg is not None:
        d["model"] = build.config_dict(mcfg)
    return d


def static_config(cfg: PointConfig) -> dict:
    """The record's config without running anything (for points whose worker died): the model
    dict resolved from the task's sizes where the library can tell them."""
    try:
        return resolved_config(cfg, model_config(cfg))
    except Exception:
        return resolved_config(cfg)


def env_metrics() -> dict:
    import torch
    return {"threads": torch.get_num_threads(),
            "interop_threads": torch.get_num_interop_threads()}


def model_metrics(model) -> dict:
    """Sizes the report needs (it never builds a model): P, H, and the experts' share of P."""
    import rtrl_moe as rm
    out = {"n_params": int(sum(p.numel() for p in model.parameters()))}
    try:
        out["n_state_params"] = int(rm.flops.state_param_count(model))
    except Exception:
        out["n_state_params"] = None
    try:
        out["H"] = int(model.init_state(1).shape[-1])
    except Exception:
        out["H"] = None
    out["n_expert_params"] = (int(rm.flops.expert_param_count(model))
                              if hasattr(model, "expert_param_groups") else None)
    return out


def code_of(cfg: PointConfig) -> dict:
    """The record's ``code`` field: fingerprints of the harness and of the files this point's
    learner depends on (the model files, every module of its class hierarchy and the package
    modules those import), so a change to another learner leaves its records fresh
    (rtrl_moe/records/provenance.py)."""
    import inspect
    import sys
    from pathlib import Path

    from ..records.provenance import MODEL_FILES, PACKAGE, code_fingerprints
    files = list(MODEL_FILES)

    def add(module) -> None:
        f = getattr(module, "__file__", None)
        if f and Path(f).resolve().is_relative_to(PACKAGE):
            rel = str(Path(f).resolve().relative_to(PACKAGE))
            if rel not in files:
                files.append(rel)

    try:
        classes = [c for c in inspect.getmro(learner_class(cfg)) if c is not object]
    except ConfigError:
        return code_fingerprints()
    for cls in classes:
        module = sys.modules[cls.__module__]
        add(module)
        for value in vars(module).values():   # what the learner's module itself imports
            owner = value if inspect.ismodule(value) else \
                sys.modules.get(getattr(value, "__module__", None) or "")
            if owner is not None and owner.__name__.startswith("rtrl_moe.learners"):
                add(owner)
    return code_fingerprints(library_files=files)
