"""JSON CRUD routes for any resource: list (paginated), get, create, update, delete.

Written once and parametrised by each resource's description, so fixes here reach every resource.
Writes go through writes.py (the user's rules, then commit); tenant scoping is tenancy.py's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any

import sqlalchemy as SA
from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel

from . import writes
from .deps import CallerDep, SessionDep
from .rules import Rules
from .schemas import M, Page, Resource

RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]
MAX_PAGE = 200


def _with_body(endpoint: Callable[..., Any], schema: type[BaseModel]) -> Callable[..., Any]:
    """Give the generic endpoint its resource's body type; FastAPI reads it from the annotations."""
    endpoint.__annotations__ = {**endpoint.__annotations__, "payload": schema}
    return endpoint


def crud_router(resource: Resource[M], rules: Rules) -> APIRouter:
    model = resource.model
    router = APIRouter(prefix=resource.path, tags=[resource.name])

    @router.get("", response_model=Page[resource.read], summary=f"List {resource.path.strip('/')}")  # type: ignore[name-defined]
    async def list_rows(
        session: SessionDep,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
        offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
    ) -> dict[str, Any]:
        total = await session.scalar(SA.select(SA.func.count()).select_from(model)) or 0
        rows: Sequence[M] = (
            await session.scalars(SA.select(model).order_by(model.id).limit(limit).offset(offset))
        ).all()
        return {"items": rows, "total": total, "limit": limit, "offset": offset}

    @router.get("/{row_id}", response_model=resource.read, summary=f"Get a {resource.name}")
    async def get_row(session: SessionDep, row_id: RowId) -> M:
        return await writes.load(session, resource, row_id)

    async def create_row(session: SessionDep, caller: CallerDep, payload: BaseModel) -> M:
        return await writes.create(session, resource, rules, caller, payload.model_dump())

    async def update_row(session: SessionDep, caller: CallerDep, row_id: RowId, payload: BaseModel) -> M:
        data = payload.model_dump(exclude_unset=True)
        return await writes.update(session, resource, rules, caller, row_id, data)

    router.add_api_route(
        "",
        _with_body(create_row, resource.create),
        methods=["POST"],
        status_code=status.HTTP_201_CREATED,
        response_model=resource.read,
        summary=f"Create a {resource.name}",
    )
    router.add_api_route(
        "/{row_id}",
        _with_body(update_row, resource.patch),
        methods=["PATCH"],
        response_model=resource.read,
        summary=f"Update a {resource.name}",
    )

    @router.delete("/{row_id}", status_code=status.HTTP_204_NO_CONTENT, summary=f"Delete a {resource.name}")
    async def delete_row(session: SessionDep, caller: CallerDep, row_id: RowId) -> Response:
        await writes.delete(session, resource, rules, caller, row_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return router
