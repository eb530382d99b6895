"""Background jobs: transactional enqueue from schema hooks, Dramatiq workers on PostgreSQL.

User code needs only `job` (declare a worker for a kind), `JobContext` (what a run gets) and
`enqueue` (add a job to the current transaction by hand). See docs/jobs.md.
"""

from __future__ import annotations

from .context import JobContext
from .enqueue import enqueue, enqueue_async
from .registry import job

__all__ = ["JobContext", "enqueue", "enqueue_async", "job"]
