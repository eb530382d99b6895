"""JSON CRUD routes for any resource: list (paginated), get, create, update, delete.

Written once and parametrised by each resource's model and schemas, so fixes here reach every
resource. Tenant scoping is not done here: tenancy.py filters every ORM statement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Generic, TypeVar

import sqlalchemy as SA
from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, model_validator
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from .deps import SessionDep
from .models import TenantScoped

M = TypeVar("M", bound=TenantScoped)
T = TypeVar("T")

RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]
MAX_PAGE = 200


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class CreateSchema(BaseModel):
    """Unknown fields are an error, so a typo is a 422 rather than silently dropped data."""

    model_config = ConfigDict(extra="forbid")


class ReadSchema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PatchSchema(BaseModel):
    """Every field may be left out; a required field may not be set to null.

    Which fields are required is taken from the resource's create schema (see `Resource`).
    """

    model_config = ConfigDict(extra="forbid")
    required: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _required_not_null(self) -> PatchSchema:
        nulls = sorted(name for name in self.model_fields_set & self.required if getattr(self, name) is None)
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null")
        return self


@dataclass(frozen=True)
class Resource(Generic[M]):
    name: str
    path: str
    model: type[M]
    create: type[CreateSchema]
    patch: type[PatchSchema]
    read: type[ReadSchema]

    def __post_init__(self) -> None:
        self.patch.required = frozenset(
            name for name, field in self.create.model_fields.items() if field.is_required()
        )


def _with_body(endpoint: Callable[..., Any], schema: type[BaseModel]) -> Callable[..., Any]:
    """Give the generic endpoint its resource's body type; FastAPI reads it from the annotations."""
    endpoint.__annotations__ = {**endpoint.__annotations__, "payload": schema}
    return endpoint


async def _commit(session: AsyncSession, resource: Resource[Any]) -> None:
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


def _reason(exc: DBAPIError) -> str:
    diag = getattr(exc.orig, "diag", None)
    detail = getattr(diag, "message_detail", None) or getattr(diag, "message_primary", None)
    return str(detail or exc.orig)


def crud_router(resource: Resource[M]) -> APIRouter:
    model = resource.model
    router = APIRouter(prefix=resource.path, tags=[resource.name])
    not_found = f"{resource.name} not found"

    async def load(session: AsyncSession, row_id: int) -> M:
        row = await session.scalar(SA.select(model).where(model.id == row_id))
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=not_found)
        return row

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
        return await load(session, row_id)

    async def create_row(session: SessionDep, payload: BaseModel) -> M:
        row = model(**payload.model_dump())
        session.add(row)
        await _commit(session, resource)
        await session.refresh(row)  # answer with what was stored (e.g. NUMERIC scale), as GET will
        return row

    async def update_row(session: SessionDep, row_id: RowId, payload: BaseModel) -> M:
        row = await load(session, row_id)
        for key, value in payload.model_dump(exclude_unset=True).items():
            setattr(row, key, value)
        await _commit(session, resource)
        await session.refresh(row)
        return row

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
    async def delete_row(session: SessionDep, row_id: RowId) -> Response:
        await session.delete(await load(session, row_id))
        await _commit(session, resource)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return router
