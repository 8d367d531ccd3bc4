"""The one error type of ``python -m rtrl_moe train``'s flags, in its own module so that the flags
(``cli``), the loop (``loop``) and the checkpoints (``checkpoint``) can all raise it without
importing each other: ``cli`` -> ``loop`` -> ``checkpoint``, each pair one way only."""
from __future__ import annotations

from ..build import SpecError


class UsageError(SpecError):
    """A bad flag or an impossible configuration: reported as one line, exit status 2."""
