"""The train package's modules import one way only (issue 33 broke cli <-> loop <-> checkpoint):
cli -> loop -> checkpoint, each raising errors.UsageError; read with ast, imports inside
functions included."""
import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "rtrl_moe" / "train"


def _edges() -> dict:
    out = {}
    for f in PKG.glob("*.py"):
        mods = set()
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    mods.add(node.module.split(".")[0])
                else:
                    mods.update(a.name for a in node.names)
        out[f.stem] = mods & {p.stem for p in PKG.glob("*.py")}
    return out


def test_no_module_of_train_imports_one_that_imports_it_back():
    edges = _edges()

    def reaches(a, b, seen=()):
        return any(n == b or (n not in seen and reaches(n, b, seen + (n,))) for n in edges[a])
    cycles = [m for m in edges if reaches(m, m)]
    assert cycles == [], f"import circle through {cycles}: {edges}"
    assert "loop" in edges["cli"] and "checkpoint" in edges["loop"]
    assert {"cli", "loop"}.isdisjoint(edges["checkpoint"]) and "cli" not in edges["loop"]
