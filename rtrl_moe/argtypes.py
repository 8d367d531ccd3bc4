"""What the command lines share: value parsers for argparse, and the error convention.

The convention, the same for every command (bench, report, train, protocols, longrange, the
PonderTTT experiments): a bad input is one line on stderr, ``error: <what and why>``, never a
traceback, and the exit status says whose problem it is:

* :data:`USAGE` (2): what was typed is wrong -- a flag or value that does not parse, a file named
  on the command line that does not exist, an output place that cannot be written (checked before
  any work);
* :data:`FAILURE` (1): the command started and something outside its control failed -- a
  results file whose contents are malformed, a disk that fills, a file another run holds;
* 130: interrupted (Ctrl-C), with what finished kept.

Each parser raises ``argparse.ArgumentTypeError`` with one line that names what was expected,
which :class:`Parser` turns into ``error: argument --flag: <message>``, exit 2.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import warnings
from typing import Callable

#: exit status of a usage error (what was typed is wrong)
USAGE = 2
#: exit status of a failure outside the command's control
FAILURE = 1
#: exit status after Ctrl-C
INTERRUPTED = 130


class Parser(argparse.ArgumentParser):
    """argparse with the convention: a bad flag is one ``error:`` line (no usage block), exit 2."""

    def error(self, message):
        sys.stderr.write(f"error: {message}\n")
        raise SystemExit(USAGE)


def usage_error(message: str) -> int:
    """Print ``error: message`` and return :data:`USAGE`, for ``return usage_error(...)``."""
    sys.stderr.write(f"error: {message}\n")
    return USAGE


def failure(message: str) -> int:
    """Print ``error: message`` and return :data:`FAILURE`."""
    sys.stderr.write(f"error: {message}\n")
    return FAILURE


def os_reason(e: OSError) -> str:
    """An OSError as a few words ("Permission denied"), without errno and path noise."""
    return e.strerror or str(e) or e.__class__.__name__


@contextlib.contextmanager
def one_line_warnings():
    """Inside the block a Python warning (a results file's partial last line, a library's
    deprecation) is printed as one ``warning: ...`` line on stderr as it happens, instead of
    Python's two lines with the source line."""
    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(str(message).split())
        sys.stderr.write(f"warning: {text}\n")
        sys.stderr.flush()
    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def run_main(main: Callable[[], int]) -> int:
    """Run a command's ``main`` with the convention's edges: Ctrl-C is one line and exit 130, a
    closed pipe (``... | head``) ends quietly, an ``OSError`` that escaped is one line, exit 1.
    A traceback never reaches the user."""
    try:
        with one_line_warnings():
            return main()
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return INTERRUPTED
    except BrokenPipeError:
        # the reader went away: point stdout at nothing so the interpreter's flush is quiet
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return FAILURE
    except OSError as e:
        where = f" ({e.filename})" if getattr(e, "filename", None) else ""
        return failure(f"{os_reason(e)}{where}")


def integer(minimum: int):
    """An int >= ``minimum``."""
    what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum} ({what}), got {value}")
        return value
    return parse


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def csv(text: str) -> list[str]:
    """A non-empty comma-separated list."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {text!r}")
    return items


def _int_list(text: str, minimum: int, what: str) -> list[int]:
    out = []
    for t in csv(text):
        try:
            v = int(t)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {t!r}") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {v}")
        out.append(v)
    return out


def int_csv(text: str) -> list[int]:
    """A comma-separated list of positive integers (lengths)."""
    return _int_list(text, 1, "positive integers")


def nonneg_int_csv(text: str) -> list[int]:
    """A comma-separated list of integers >= 0 (seeds)."""
    return _int_list(text, 0, "integers >= 0")


def json_object(text: str) -> dict:
    """A JSON object, e.g. ``'{"steps": 10}'``."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(
            f"expected a JSON object such as '{{\"steps\": 10}}', got {text!r} ({e.msg}, "
            f"column {e.colno})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object ({{...}}), got "
                                         f"{type(value).__name__} {text!r}")
    return value
