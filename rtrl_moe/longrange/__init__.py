"""rtrl_moe.longrange: long-range credit assignment under one protocol (issues 25, 30).

Which learner solves delayed recall at delay D, at what memory and time: the protocol, per
model, fixed before the data (``protocol``), the task (``tasks``), one point (``experiment``),
the memory-matched truncated-BPTT window k* (``kstar``), one subprocess per point into a results
file (``runner``). ``python -m rtrl_moe.longrange run|list|point|kstar|tune|equivalence``;
docs/LONGRANGE.md.
"""
