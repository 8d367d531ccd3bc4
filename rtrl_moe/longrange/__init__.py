"""rtrl_moe.longrange: long-range credit assignment (issue 25).

Which online learner learns a dependency of length D, at what memory and time, on one harness:
delayed recall at D in 16..4096 (``tasks``), the element-wise cell and its O(P) exact RTRL
(``rtrl_moe.lru``, ``rtrl_moe.learners.elementwise_rtrl``) beside the MoE's and the RNN's learners,
the preset (``registry``), one subprocess per point into ``results/longrange.jsonl`` (``runner``).
``python -m rtrl_moe.longrange run|list``; docs/LONGRANGE.md.
"""
