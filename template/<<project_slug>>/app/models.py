"""Declarative base shared by every resource model: id, tenant and timestamps come from here."""

from __future__ import annotations

import datetime

import sqlalchemy as SA
from sqlalchemy import orm as ORM

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(ORM.DeclarativeBase):
    metadata = SA.MetaData(naming_convention=NAMING_CONVENTION)


class TenantScoped:
    """Rows every query is filtered on by tenant (see tenancy.py); ids are per table, not per tenant."""

    # Fetch server-side defaults (timestamps) with INSERT/UPDATE ... RETURNING: no lazy load after commit.
    __mapper_args__ = {"eager_defaults": True}

    id: ORM.Mapped[int] = ORM.mapped_column(SA.BigInteger, SA.Identity(), primary_key=True)
    tenant_id: ORM.Mapped[str] = ORM.mapped_column(SA.String(64), index=True)
    created_at: ORM.Mapped[datetime.datetime] = ORM.mapped_column(
        SA.DateTime(timezone=True), server_default=SA.func.now()
    )
    updated_at: ORM.Mapped[datetime.datetime] = ORM.mapped_column(
        SA.DateTime(timezone=True), server_default=SA.func.now(), onupdate=SA.func.now()
    )
