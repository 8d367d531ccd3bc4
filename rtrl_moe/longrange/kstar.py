"""k*: the truncated-BPTT window whose tensor bytes equal a constant-memory learner's, per model.

Measured, not computed from a formula: one episodic update's ``tensor_bytes_peak``
(``experiment.memory``) of the learner, and of tbptt at the windows :data:`WINDOWS` on the same
model, batch and delay :data:`DELAY` (an episode at least as long as the longest window, so each
window holds its full k steps of graph). tbptt's bytes grow by a fixed amount a step of window
(its saved graph); the line through the two outer windows gives
``k* = floor((bytes_learner - a) / b)``, at least 1; the middle window checks the line.
"""
from __future__ import annotations

import math

import torch

from .protocol import Point

WINDOWS = (4, 8, 16)
DELAY = 16


def bytes_of(point: Point) -> int:
    from .experiment import build_model, episodes, make, memory
    torch.set_num_threads(1)
    model = build_model(point)
    learner = make(point, model)
    opt = torch.optim.Adam(model.parameters(), lr=point.learning_rate)
    stream = episodes(point.task(), salt="kstar")
    # one applied update first, so the optimizer's state exists as it does in training
    from .experiment import gradient, update
    update(learner, opt, gradient(learner, next(stream), point.arm))
    return int(memory(learner, opt, next(stream), point.arm)["tensor_bytes_peak"])


def measure(model: str, learner: str, seed: int = 0) -> dict:
    """The metrics of a k* record: the learner's bytes, tbptt's per window, the fit and k*."""
    own = bytes_of(Point(model, learner, DELAY, seed, updates=1, role=f"kstar-of:{learner}"))
    tb = {k: bytes_of(Point(model, f"tbptt-{k}", DELAY, seed, updates=1,
                            role=f"kstar-of:{learner}")) for k in WINDOWS}
    k1, k2 = WINDOWS[0], WINDOWS[-1]
    slope = (tb[k2] - tb[k1]) / (k2 - k1)
    base = tb[k1] - slope * k1
    mid = WINDOWS[len(WINDOWS) // 2]
    k = max(1, int(math.floor((own - base) / slope))) if slope > 0 else None
    return {"learner_bytes": own, "tbptt_bytes": {str(w): b for w, b in tb.items()},
            "bytes_per_window_step": slope, "bytes_at_k0": base,
            "fit_residual_mid": tb[mid] - (base + slope * mid), "kstar": k,
            "kstar_exact": (own - base) / slope if slope > 0 else None}
