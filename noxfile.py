"""nox sessions for rtrl_moe: `nox -l` lists them, `nox -s NAME [-- ARGS]` runs one.

Every session installs torch==2.13.0 through the project's own pin (pyproject.toml), so on a
CPU machine pip takes the CPU wheel; virtualenvs are reused when their requirements did not
change, so a second run only reinstalls the project itself (editable, a few seconds).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests"]
nox.options.error_on_missing_interpreters = False

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"  # the interpreter running nox
ASV = ("asv>=0.6.4", "virtualenv>=20.24")
#: asv --bench regex of every benchmark whose name does not mention CUDA or NVML
NOT_CUDA = r"^(?!.*(CUDA|Cuda|Nvml)).*$"


#: what the report session imports (rtrl_moe's bench and report extras)
REPORT_MODULES = ("rtrl_moe", "torch", "psutil", "tqdm", "pandas", "jsonschema", "matplotlib",
                  "jinja2")


def _this_checkout_installed_here() -> bool:
    """True when nox runs from an environment that already holds this checkout (editable) and the
    report's extras: the README's main command (``.venv/bin/nox`` after ``pip install -e
    '.[bench,report,dev]'``). The report session then runs in it instead of building a second
    virtualenv with its own torch (a minute or more and about 1 GB on a fresh clone)."""
    import importlib.util
    try:
        spec = importlib.util.find_spec("rtrl_moe")
        if spec is None or spec.origin is None or Path(spec.origin).resolve().parents[1] != ROOT:
            return False
        return all(importlib.util.find_spec(m) is not None for m in REPORT_MODULES[1:])
    except (ImportError, ValueError):
        return False


#: the report session's environment: nox's own where it already has the project, else a venv
REPORT_IN_PLACE = _this_checkout_installed_here()


def _install_project(session: nox.Session, extras: str = "") -> None:
    spec = f".[{extras}]" if extras else "."
    session.install("-e", spec)


def _git(*args: str) -> str:
    out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip() or f"git {' '.join(args)} failed")
    return out.stdout.strip()


def _asv_prepare(session: nox.Session) -> None:
    """asv needs a machine description once per machine; --yes takes the defaults."""
    session.install(*ASV)
    session.run("asv", "machine", "--yes", "--config", str(ROOT / "asv.conf.json"), silent=True)
    try:
        if _git("status", "--porcelain", "--untracked-files=no"):
            session.warn("asv benchmarks committed code only: uncommitted changes are not measured")
    except RuntimeError:
        pass


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite (pytest; extra arguments go to pytest)."""
    _install_project(session, "test")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(python=False if REPORT_IN_PLACE else PYTHON)
def report(session: nox.Session) -> None:
    """Sweep the quick preset into local/results/, render local/reports/ (git-ignored, so the
    checkout stays clean); -- --results results/ --out reports/ refreshes the committed ones.
    Run from the project's own venv (.venv/bin/nox), it uses that venv instead of a new one."""
    parser = argparse.ArgumentParser(prog="nox -s report --")
    parser.add_argument("--preset", default="quick",
                        help="sweep preset of rtrl_moe/bench/presets.py: quick (default, the "
                             "points that decide on a new machine, ~3 min), compiled, long, "
                             "train, docs, docs-scale, frontier, full, gpu")
    parser.add_argument("--no-sweep", action="store_true", help="only re-render from --results")
    parser.add_argument("--results", default="local/results/",
                        help="results folder; the sweep appends to RESULTS/PRESET.jsonl "
                             "(default: local/results/, git-ignored)")
    parser.add_argument("--out", default="local/reports/",
                        help="report output folder (default: local/reports/, git-ignored)")
    args, extra = parser.parse_known_args(session.posargs)
    if REPORT_IN_PLACE:
        python = sys.executable
        session.log(f"running in nox's own environment ({sys.prefix}): it holds this checkout "
                    "and the report's extras")
    else:
        python = "python"
        _install_project(session, "bench,report")
    if not args.no_sweep:
        out = os.path.join(args.results, f"{args.preset}.jsonl")
        session.run(python, "-m", "rtrl_moe.bench", "sweep", "--preset", args.preset,
                    "--out", out, *extra, external=True)
    session.run(python, "-m", "rtrl_moe.report", "--results", args.results, "--out", args.out,
                external=True)
    session.log(f"report written to {os.path.join(args.out, 'index.html')} and "
                f"{os.path.join(args.out, 'REPORT.md')} (from the records in {args.results})")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """asv run on the current commit (HEAD), then asv publish (-- extra args go to asv run)."""
    _asv_prepare(session)
    conf = str(ROOT / "asv.conf.json")
    args = list(session.posargs) or ["HEAD^!"]
    if not any(a.startswith(("--bench", "-b")) for a in args) and not shutil.which("nvidia-smi"):
        # one line instead of one "skipped" per GPU benchmark and parameter
        session.log("no GPU (nvidia-smi not found): the CUDA benchmarks are left out")
        args = ["--bench", NOT_CUDA, *args]
    session.run("asv", "run", "--config", conf, "--show-stderr", *args)
    session.run("asv", "publish", "--config", conf)
    session.log("history site: .asv/html/index.html; its pages load their JavaScript from the "
                "network: open them in a connected browser, or serve them with asv preview")


