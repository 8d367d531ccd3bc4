"""A tiny piece for the runner's own tests: fast, and made to crash on request."""
from __future__ import annotations

import os

#: behaviour versions of the pieces this module computes (rtrl_moe/records/versions.py)
VERSIONS = {"protocol.selftest": 1}


def selftest(seed: int, arch: str, crash: bool = False, exit_code: int = 0) -> dict:
    if crash:
        raise RuntimeError(f"selftest asked to crash (seed {seed})")
    if exit_code:
        os._exit(exit_code)        # a child that dies without a word
    return {"value": 2 * seed, "arch_seen": arch}
