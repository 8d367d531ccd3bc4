"""rtrl_moe.records: the results store, shared by the bench (writer) and the report (reader).

It knows records, not models or learners: ``schema`` (version, required fields, validation),
``store`` (append atomically, read a file or directory into records or a DataFrame, resume
keys), ``machine`` (machine, commit and run identity written into every record),
``versions`` (the behaviour versions a record measured, read from the source's ``VERSIONS``
declarations, and :func:`staleness`), ``migrate`` (versions for records measured before them)
and ``provenance`` (the older byte fingerprints, still read for those records).
"""
from .machine import git_info, machine_info, new_run_id, utc_now
from .provenance import code_fingerprints, stale_parts
from .schema import SCHEMA_VERSION, STATUSES, ResultsError, sanitize, validate_record
from .store import (
    ResultsWarning,
    append_record,
    ensure_appendable,
    iter_records,
    load_results,
    make_record,
    read_records,
    result_files,
    stored_keys,
)
from .versions import current_versions, staleness, units_of, versions_of

__all__ = ["SCHEMA_VERSION", "STATUSES", "code_fingerprints", "stale_parts", "ResultsError", "ResultsWarning", "append_record", "ensure_appendable", "git_info",
           "iter_records", "load_results", "machine_info", "make_record", "new_run_id",
           "read_records", "result_files", "sanitize", "stored_keys", "utc_now",
           "validate_record", "current_versions", "staleness", "units_of", "versions_of"]
