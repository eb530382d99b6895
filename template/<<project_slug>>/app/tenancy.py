"""Tenant isolation for every ORM statement, so no route or job can forget the filter.

The tenant lives in `session.info["tenant_id"]` (set by the request dependency or the job runner).
Every SELECT/UPDATE/DELETE through the ORM gets `tenant_id = :tenant` on each TenantScoped entity,
and new rows are stamped with it. Core statements (`session.execute(insert(...))`) bypass this,
as they bypass mapper hooks: scope them yourself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy import orm as ORM

from .models import TenantScoped

TENANT_KEY = "tenant_id"


class TenantMissing(RuntimeError):
    """A tenant-scoped row was written through a session that has no tenant."""


def tenant_of(session: ORM.Session) -> str | None:
    value = session.info.get(TENANT_KEY)
    return value if isinstance(value, str) else None


def _scope_statements(state: ORM.ORMExecuteState) -> None:
    tenant = tenant_of(state.session)
    if tenant is None or state.is_column_load or state.is_relationship_load:
        return
    state.statement = state.statement.options(
        ORM.with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tenant, include_aliases=True)
    )


def _stamp_new_rows(session: ORM.Session, _context: Any, _instances: Any) -> None:
    tenant = tenant_of(session)
    for obj in session.new:
        if not isinstance(obj, TenantScoped):
            continue
        if obj.__dict__.get("tenant_id") is None:
            if tenant is None:
                raise TenantMissing(f"{type(obj).__name__} has no tenant_id and the session has none")
            obj.tenant_id = tenant


LISTENERS = (("do_orm_execute", _scope_statements), ("before_flush", _stamp_new_rows))


def install_tenancy() -> None:
    """Scope every ORM statement of every Session in this process to its tenant (idempotent)."""
    for name, listener in LISTENERS:
        if not event.contains(ORM.Session, name, listener):
            event.listen(ORM.Session, name, listener)
