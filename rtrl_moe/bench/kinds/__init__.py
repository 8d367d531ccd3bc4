"""What a point measures, one module per ``PointConfig.kind``; each ``run(cfg, budget)``
returns the kind's metrics dict (docs/RESULTS.md) and raises on failure."""
from . import agree, measure, train

RUNNERS = {"measure": measure.run, "agree": agree.run, "train": train.run}


def unit_versions() -> dict:
    """``kind.<kind>`` and ``probe.<name>`` as each module declares them
    (``rtrl_moe.records.versions``)."""
    from ..probes import rss, tensors
    out = {f"kind.{k}": m.VERSION for k, m in (("measure", measure), ("agree", agree),
                                                ("train", train))}
    out.update({"probe.tensors": tensors.VERSION, "probe.rss": rss.VERSION})
    return out
