"""One way to build a run from plain values: the rule the ``train`` and ``bench`` CLIs share.

A run is named by plain data (model type and config overrides, task and its options, learner and
its keywords, length, batch, seed, device, dtype). This module turns that into library objects,
and every bad value into one :class:`SpecError` line, so both CLIs parse ``--config``,
``--task-arg`` and ``--learner-arg`` the same way and fail the same way:

* ``KEY=VALUE``: the value is a Python literal where it is one (``8``, ``2e-3``, ``True``,
  ``"x"``), else the plain string (``gru``); :func:`parse_assignments`.
* A model config or task option has a declared default, so the value is checked (and an int
  widened to float) against the default's type; :func:`coerce`. Learner keywords have no
  declared types: the learner's own constructor checks them.

It sits above the library and below ``train`` and ``bench``; it knows nothing of records.
"""
from __future__ import annotations

import ast
import dataclasses
import math
from typing import Any, Iterable, Optional

MODEL_TYPES = ("moe", "rnn")
DTYPES = ("float32", "float64")


class SpecError(ValueError):
    """A run that cannot be built (unknown name or key, bad value): one line for the user."""


# -- KEY=VALUE ------------------------------------------------------------------------------------
def parse_value(text: str) -> Any:
    """A Python literal where the text is one, else the stripped string."""
    text = text.strip()
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


def parse_assignments(items: Optional[Iterable[str]], flag: str = "--config") -> dict:
    """``["a=1", "b=x"]`` -> ``{"a": 1, "b": "x"}``; a malformed item raises :class:`SpecError`."""
    out: dict = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SpecError(f"{flag} expects KEY=VALUE, got {item!r}")
        out[key.strip()] = parse_value(value)
    return out


