"""The Dramatiq broker on PostgreSQL (dramatiq-postgres), built the same way in every process.

The broker's tables live in their own PostgreSQL schema, created idempotently by `migrate`
(`init_schema`), not by an Alembic revision: dramatiq-postgres owns that layout and its own DDL.

Its consumer is dramatiq-postgres' with two statements run differently: a claim is one autocommit
statement instead of BEGIN, claim, COMMIT, and acks are grouped (acks.py). A no-op job's cost is
mostly round trips, and the worker runs every one of them under the GIL; docs/BENCHMARKS.md. What
that takes of the library's internals is in adapters/dramatiq_postgres.py, and only there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg
from dramatiq import Middleware
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    CurrentMessage,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from ..adapters.dramatiq_postgres import (
    OneStatementConsumer,
    PostgresBroker,
    ack_statement,
    create_schema,
)
from ..db import libpq_url
from ..settings import JobsSettings
from .acks import GroupAck
from .middleware import Discard, TenantContext
from .telemetry import JobTelemetry

SCHEMA = "dramatiq"

# Our own table beside the broker's: one row per (schedule, tick), the PostgreSQL-side dedupe
# that lets any number of schedulers run while each tick enqueues once.
TICKS_DDL = f"""
CREATE TABLE IF NOT EXISTS {SCHEMA}.forge_schedule_tick (
    schedule text NOT NULL,
    tick timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schedule, tick)
)
"""


def init_schema(url: str) -> bool:
    """Create the broker's schema if missing (concurrency-safe); True when it was created now."""
    with psycopg.connect(libpq_url(url)) as conn, conn.transaction(), conn.cursor() as cursor:
        created = create_schema(cursor, SCHEMA)
        cursor.execute(TICKS_DDL)
    return created


def kind_options(jobs: JobsSettings, kind: str) -> dict[str, Any]:
    """Per-kind overrides from forge.toml ([jobs.kinds.<kind>]), in Dramatiq's option names."""
    override = jobs.kinds.get(kind)
    if override is None:
        return {}
    options = {
        "max_retries": override.max_retries,
        "min_backoff": override.min_backoff_ms,
        "max_backoff": override.max_backoff_ms,
        "on_discard": override.on_discard,
    }
    return {name: value for name, value in options.items() if value is not None}


class ForgeBroker(PostgresBroker):  # type: ignore[misc]
    """dramatiq-postgres' broker whose consumers claim in one statement and ack in groups."""

    def __init__(self, *, schema: str, **options: Any) -> None:
        super().__init__(schema=schema, **options)
        self.ack_statement = ack_statement(schema)

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 30000) -> OneStatementConsumer:
        acks = GroupAck(self.pool, self.ack_statement, queue_name)
        return OneStatementConsumer(
            broker=self, acker=acks, queue_name=queue_name, prefetch=prefetch, timeout=timeout
        )


def build_broker(jobs: JobsSettings, url: str, **broker_options: Any) -> ForgeBroker:
    """A broker with Forge's middleware: Dramatiq's defaults, retries from forge.toml, tenant, discard."""
    per_kind: Mapping[str, str] = {
        kind: override.on_discard for kind, override in jobs.kinds.items() if override.on_discard
    }
    middleware: list[Middleware] = [
        AgeLimit(),
        TimeLimit(),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        JobTelemetry(),  # before Retries: its after-hook then sees whether Retries gave up
        Retries(
            max_retries=jobs.max_retries, min_backoff=jobs.min_backoff_ms, max_backoff=jobs.max_backoff_ms
        ),
        CurrentMessage(),
        TenantContext(),
        Discard(jobs.on_discard, per_kind),
    ]
    return ForgeBroker(
        url=libpq_url(url), schema=SCHEMA, results=False, middleware=middleware, **broker_options
    )
