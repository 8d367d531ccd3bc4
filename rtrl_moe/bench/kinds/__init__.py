"""What a point measures, one module per ``PointConfig.kind``; each ``run(cfg, budget)``
returns the kind's metrics dict (docs/RESULTS.md) and raises on failure."""
from . import agree, measure, train

RUNNERS = {"measure": measure.run, "agree": agree.run, "train": train.run}

