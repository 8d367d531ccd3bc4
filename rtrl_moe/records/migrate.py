"""Give records measured before behaviour versions the versions they measured, where that is
known: exactly when the source they measured is byte-identical to the source at the commit
where versions were introduced (their stored code fingerprint equals that commit's). Every
unit's version there is :data:`INITIAL_VERSION` by definition, so such a record measured
version 1 of each of its units. The others stay without versions, hence stale
(``versions.staleness`` decides them by their fingerprint against today's source).

``scripts/migrate_versions.py`` runs it over results files.
"""
from __future__ import annotations

import subprocess
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path
from typing import Callable, Iterable, Optional

from .provenance import stale_parts
from .versions import FIELD, units_of

#: main's commit just before behaviour versions: the source every unit's version 1 describes
BASE_REV = "85b68ec"
INITIAL_VERSION = 1
#: stored beside the stamped versions, so a reader can tell a migrated record from a measured one
MIGRATED_FIELD = "versions_migrated_from"


def package_at(rev: str, repo: str, into: str) -> str:
    """Extract ``rtrl_moe/`` of ``rev`` under ``into``; return the package's path."""
    blob = subprocess.run(["git", "-C", repo, "archive", "--format=tar", rev, "rtrl_moe"],
                          check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(blob)) as tar:
        tar.extractall(into, filter="data")
    return str(Path(into) / "rtrl_moe")


def migrate(records: Iterable[dict], base_root: str,
            extra_units: Optional[Callable[[dict], Iterable[str]]] = None,
            rev: str = BASE_REV) -> tuple[list[dict], int]:
    """``(records, number migrated)``: each record without versions whose fingerprint equals
    the base source's (``base_root``, a package folder) gets ``versions`` = every unit it
    measured (``units_of`` its config plus ``extra_units(record)``) at version 1. Records with
    versions, without a fingerprint, or whose source differed are returned unchanged."""
    out, n = [], 0
    for rec in records:
        if not rec.get(FIELD) and stale_parts(rec, root=base_root) == []:
            units = set(units_of(rec.get("config", {})))
            if extra_units is not None:
                units |= set(extra_units(rec))
            if units:
                rec = {**rec, FIELD: {u: INITIAL_VERSION for u in sorted(units)},
                       MIGRATED_FIELD: rev}
                n += 1
        out.append(rec)
    return out, n


def migrate_with_base(records: list[dict], repo: str, rev: str = BASE_REV,
                      extra_units=None) -> tuple[list[dict], int]:
    """:func:`migrate` against ``rev``'s source, extracted from the git repository ``repo``."""
    with tempfile.TemporaryDirectory(prefix="versions-base-") as tmp:
        return migrate(records, package_at(rev, repo, tmp), extra_units, rev)
