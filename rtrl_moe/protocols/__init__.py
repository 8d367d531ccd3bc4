"""The `protocols` preset: each documented experiment re-run as its own script ran it.

The bench (``rtrl_moe.bench``) tests the documents' claims with its own, stronger experiments.
This package re-runs the experiment that produced each documented figure -- the script's task,
model, comparison, metric, steps and evaluation -- at five seeds where the script ran one, so
the report can say both whether the figure reproduces (``as_documented``) and whether the claim
survives the bench (``on_bench``). docs/PROTOCOLS.md matches every piece to its script.

``python -m rtrl_moe.protocols run [--piece NAME ...] [--seeds 0,1,2,3,4]
[--out results/protocols.jsonl] [--arch upstream|bench]``: each (piece, seed) point in its own
subprocess, resumable; records have ``config.kind = "protocol"``.

Modules: ``models`` (``protocol_model(arch, **cfg)`` and the scripts' baselines), ``tasks``
(the scripts' samplers), ``loops`` (their training loops and online accuracy windows),
``accounting`` (tensor bytes), the experiments ``anbn``, ``haystack``, ``speed``, ``memory``,
``registry`` (the pieces, ``PRESET``) and ``runner``.
"""
from .models import protocol_model
from .registry import PIECES, PRESET, Piece

__all__ = ["PIECES", "PRESET", "Piece", "protocol_model"]
