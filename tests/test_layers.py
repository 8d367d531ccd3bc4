"""Imports point down the layers: library <- {train, bench} -> records <- report (issue 16).

Every module under rtrl_moe/ is read with ``ast``, not imported, so a module that fails to import
(or imports torch on the way) is still checked, and function-local imports count as much as the
ones at the top of the file.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "rtrl_moe"
LIBRARY = ("rtrl_moe.moe", "rtrl_moe.rnn", "rtrl_moe.tree", "rtrl_moe.tasks", "rtrl_moe.flops", "rtrl_moe.upstream",
           "rtrl_moe.learners")
#: the bench's `report` subcommand, an alias of `python -m rtrl_moe.report`: the one upward edge
ALLOWED = {("rtrl_moe.bench.__main__", "rtrl_moe.report")}
#: known debt (issue 30's section): the long-range section reads the protocol's declaration (its models,
#: seeds, held-out size) and its Wilson interval from the library instead of from the records; to be
#: moved into the records (each record carrying its protocol) so that these edges can go
REPORT_DEBT = {("rtrl_moe.report.longrange", "rtrl_moe.longrange.protocol"),
               ("rtrl_moe.report.longrange", "rtrl_moe.longrange.experiment")}
#: the command-line convention every CLI shares (issue 33); it imports nothing of rtrl_moe
ARGTYPES = "rtrl_moe.argtypes"


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def read_package(root: Path = PACKAGE) -> dict:
    """{module name: (source, is_package)} of every .py file below root."""
    out = {}
    for p in sorted(root.rglob("*.py")):
        parts = p.relative_to(root.parent).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        out[name] = (p.read_text(encoding="utf-8"), is_package)
    return out


def imports_of(module: str, source: str, is_package: bool, known) -> list:
    """[(imported module, line)]: every import statement anywhere in the module, relative ones
    resolved. ``from X import y`` names X.y where that is a module of the package, else X."""
    package = module if is_package else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module
            for a in node.names:
                sub = f"{base}.{a.name}"
                out.append((sub if sub in known else base, node.lineno))
    return list(dict.fromkeys(out))  # `from X import a, b` is one edge to X


def rule_of(src: str) -> str | None:
    if src == ARGTYPES:
        return "records"          # a leaf, like the records: nothing of rtrl_moe outside itself
    if within(src, "rtrl_moe.report"):
        return "report"
    if within(src, "rtrl_moe.records"):
        return "records"
    if within(src, "rtrl_moe.bench"):
        return "bench"
    if any(within(src, lib) for lib in LIBRARY):
        return "library"
    return None


def forbidden(src: str, dst: str) -> str | None:
    """Why the edge src -> dst breaks the layers, or None if it is allowed."""
    rule = rule_of(src)
    ours = within(dst, "rtrl_moe")
    if rule == "report":
        if within(dst, "torch"):
            return "the report reads records; it never needs torch"
        if ours and not (within(dst, "rtrl_moe.report") or within(dst, "rtrl_moe.records")
                         or dst == ARGTYPES or (src, dst) in REPORT_DEBT):
            return "the report may import only rtrl_moe.records"
    elif rule == "records":
        if ours and not within(dst, "rtrl_moe.records"):
            return "the records import nothing of rtrl_moe outside themselves"
    elif rule == "bench":
        if within(dst, "rtrl_moe.report") and (src, dst) not in ALLOWED:
            return "the bench writes records; the report reads them (only `bench report` may call it)"
    elif rule == "library":
        if any(within(dst, f"rtrl_moe.{up}") for up in ("bench", "report", "records", "train")):
            return "the library does not know the harness around it"
    return None


def violations(modules: dict, rule: str | None = None) -> list:
    """'src:line -> dst (why)' for every forbidden edge (of the modules under one rule, if given)."""
    known = set(modules)
    out = []
    for src, (source, is_package) in sorted(modules.items()):
        if rule is not None and rule_of(src) != rule:
            continue
        for dst, line in imports_of(src, source, is_package, known):
            why = forbidden(src, dst)
            if why:
                out.append(f"{src}:{line} -> {dst} ({why})")
    return out


MODULES = read_package()


def test_the_walk_sees_the_package():
    assert {"rtrl_moe.report", "rtrl_moe.report.__main__", "rtrl_moe.records", "rtrl_moe.bench.__main__",
            "rtrl_moe.moe"} <= set(MODULES)
    assert ("rtrl_moe.records", 17) in imports_of(
        "rtrl_moe.report.data", "\n" * 16 + "from rtrl_moe.records import load_results\n", False, set(MODULES))


@pytest.mark.parametrize("rule", ["report", "records", "bench", "library"])
def test_no_import_runs_up_or_sideways(rule):
    assert violations(MODULES, rule) == []


def test_a_forbidden_edge_is_reported():
    # relative, inside a function, and `from .. import name` of a module: all are seen
    fake = {"rtrl_moe.report.fake": ("import json\n\n\ndef f():\n    from ..bench import point\n"
                                     "    from .. import moe\n    import torch\n", False),
            "rtrl_moe.bench.point": ("", False), "rtrl_moe.moe": ("", False),
            "rtrl_moe.records.fake": ("from ..learners import make_learner\n", False),
            "rtrl_moe.learners.fake": ("from rtrl_moe.records import append_record\n", False),
            "rtrl_moe.learners": ("", True)}
    found = violations(dict(fake, **{"rtrl_moe.records": ("", True)}))
    assert [v.split(" (")[0] for v in found] == [
        "rtrl_moe.learners.fake:1 -> rtrl_moe.records",
        "rtrl_moe.records.fake:1 -> rtrl_moe.learners",
        "rtrl_moe.report.fake:5 -> rtrl_moe.bench.point",
        "rtrl_moe.report.fake:6 -> rtrl_moe.moe",
        "rtrl_moe.report.fake:7 -> torch"]


def test_only_the_bench_report_alias_may_call_the_report():
    mods = {"rtrl_moe.report": ("", True),
            "rtrl_moe.bench.__main__": ("def main():\n    from rtrl_moe.report import build\n", False),
            "rtrl_moe.bench.sweep": ("from ..report import build\n", False)}
    assert [v.split(" (")[0] for v in violations(mods)] == ["rtrl_moe.bench.sweep:1 -> rtrl_moe.report"]
