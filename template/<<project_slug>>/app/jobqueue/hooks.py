"""Schema hooks -> transactional jobs, from the `hooks` of each resource.

Each resource model gets SQLAlchemy mapper `after_insert` / `after_update` listeners that enqueue
its jobs on the flush's own connection (see enqueue.py): rollback, including a savepoint rollback,
leaves no job; commit leaves exactly one per hook. `after_update` fires for every dirty object even
when nothing changed, so it is gated on attribute history. Bulk and Core statements
(`session.execute(insert(...))`, `update(...)`) fire no mapper events and enqueue nothing.
Jobs are named by kind only: the app never imports the worker modules (the project's `jobs/` package).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy import orm as ORM

from ..models import TenantScoped
from ..resources import RESOURCES
from ..schemas import HookEvent, JobRef
from .enqueue import enqueue_all_on

# resource -> event -> jobs: the `hooks` of each resource's one description (resources/<name>.py).
HOOKS: dict[str, Mapping[HookEvent, tuple[JobRef, ...]]] = {r.name: r.hooks for r in RESOURCES if r.hooks}

# Every kind a hook names, with its one queue: the worker refuses to start without an actor for each.
KIND_QUEUES: dict[str, str] = {
    ref.kind: ref.queue for events in HOOKS.values() for refs in events.values() for ref in refs
}

# Timestamps move on every real update; they are not a reason to run a job.
IGNORED_ATTRIBUTES = frozenset({"updated_at"})

Listener = Callable[[ORM.Mapper[Any], Connection, TenantScoped], None]


def _message_kwargs(resource: str, row: TenantScoped) -> dict[str, Any]:
    return {"resource": resource, "id": row.id, "tenant_id": row.tenant_id}


def _changed(mapper: ORM.Mapper[Any], row: TenantScoped) -> bool:
    state = ORM.attributes.instance_state(row)
    return any(
        state.attrs[attr.key].history.has_changes()
        for attr in mapper.column_attrs
        if attr.key not in IGNORED_ATTRIBUTES
    )


def _listener(resource: str, jobs: tuple[JobRef, ...], *, only_if_changed: bool) -> Listener:
    def listener(mapper: ORM.Mapper[Any], connection: Connection, row: TenantScoped) -> None:
        if only_if_changed and not _changed(mapper, row):
            return
        kwargs = _message_kwargs(resource, row)
        enqueue_all_on(connection, [(ref.kind, ref.queue, kwargs) for ref in jobs])

    return listener


# Forge hook -> SQLAlchemy mapper event, and whether a no-net-change flush is skipped.
MAPPER_EVENTS: tuple[tuple[HookEvent, str, bool], ...] = (
    ("after_create", "after_insert", False),
    ("after_update", "after_update", True),
)

_installed: list[tuple[type[TenantScoped], str, Listener]] = []


def install_hooks() -> None:
    """Attach the listeners (idempotent: the app, the worker and tests may all call it)."""
    if _installed:
        return
    for resource in RESOURCES:
        for hook, mapper_event, only_if_changed in MAPPER_EVENTS:
            jobs = HOOKS.get(resource.name, {}).get(hook, ())
            if not jobs:
                continue
            listener = _listener(resource.name, jobs, only_if_changed=only_if_changed)
            event.listen(resource.model, mapper_event, listener)
            _installed.append((resource.model, mapper_event, listener))


def uninstall_hooks() -> None:
    """Detach the listeners (tests that measure writes without hooks)."""
    while _installed:
        model, mapper_event, listener = _installed.pop()
        event.remove(model, mapper_event, listener)
