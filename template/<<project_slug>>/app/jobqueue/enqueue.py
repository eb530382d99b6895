"""Transactional enqueue: a job row written on the caller's own connection, in the caller's transaction.

dramatiq-postgres' `broker.enqueue` commits on a pooled connection of its own, so a job could run
for a write that later rolls back. Here the message is built exactly as `Actor.message_with_options`
builds it, Dramatiq's enqueue middleware still runs, and the row is written on the flush's
connection with what dramatiq-postgres' ENQUEUE statement writes, NOTIFY doorbell included, for
every job of a write in one statement (one round trip however many hooks a write has). PostgreSQL
then makes the jobs visible, and rings the doorbell, only if and when the transaction (or
savepoint) commits. The statement is the library adapter's (adapters/dramatiq_postgres.py), and
tests/forge/test_jobs_contract.py checks our rows against the broker's own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dramatiq import Broker, Message
from sqlalchemy import Connection
from sqlalchemy import orm as ORM
from sqlalchemy.ext.asyncio import AsyncSession

from ..adapters.dramatiq_postgres import enqueue_parameters, enqueue_statement
from ..settings import JobsSettings
from .broker import SCHEMA, kind_options


class JobsNotConfigured(RuntimeError):
    """A hook fired in a process that never called `configure_enqueue` (its job would be lost)."""


@dataclass(frozen=True)
class Enqueuer:
    broker: Broker
    jobs: JobsSettings


# Mapper hooks are process-wide, so the broker they use is too. Several apps in one process (tests,
# an API with in-process workers) each register theirs; the newest serves, and closing one app
# leaves the others working.
_registered: list[Enqueuer] = []


def configure_enqueue(broker: Broker, jobs: JobsSettings) -> Enqueuer:
    """Make `broker`'s middleware see every transactional enqueue of this process."""
    enqueuer = Enqueuer(broker, jobs)
    _registered.append(enqueuer)
    return enqueuer


def reset_enqueue(enqueuer: Enqueuer | None = None) -> None:
    """Unregister `enqueuer` (the one `configure_enqueue` returned), or every one."""
    if enqueuer is None:
        _registered.clear()
    elif enqueuer in _registered:
        _registered.remove(enqueuer)


def current_enqueuer() -> Enqueuer:
    if not _registered:
        raise JobsNotConfigured(
            "a job hook fired but this process has no jobs broker; call "
            "app.jobqueue.enqueue.configure_enqueue(build_broker(...), settings.jobs) at start-up"
        )
    return _registered[-1]


def build_message(
    kind: str, queue: str, kwargs: Mapping[str, Any], options: Mapping[str, Any]
) -> Message[Any]:
    """The message `Actor.message_with_options(kwargs=..., **options)` would build for this kind."""
    return Message(queue_name=queue, actor_name=kind, args=(), kwargs=dict(kwargs), options=dict(options))


Job = tuple[str, str, Mapping[str, Any]]  # kind, queue, kwargs


def enqueue_all_on(connection: Connection, jobs: Sequence[Job]) -> list[Message[Any]]:
    """Insert `jobs` on `connection` in one statement: they commit or roll back with that transaction."""
    enqueuer = current_enqueuer()
    messages = [
        build_message(kind, queue, kwargs, kind_options(enqueuer.jobs, kind)) for kind, queue, kwargs in jobs
    ]
    for message in messages:
        enqueuer.broker.emit_before("enqueue", message, None)
    if messages:
        # Encoded after the enqueue middleware ran: it adds options (the trace context) to each message.
        statement = enqueue_statement(SCHEMA, len(messages))
        connection.exec_driver_sql(statement, enqueue_parameters(messages))
    for message in messages:
        enqueuer.broker.emit_after("enqueue", message, None)
    return messages


def enqueue_on(connection: Connection, kind: str, queue: str, kwargs: Mapping[str, Any]) -> Message[Any]:
    """Insert a job for `kind` on `connection`: it commits or rolls back with that transaction."""
    return enqueue_all_on(connection, [(kind, queue, kwargs)])[0]


def enqueue(session: ORM.Session, kind: str, *, queue: str = "default", **kwargs: Any) -> Message[Any]:
    """Add a job to the session's transaction by hand (hooks do this for you on ORM writes).

    `tenant_id` defaults to the session's tenant, so the worker restores it.
    """
    kwargs.setdefault("tenant_id", session.info.get("tenant_id"))
    return enqueue_on(session.connection(), kind, queue, kwargs)


async def enqueue_async(
    session: AsyncSession, kind: str, *, queue: str = "default", **kwargs: Any
) -> Message[Any]:
    """`enqueue` for an AsyncSession."""
    return await session.run_sync(lambda sync: enqueue(sync, kind, queue=queue, **kwargs))
