"""The one write path of a resource, shared by the JSON API and the live pages' forms.

load -> the user's rule -> flush -> commit, mapping what the database refuses to a 4xx: a unique
clash is 409, a value PostgreSQL rejects is 422, a row deleted by a concurrent request is 404.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import sqlalchemy as SA
from fastapi import HTTPException, status
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import ObjectDeletedError, StaleDataError

from .auth import Caller
from .models import TenantScoped
from .rules import Rejected, Rules, Write
from .schemas import Resource

M = TypeVar("M", bound=TenantScoped)


def not_found(resource: Resource[Any]) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=f"{resource.name} not found")


def rejected(exc: Rejected) -> HTTPException:
    return HTTPException(exc.status, detail=exc.detail())


async def load(session: AsyncSession, resource: Resource[M], row_id: int, *, for_write: bool = False) -> M:
    """The row, or 404. `for_write` locks it (FOR UPDATE), so of two requests racing to change or
    delete one row the second waits, then sees the first's result: a deleted row is a clean 404."""
    model = resource.model
    query = SA.select(model).where(model.id == row_id)
    row = await session.scalar(query.with_for_update() if for_write else query)
    if row is None:
        raise not_found(resource)
    return row


async def commit(session: AsyncSession, resource: Resource[Any]) -> None:
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail=f"{resource.name} conflicts with an existing row: {_reason(exc)}"
        ) from None
    except DataError as exc:  # a value PostgreSQL refuses that validation let through
        await session.rollback()
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=_reason(exc)) from None
    except StaleDataError:  # the row was deleted between our read and our write
        await session.rollback()
        raise not_found(resource) from None


async def _run(rule: Any, write: Write[Any]) -> None:
    if rule is not None:
        try:
            await rule(write)
        except Rejected as exc:
            raise rejected(exc) from None


async def create(
    session: AsyncSession, resource: Resource[M], rules: Rules, caller: Caller, data: Mapping[str, Any]
) -> M:
    row = resource.model(**data)
    await _run(rules.before_create, Write(row, caller, session, data))
    session.add(row)
    await commit(session, resource)
    await session.refresh(row)  # answer with what was stored (e.g. NUMERIC scale), as GET will
    return row


async def update(
    session: AsyncSession,
    resource: Resource[M],
    rules: Rules,
    caller: Caller,
    row_id: int,
    data: Mapping[str, Any],
) -> M:
    row = await load(session, resource, row_id, for_write=True)
    for key, value in data.items():
        setattr(row, key, value)
    await _run(rules.before_update, Write(row, caller, session, data))
    await commit(session, resource)
    try:
        await session.refresh(row)
    except (InvalidRequestError, ObjectDeletedError):  # deleted by another request since our commit
        raise not_found(resource) from None
    return row


async def delete(
    session: AsyncSession, resource: Resource[Any], rules: Rules, caller: Caller, row_id: int
) -> None:
    row = await load(session, resource, row_id, for_write=True)
    await _run(rules.before_delete, Write(row, caller, session, {}))
    await session.delete(row)
    await commit(session, resource)


def _reason(exc: DBAPIError) -> str:
    diag = getattr(exc.orig, "diag", None)
    detail = getattr(diag, "message_detail", None) or getattr(diag, "message_primary", None)
    return str(detail or exc.orig)
