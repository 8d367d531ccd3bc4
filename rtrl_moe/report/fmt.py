"""How numbers read in the report: bytes, lengths, ratios, percentages."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

MiB = 2 ** 20


def fmt_bytes(b) -> str:
    if b is None or (isinstance(b, float) and not math.isfinite(b)):
        return "n/a"
    b = float(b)
    sign = "-" if b < 0 else ""
    b = abs(b)
    for unit, scale in (("TiB", 2 ** 40), ("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if b >= scale:
            return f"{sign}{b / scale:.3g} {unit}"
    return f"{sign}{b:.0f} B"


def fmt_value(v, unit) -> str:
    """A figure in its unit, as the report writes it."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    if unit == "B":
        return fmt_bytes(v)
    if unit == "B/token":
        return f"{fmt_bytes(v)}/token"
    if unit == "x":
        return f"{v:,.4g}x"
    if unit == "fraction":
        return f"{100 * v:.1f}%"
    return f"{v:,.4g} {unit or ''}".strip()


def fmt_num(x, digits=3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{x:.{digits}g}"


def fmt_slope(b) -> str:
    """Bytes per token; a fit residue below 1e-3 B/token is shown as 0."""
    if b is None or not math.isfinite(b):
        return "n/a"
    return "0" if abs(b) < 1e-3 else f"{b:.3g}"


def per_T(T, r) -> str:
    s = pd.Series(np.asarray(r, float), index=np.asarray(T, float)).groupby(level=0).median().sort_index()
    return ", ".join(f"T={fmt_T(t)}: {x:.3g}x" for t, x in s.items())


def fmt_T(T) -> str:
    return f"{int(T):,}"


def fmt_pct(x) -> str:
    return f"{100 * x:.1f}%"


def names(learners) -> str:
    return ", ".join(learners) if not isinstance(learners, str) else learners
