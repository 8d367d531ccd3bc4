"""Value parsers for argparse shared by the two CLIs (``train`` and ``bench``).

Each raises ``argparse.ArgumentTypeError`` with one line that names what was expected, which
argparse turns into ``argument --flag: <message>``.
"""
from __future__ import annotations

import argparse
import math


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