def _default_base() -> str:
    """The merge base of HEAD with main; HEAD's parent when HEAD is on main itself."""
    head = _git("rev-parse", "HEAD")
    for ref in ("main", "origin/main"):
        try:
            base = _git("merge-base", "HEAD", ref)
        except RuntimeError:
            continue
        if base != head:
            return base
        break
    return _git("rev-parse", "HEAD^")


@nox.session(python=PYTHON)
def regress(session: nox.Session) -> None:
    """HEAD vs a base commit with CI's own check (rtrl_moe.bench.regress, its tolerances):
    fails on a deterministic regression, alerts on time (-- --base REF --time-factor F)."""
    parser = argparse.ArgumentParser(prog="nox -s regress --")
    parser.add_argument("--base", default=None,
                        help="commit to compare with (default: merge base with main, or HEAD^)")
    parser.add_argument("--time-factor", default=None,
                        help="step-time ratio that raises an alert (default: regress.py's)")
    args = parser.parse_args(session.posargs)
    try:
        base = _git("rev-parse", args.base or _default_base())
        head = _git("rev-parse", "HEAD")
    except RuntimeError as exc:
        session.skip(f"no base commit to compare with ({exc})")
    if base == head:
        session.skip("base and head are the same commit: nothing to compare")
    _install_project(session, "bench")
    out = ROOT / ".nox" / "regress-out"
    tree = ROOT / ".nox" / "regress-base"
    session.run("git", "worktree", "remove", "--force", str(tree), external=True,
                success_codes=[0, 128], silent=True)
    session.run("git", "worktree", "add", "--detach", "--quiet", str(tree), base, external=True)
    try:
        session.log(f"comparing {head[:8]} (head, the work tree) with {base[:8]} (base)")
        session.run("python", "-m", "rtrl_moe.bench.regress", "collect", "--points",
                    str(ROOT / ".ci" / "points.json"), "--checkout", f"head={ROOT}",
                    "--checkout", f"base={tree}", "--out-dir", str(out))
        factor = ["--time-factor", args.time_factor] if args.time_factor else []
        session.run("python", "-m", "rtrl_moe.bench.regress", "compare", str(out / "base.json"),
                    str(out / "head.json"), *factor)
    finally:
        session.run("git", "worktree", "remove", "--force", str(tree), external=True,
                    success_codes=[0, 128], silent=True)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check over the library, benchmarks, tests, CI scripts and noxfile."""
    session.install("ruff>=0.5")
    targets = [p for p in ("rtrl_moe", "benchmarks", "tests", ".ci", "noxfile.py")
               if (ROOT / p).exists()]
    session.run("ruff", "check", *targets, *session.posargs)
