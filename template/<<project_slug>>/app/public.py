"""The public face of the generated app: the one module your own files import from `app`.

Names here stay stable across template releases (a change is announced in the CHANGELOG first);
anything else under `app/` may move in any release, and `copier update` will not fix your imports.
"""

from __future__ import annotations

from .jobqueue import JobContext, enqueue, enqueue_async, job
from .testing.runs import JobRun, RunJob

__all__ = ["JobContext", "JobRun", "RunJob", "enqueue", "enqueue_async", "job"]
