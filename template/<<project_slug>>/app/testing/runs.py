"""What a test of a user's worker gets back: one run of a job kind, driven the way production drives it.

Kept apart from the worker machinery in `jobs.py` so the public module can name these types cheaply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class JobRun:
    """One finished run: which row's write enqueued it, the tenant it carried, and its error if it raised."""

    kind: str
    resource: str
    row_id: int
    tenant_id: str
    error: str | None


RunJob = Callable[[str], JobRun]
