"""The learners, by the names used everywhere (CLI, harness, asv, report)."""
from .base import Learner, iter_steps
from .bptt import BPTT, TBPTT, CheckpointBPTT
from .elementwise_rtrl import ElementwiseRTRL
from .rflo import RFLO
from .rtrl import DenseRTRL
from .snap import SnAp1, SnAp2
from .sparse_rtrl import SparseReadOnlyRTRL, SparseRTRL
from .tree_rtrl import TreeRTRL
from .uoro import UORO

_REGISTRY = {cls.name: cls for cls in (BPTT, TBPTT, CheckpointBPTT, DenseRTRL, SparseRTRL,
                                       TreeRTRL, SparseReadOnlyRTRL, SnAp1, SnAp2, UORO, RFLO,
                                       ElementwiseRTRL)}
LEARNERS = tuple(_REGISTRY)


def learner_class(name: str) -> type[Learner]:
    """The class behind a learner name, for its attributes (``streaming``, ``exact``, ...)."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown learner {name!r}; choose one of {', '.join(LEARNERS)}")
    return _REGISTRY[name]


def make_learner(name: str, model, **kwargs) -> Learner:
    """A learner by name; kwargs: ``k`` (tbptt window, ckpt-bptt segment), ``n`` (tree buffer),
    ``seed`` (uoro's noise, rflo's feedback matrix), ``feedback`` (rflo: "random" or "true")."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown learner {name!r}; choose one of {', '.join(LEARNERS)}")
    try:
        return _REGISTRY[name](model, **kwargs)
    except TypeError as e:
        raise ValueError(f"bad arguments for learner {name!r}: {e}") from None


__all__ = ["LEARNERS", "Learner", "learner_class", "make_learner", "iter_steps"]
