"""Packaging, asv, nox and CI wiring: cheap static checks (no venv, no asv run)."""
import ast
import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _asv_conf():
    # asv.conf.json allows // comments (asv strips them); do the same
    text = "\n".join(re.sub(r"^\s*//.*$", "", line) for line in
                     (ROOT / "asv.conf.json").read_text().splitlines())
    return json.loads(text)


def test_pyproject_metadata():
    p = _pyproject()["project"]
    assert p["name"] == "rtrl_moe"
    assert p["requires-python"] == ">=3.10"
    # the library alone needs torch only; the harness and the report are extras
    assert p["dependencies"] == ["torch==2.13.0"]
    extras = p["optional-dependencies"]

    def names(extra):
        return {d.split(">")[0].split("=")[0].split("[")[0].strip() for d in extras[extra]}
    assert names("bench") >= {"psutil", "nvidia-ml-py", "tqdm", "pandas"}
    assert names("report") >= {"pandas", "matplotlib", "jinja2"}
    assert names("dev") >= {"asv", "nox", "ruff"}
    assert any(d.startswith("pytest") for d in extras["test"])
    assert "rtrl_moe[bench,report,ponder,backbone,ray]" in extras["test"]   # backbone: issue 24
    assert _pyproject()["tool"]["pytest"]["ini_options"]["testpaths"] == ["tests"]


def test_package_discovery_is_flat_and_library_only():
    find = _pyproject()["tool"]["setuptools"]["packages"]["find"]
    assert find["include"] == ["rtrl_moe", "rtrl_moe.*", "ponderttt", "ponderttt.*"]


def test_asv_config():
    c = _asv_conf()
    assert c["environment_type"] == "virtualenv"
    assert c["repo"] == "."
    assert c["matrix"]["req"]["torch"] == "2.13.0"
    for key in ("env_dir", "results_dir", "html_dir"):
        assert c[key].startswith(".asv/"), key
    assert c["benchmark_dir"] == "benchmarks"


def test_benchmarks_import_without_cuda_and_are_well_formed():
    code = (
        "import importlib, pkgutil, sys, json\n"
        "import benchmarks\n"
        "mods = [importlib.import_module('benchmarks.' + m.name)\n"
        "        for m in pkgutil.iter_modules(benchmarks.__path__)]\n"
        "cuda = sys.modules['torch'].cuda.is_initialized() if 'torch' in sys.modules else False\n"
        "print(json.dumps({'cuda': cuda, 'n': len(mods)}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    info = json.loads(out.stdout)
    assert info["n"] >= 3
    assert not info["cuda"], "a benchmark module touches CUDA at import time"

    sys.path.insert(0, str(ROOT))
    try:
        import benchmarks.bench_grad_error as err
        import benchmarks.bench_memory as mem
        import benchmarks.bench_time as tim
    finally:
        sys.path.remove(str(ROOT))
    names = []
    for mod in (tim, mem, err):
        for cname, cls in vars(mod).items():
            if cname.startswith("_") or not inspect.isclass(cls):
                continue
            for attr, fn in vars(cls).items():
                if not attr.startswith(("time_", "track_")):
                    continue
                names.append(attr)
                assert len(cls.params) == len(cls.param_names)
                if attr.startswith("track_"):
                    assert getattr(fn, "unit", None), f"{cname}.{attr} has no unit"
                if mod is mem:
                    assert fn.unit in ("bytes", "flops"), attr
    for needed in ("time_step", "track_tensor_bytes_peak", "track_rss_peak",
                   "track_cuda_allocated_peak", "track_nvml_used_peak", "track_grad_rel_err"):
        assert needed in names


def test_noxfile_sessions_have_docstrings():
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    sessions = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and any(
                "session" in ast.unparse(d) for d in node.decorator_list):
            sessions[node.name] = ast.get_docstring(node)
    assert set(sessions) >= {"tests", "report", "bench", "regress", "lint"}
    assert all(sessions.values()), sessions


def test_ci_run_is_executable_bash_and_handles_no_tests():
    run = ROOT / ".ci" / "run"
    assert os.access(run, os.X_OK)
    subprocess.run(["bash", "-n", str(run)], check=True)
    text = run.read_text()
    assert re.search(r"^\s*5\)", text, re.M), "pytest exit code 5 is not handled"
    assert "git worktree add" in text
    assert (ROOT / ".ci" / "points.json").exists()
    points = json.loads((ROOT / ".ci" / "points.json").read_text())["points"]
    assert points and len({p["id"] for p in points}) == len(points)


@pytest.mark.parametrize("section", ["## Quick start", "## Set-up on GPU", "## Library API",
                                     "## Tasks and training", "## Measurement harness",
                                     "## Report", "## Dependencies"])
def test_readme_sections(section):
    assert section in (ROOT / "README.md").read_text()


def test_readme_commands():
    text = (ROOT / "README.md").read_text()
    assert ".venv/bin/pip install -e '.[bench,report,dev]' && .venv/bin/nox -s report" in text
    assert ".venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest" in text
    assert ".venv/bin/pip install -e '.[test]'" in (ROOT / ".ci" / "run").read_text()


def test_the_main_command_writes_only_where_git_does_not_look():
    """`nox -s report` (the README's main command) sweeps and renders under local/, which is
    git-ignored, so a user's run leaves `git status` clean."""
    import subprocess
    src = (ROOT / "noxfile.py").read_text()
    assert 'default="local/results/"' in src and 'default="local/reports/"' in src
    for path in ("local/results/quick.jsonl", "local/reports/index.html", ".ci/out/alerts.txt",
                 "results/quick.jsonl.lock"):
        done = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT)
        if done.returncode == 128:
            pytest.skip("not a git checkout")
        assert done.returncode == 0, f"{path} is not git-ignored"
    assert subprocess.run(["git", "check-ignore", "-q", "results/quick.jsonl"],
                          cwd=ROOT).returncode == 1
