"""`python -m rtrl_moe train`: train a model on a task with any learner, log, checkpoint, resume.

One training step = one fresh sequence of ``--seq-len`` tokens for each of ``--batch`` rows
(batch ``index=step`` of the task, so a resumed run sees exactly the data an uninterrupted one
would), its gradient from the learner, and one Adam step. With ``--every K`` the learner runs
truly online instead: an Adam step every K tokens inside each sequence (``learner.online``).

Modules: ``cli`` (flags, one-line errors), ``loop`` (building the run and the loop),
``checkpoint`` (atomic save, checked resume), ``log`` (metrics.csv, TensorBoard, progress).
"""
from .cli import build_parser, main
from .log import CSV_FIELDS

__all__ = ["CSV_FIELDS", "build_parser", "main"]
