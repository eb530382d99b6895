"""The ORM listeners of the write path, installed by one explicit call from each entry point.

Every process that writes rows (the API, a job worker, a script of yours) calls `install_write_path()`
once before its first write: tenant scoping, the job hooks enqueued in the writing transaction, and
the one change NOTIFY per committed transaction. Nothing is installed by importing a module.
"""

from __future__ import annotations

from .jobqueue.hooks import install_hooks
from .realtime.events import install_change_events
from .tenancy import install_tenancy


def install_write_path() -> None:
    """Idempotent: the app, the worker and tests may all call it."""
    install_tenancy()
    install_hooks()
    install_change_events()
