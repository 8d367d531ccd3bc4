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
theme: memory, lengths, speed, gradients, accuracy, gpu), ``claims`` (the registry: data plus
check callables), ``targets`` (the library's own speed targets), ``figures`` (matplotlib) and
``render`` (jinja2 context and templates).  Records are read only through ``rtrl_moe.records``.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["build", "main"]


def main(argv=None) -> int:
    """``python -m rtrl_moe.report``: render, with one-line errors (see ``__main__``)."""
    from .__main__ import main as _main
    return _main(argv)


def write_readme_findings(readme: Path, block: str) -> bool:
    """Put the report's findings between the README's markers (the same text as FINDINGS.md);
    False when the README has no markers (then it is left alone)."""
    from .findings import README_BEGIN, README_END
    text = readme.read_text(encoding="utf-8")
    a, b = text.find(README_BEGIN), text.find(README_END)
    if a < 0 or b < a:
        return False
    new = text[:a] + block.rstrip("\n") + text[b + len(README_END):]
    if new != text:
        readme.write_text(new, encoding="utf-8", newline="\n")
    return True


def build(results_dir, out_dir) -> dict:
    """Render the report of results_dir into out_dir; returns the paths written and the counts."""
    from . import data, render

    results_dir, out_dir = Path(results_dir), Path(out_dir)
    df, loader = data.load(results_dir)
    ctx = render.context(df, loader, results_dir)
    html, md = render.render(ctx)
    figdir = out_dir / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    written = []
    extra = [x["figure"] for x in (ctx["frontier"], ctx["ponder_frontier"], ctx["phases"],
                                        ctx["longrange"]) if x["figure"] is not None]
    for f in [f for sec in ctx["sections"] for f in sec.figures] + extra:
        p = out_dir / f.path
        p.write_bytes(f.png)
        written.append(p)
    keep = {p.resolve() for p in written}
    for old in sorted(figdir.glob("*.png")):  # figures of an earlier build that this one lacks
        if old.resolve() not in keep:
            old.unlink()
    (out_dir / "index.html").write_text(html, encoding="utf-8", newline="\n")
    (out_dir / "REPORT.md").write_text(md, encoding="utf-8", newline="\n")
    (out_dir / "claims.json").write_text(ctx["claims_json"], encoding="utf-8", newline="\n")
    (out_dir / "FINDINGS.md").write_text(ctx["readme_findings"], encoding="utf-8", newline="\n")
    if out_dir.resolve() == (render.REPO / "reports").resolve():
        write_readme_findings(render.REPO / "README.md", ctx["readme_findings"])
    return {"html": out_dir / "index.html", "markdown": out_dir / "REPORT.md", "figures": written,
            "claims_json": out_dir / "claims.json",
            "counts": ctx["counts"], "records": ctx["header"]["n"]}
