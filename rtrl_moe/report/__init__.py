"""Verification report: every documented claim beside what we measured.

``build(results_dir, out_dir)`` reads ``results_dir`` (JSON Lines records, docs/RESULTS.md) and
writes ``out_dir/index.html`` (one self-contained page, figures embedded as base64 PNG),
``out_dir/REPORT.md``, ``out_dir/claims.json`` (one object per claim, the rows' twin) and
``out_dir/figures/*.png``.  It is a pure function of the files: the
same input gives byte-identical output.  A file that fails to load stops the build with the
reader's error (file and line); an empty results directory gives a report that says so.

Modules, from the records up: ``data`` (loading, accessors, the record fields), ``fmt``
(numbers as the report writes them), ``evidence`` (what a check returns, verdicts, merging),
``curves`` (a field over T, pairs of learners in one run), ``checks/`` (the check factories by
theme: memory, lengths, speed, gradients, accuracy, gpu), ``claims/`` (the registry: one entry
per claim, one module per document), ``judge``/``as_documented``/``headline`` (the generic judges
of an entry's two sides and their join), ``findings`` (the first screen), ``targets`` (the
library's own speed targets), ``figures`` (matplotlib) and ``render`` (context, templates, and
``build``, which writes the files).  Records are read only through ``rtrl_moe.records``.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["build", "main", "write_readme_findings"]


def main(argv=None) -> int:
    """``python -m rtrl_moe.report``: render, with one-line errors (see ``__main__``)."""
    from .__main__ import main as _main
    return _main(argv)


def build(results_dir, out_dir) -> dict:
    """Render the report of results_dir into out_dir (``render.build``); returns the paths written and the counts."""
    from .render import build as _build
    return _build(results_dir, out_dir)


def write_readme_findings(readme, block: str) -> bool:
    """The README's findings between its markers (``render.write_readme_findings``)."""
    from .render import write_readme_findings as _write
    return _write(Path(readme), block)