def coerce(value: Any, like: Any, what: str) -> Any:
    """``value`` checked against the type of the default ``like``; ints widen to float."""
    if isinstance(like, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.lower() in ("true", "yes", "false", "no"):
            return value.lower() in ("true", "yes")
        raise SpecError(f"{what}={value!r}: expected a boolean (true/false)")
    if isinstance(like, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise SpecError(f"{what}={value!r}: expected an integer")
    if isinstance(like, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        raise SpecError(f"{what}={value!r}: expected a finite number")
    if isinstance(like, str) and not isinstance(value, str):
        return str(value)
    return value


def _checked(values: dict, defaults: dict, flag: str, owner: str) -> dict:
    unknown = sorted(set(values) - set(defaults))
    if unknown:
        raise SpecError(f"unknown {flag} key {', '.join(unknown)} for {owner}; "
                        f"valid: {', '.join(defaults)}")
    return {k: coerce(v, defaults[k], f"{flag} {k}") for k, v in values.items()}


# -- library objects ------------------------------------------------------------------------------
def model_classes(model_type: str):
    """``(ConfigClass, ModelClass)`` of a model type."""
    import rtrl_moe as rm
    if model_type not in MODEL_TYPES:
        raise SpecError(f"unknown model type {model_type!r}; expected one of "
                        f"{', '.join(MODEL_TYPES)}")
    return (rm.MoEConfig, rm.RecurrentMoE) if model_type == "moe" else \
        (rm.RNNConfig, rm.RecurrentRNN)


def unit_versions() -> dict:
    """``model.<type>`` of the library's cells and ``task.<name>`` of its tasks, as each class
    declares them (``rtrl_moe.records.versions``)."""
    import rtrl_moe as rm
    from rtrl_moe import lru, tasks
    out = {f"model.{t}": model_classes(t)[1].version for t in MODEL_TYPES}
    out["model.lru"] = lru.RecurrentLRU.version
    out.update({f"task.{name}": cls.version for name, cls in tasks._CLASSES.items()})
    out["model.upstream-moe"] = rm.UpstreamMoE.version
    return out


def config_defaults(model_type: str) -> dict:
    config_cls, _ = model_classes(model_type)
    return {f.name: f.default for f in dataclasses.fields(config_cls)}


def make_task(name: str, seq_len: int, batch: int, seed: int, options: Optional[dict] = None):
    """The task, with its options checked against the task's declared defaults."""
    import rtrl_moe as rm
    from rtrl_moe.tasks import task_options
    if name not in rm.TASKS:
        raise SpecError(f"unknown task {name!r}; valid: {', '.join(rm.TASKS)}")
    kw = _checked(dict(options or {}), task_options(name), "--task-arg", f"task {name}")
    try:
        return rm.make_task(name, seq_len=seq_len, batch_size=batch, seed=seed, **kw)
    except (ValueError, TypeError) as e:
        raise SpecError(f"task {name}: {e}") from None


def model_config(model_type: str, overrides: dict, task):
    """The model's config: the overrides checked and typed, ``d_in``/``d_out`` from the task."""
    config_cls, _ = model_classes(model_type)
    over = _checked(dict(overrides), config_defaults(model_type), "--config",
                    f"model {model_type}")
    for key in ("d_in", "d_out"):
        if key in over and over[key] != getattr(task, key):
            raise SpecError(f"model {key}={over[key]} does not match the task "
                            f"({key}={getattr(task, key)})")
        over[key] = getattr(task, key)
    try:
        return config_cls(**over)
    except (ValueError, TypeError) as e:
        raise SpecError(str(e)) from None


def make_model(model_type: str, cfg, seed: int, device: str = "cpu", dtype: str = "float32"):
    """The model of ``cfg``, its weights drawn from ``torch.manual_seed(seed)`` alone."""
    import torch
    _, model_cls = model_classes(model_type)
    torch.manual_seed(seed)
    return model_cls(cfg).to(device=device, dtype=torch_dtype(dtype))


def make_learner(name: str, model, kwargs: Optional[dict] = None):
    import rtrl_moe as rm
    if name not in rm.LEARNERS:
        raise SpecError(f"unknown learner {name!r}; valid: {', '.join(rm.LEARNERS)}")
    try:
        return rm.make_learner(name, model, **dict(kwargs or {}))
    except (ValueError, TypeError) as e:
        raise SpecError(f"learner {name}: {e}") from None


def torch_dtype(name: str):
    import torch
    if name not in DTYPES:
        raise SpecError(f"unknown dtype {name!r}; expected one of {', '.join(DTYPES)}")
    return getattr(torch, name)


def config_dict(cfg) -> dict:
    return cfg.to_dict() if hasattr(cfg, "to_dict") else dataclasses.asdict(cfg)


# -- evaluation -----------------------------------------------------------------------------------
def evaluate(model, task, device, dtype, indices: Iterable[int] = (-1,)) -> dict:
    """Forward-only mean loss and accuracy over the targets of held-out batches.

    Held-out batches have negative indices, which training (indices 0, 1, ...) never sees;
    memory is O(1) in T since the batch is streamed."""
    import torch
    import torch.nn.functional as F

    from rtrl_moe.tasks import IGNORE
    dtype = torch_dtype(dtype) if isinstance(dtype, str) else dtype
    loss_sum, correct, n = 0.0, 0, 0
    with torch.no_grad():
        for index in indices:
            h = model.init_state(task.batch_size)
            for x_t, y_t in task.stream(index):
                logits, h, _ = model.step(x_t.to(device=device, dtype=dtype), h)
                y_t = y_t.to(device)
                mask = y_t != IGNORE
                k = int(mask.sum())
                if k:
                    loss_sum += float(F.cross_entropy(logits, y_t, ignore_index=IGNORE,
                                                      reduction="sum"))
                    correct += int((logits.argmax(-1) == y_t)[mask].sum())
                    n += k
    return {"loss": loss_sum / n if n else math.nan, "accuracy": correct / n if n else math.nan,
            "n_targets": n}
