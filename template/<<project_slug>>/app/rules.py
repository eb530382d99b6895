"""Business rules of a resource: the user's hooks that run inside the write, before it is flushed.

A resource's rules live in the user's `rules/<name>.py` (scaffolded once). Each hook gets a `Write`:
the row, the caller, the request's session (still in the transaction, so rows it adds commit or roll
back with the write) and the fields the request set. Raising `Rejected` answers a 4xx with the
user's message; anything else raised is a bug and a 500, as in any route.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from .auth import Caller
from .models import TenantScoped

M = TypeVar("M", bound=TenantScoped)

HOOK_NAMES = ("before_create", "before_update", "before_delete")


@dataclass(frozen=True, slots=True)
class Write(Generic[M]):
    """One write about to happen. `changes` holds the fields the request set (empty for a delete);
    on update they are already applied to `row`, so a rule sees the row as it will be stored."""

    row: M
    caller: Caller
    session: AsyncSession
    changes: Mapping[str, Any]


class Rejected(Exception):
    """Refuse a write: the request answers `status` (422 unless told) with `message`, naming `field`."""

    def __init__(self, message: str, *, field: str | None = None, status: int = 422) -> None:
        if not 400 <= status < 500:
            raise ValueError(f"Rejected takes a 4xx status, got {status}")
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status

    def detail(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


Rule = Callable[[Write[Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Rules:
    """The hooks one rules module defines; a hook the module leaves out costs nothing."""

    before_create: Rule | None = None
    before_update: Rule | None = None
    before_delete: Rule | None = None

    @classmethod
    def of(cls, module: ModuleType) -> Rules:
        hooks: dict[str, Rule] = {}
        for name in HOOK_NAMES:
            hook = getattr(module, name, None)
            if hook is not None and not callable(hook):
                raise TypeError(
                    f"{module.__name__}.{name} must be an async function, not {type(hook).__name__}"
                )
            if hook is not None:
                hooks[name] = hook
        return cls(**hooks)


NO_RULES = Rules()


def rules_by_resource(modules: Mapping[str, ModuleType]) -> dict[str, Rules]:
    return {name: Rules.of(module) for name, module in modules.items()}
