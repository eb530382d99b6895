"""What a job run gets: its message, the restored tenant, and a session scoped to that tenant."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as SA
from sqlalchemy import orm as ORM

from ..models import TenantScoped
from ..resources import RESOURCES
from ..tenancy import TENANT_KEY

# Set by the TenantContext middleware around each job run; read through `current_tenant`.
JOB_TENANT: ContextVar[str | None] = ContextVar("forge_job_tenant", default=None)


def current_tenant() -> str | None:
    """The tenant of the job running in this thread (set by the TenantContext middleware)."""
    return JOB_TENANT.get()


@dataclass
class JobContext:
    """One run of one message. `session` is scoped to `tenant_id` and commits when the job returns."""

    kind: str
    message_id: str
    tenant_id: str | None
    attempt: int
    open_session: Callable[[], ORM.Session] = field(repr=False)
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    opened: ORM.Session | None = field(default=None, init=False, repr=False)

    @property
    def session(self) -> ORM.Session:
        """Opened on first use, so a job that never touches the database costs it nothing."""
        if self.opened is None:
            self.opened = self.open_session()
            self.opened.info[TENANT_KEY] = self.tenant_id
        return self.opened

    @property
    def resource(self) -> str | None:
        """The resource whose write enqueued this job (None for scheduled or hand-enqueued jobs)."""
        value = self.kwargs.get("resource")
        return value if isinstance(value, str) else None

    @property
    def row_id(self) -> int | None:
        value = self.kwargs.get("id")
        return value if isinstance(value, int) else None

    def row(self) -> TenantScoped | None:
        """The committed row this job is about, loaded through the tenant-scoped session.

        None when it was deleted since, or when it belongs to another tenant (the session cannot see it).
        """
        if self.resource is None or self.row_id is None:
            return None
        model = next((r.model for r in RESOURCES if r.name == self.resource), None)
        if model is None:
            raise LookupError(f"job {self.kind}: unknown resource {self.resource!r}")
        row: TenantScoped | None = self.session.scalar(SA.select(model).where(model.id == self.row_id))
        return row
