"""Render the report: ``python -m rtrl_moe.report [--results DIR] [--out DIR]``.

The same as ``python -m rtrl_moe.bench report`` (kept as an alias), without importing the bench:
the report reads only the records. By default it reads ``local/results/`` and writes
``local/reports/`` (git-ignored, where ``nox -s report`` puts them); the committed ones are
``--results results/ --out reports/``. Errors follow rtrl_moe/argtypes.py: a ``--results``
that is missing or not a folder, or an ``--out`` that cannot be written, is one ``error:`` line
and exit 2; a bad record in the results (a malformed line) is one line and exit 1. A results
file's partial last line (a writer stopped mid-line) is skipped and said on stderr as one
``warning:`` line before anything else.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from .. import argtypes

#: git-ignored defaults, the same as nox's: the committed folders change only on purpose
DEFAULT_RESULTS = "local/results/"
DEFAULT_OUT = "local/reports/"


def build_parser() -> argtypes.Parser:
    ap = argtypes.Parser(prog="python -m rtrl_moe.report",
                         description="Render the verification report (REPORT.md, index.html, "
                                     "claims.json, figures/) from a folder of records.")
    ap.add_argument("--results", default=DEFAULT_RESULTS, metavar="DIR",
                    help=f"folder of *.jsonl records, read recursively (default: "
                         f"{DEFAULT_RESULTS}; results/ holds the committed ones)")
    ap.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                    help=f"folder to write index.html, REPORT.md, figures/ (default: "
                         f"{DEFAULT_OUT}; reports/ holds the committed ones)")
    return ap


def _writable_folder(path: Path) -> str | None:
    """Why ``path`` cannot take the report, or None: checked before the (slow) rendering."""
    if path.exists() and not path.is_dir():
        return "is a file, not a folder"
    probe = path / f".write-test-{os.getpid()}"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        return f"cannot write there ({argtypes.os_reason(e)})"
    return None


def _say_partial_lines(results: Path) -> None:
    """The report names a skipped partial last line deep inside REPORT.md; say it here first,
    one ``warning:`` line per file. Only files whose last byte is not a newline can hold one, so
    only those are read twice."""
    import warnings

    from rtrl_moe.records import ResultsError, iter_records, result_files
    for f in result_files(results):
        try:
            with open(f, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                if fh.tell() == 0:
                    continue
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) == b"\n":
                    continue
        except OSError:
            continue
        partial: list = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                for _ in iter_records(f, partial):
                    pass
            except ResultsError:
                pass                # a malformed line: the build below says it, as an error
        for where in partial:
            sys.stderr.write(f"warning: {where}: skipped a partial last line (no newline: a "
                             "writer stopped mid-line); the report leaves it out\n")


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    results = Path(args.results)
    if not results.exists():
        hint = (" (run a sweep first: nox -s report, or python -m rtrl_moe.bench sweep "
                "--preset quick)" if args.results == DEFAULT_RESULTS else "")
        return argtypes.usage_error(f"argument --results: {results}: no such folder{hint}")
    if not results.is_dir():
        return argtypes.usage_error(f"argument --results: {results}: is a file; give the folder "
                                    "that holds the *.jsonl files")
    why = _writable_folder(Path(args.out))
    if why:
        return argtypes.usage_error(f"argument --out: {args.out}: {why}")
    from rtrl_moe.records import ResultsError

    from .render import build
    try:
        _say_partial_lines(results)
        build(results, args.out)
    except ResultsError as e:
        return argtypes.failure(str(e))
    except OSError as e:
        return argtypes.failure(f"--out {args.out}: cannot write the report "
                                f"({argtypes.os_reason(e)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(argtypes.run_main(main))
