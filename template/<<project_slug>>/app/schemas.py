"""What a resource is: its table, its request and response schemas, its fields and its job hooks.

Each generated `resources/<name>.py` builds one `Resource` from the Copier answers; routes, live pages,
hooks and test samples all read that one description instead of keeping their own copies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, model_validator

from .models import TenantScoped

M = TypeVar("M", bound=TenantScoped)
T = TypeVar("T")

HookEvent = Literal["after_create", "after_update"]


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


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A field as the answers declare it: `price: decimal`, `note: text optional`, `sku: str unique`."""

    name: str
    kind: str
    optional: bool = False
    unique: bool = False


@dataclass(frozen=True, slots=True)
class JobRef:
    """A job a hook enqueues: its kind (the worker module's name) and its one queue."""

    kind: str
    queue: str = "default"


@dataclass(frozen=True)
class Resource(Generic[M]):
    name: str
    path: str
    model: type[M]
    create: type[CreateSchema]
    patch: type[PatchSchema]
    read: type[ReadSchema]
    fields: tuple[FieldSpec, ...] = ()
    hooks: Mapping[HookEvent, tuple[JobRef, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.patch.required = frozenset(
            name for name, field in self.create.model_fields.items() if field.is_required()
        )
