"""Helpers for tests that run jobs for real: a worker on the real broker, and what it processed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from dramatiq import Broker, Middleware
from dramatiq.broker import MessageProxy
from psycopg.types.json import Json
from sqlalchemy import create_engine
from sqlalchemy import orm as ORM

from ..db import libpq_url, sqlalchemy_url
from ..jobqueue.broker import SCHEMA
from ..jobqueue.hooks import HOOKS
from ..jobqueue.registry import JobSpec, discover
from ..jobqueue.runtime import JobsRuntime
from ..resources import RESOURCES
from ..settings import JobsSettings
from ..tenancy import TENANT_KEY
from ..write_path import install_write_path
from .runs import JobRun
from .samples import body


@dataclass(frozen=True)
class Processed:
    kind: str
    message_id: str
    kwargs: Mapping[str, Any]
    error: str | None


class Recorder(Middleware):
    """Remembers every message the worker finished, with its error if it raised."""

    def __init__(self) -> None:
        self.processed: list[Processed] = []
        self.changed = threading.Condition()

    def after_process_message(
        self,
        broker: Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        with self.changed:
            error = None if exception is None else f"{type(exception).__name__}: {exception}"
            self.processed.append(
                Processed(message.actor_name, message.message_id, dict(message.kwargs), error)
            )
            self.changed.notify_all()

    def wait_for(
        self, predicate: Callable[[list[Processed]], bool], timeout: float = 15.0
    ) -> list[Processed]:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate(self.processed):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"jobs not processed in {timeout}s; {len(self.processed)} processed, "
                        f"the last: {self.processed[-5:]}"
                    )
                self.changed.wait(remaining)
            return list(self.processed)


@contextmanager
def running_worker(
    jobs: JobsSettings,
    url: str,
    specs: Mapping[str, JobSpec],
    *,
    threads: int = 2,
    queues: set[str] | None = None,
    poll_interval: float = 0.05,
    **broker_options: Any,
) -> Iterator[tuple[JobsRuntime, Recorder]]:
    """A real Dramatiq worker (threads in this process) on the real broker, stopped afterwards.

    Tests poll often so retries (delayed messages, no doorbell when they come due) run promptly.
    """
    runtime = JobsRuntime(jobs, url, specs, poll_interval=poll_interval, **broker_options)
    recorder = Recorder()
    runtime.broker.add_middleware(recorder)
    worker = runtime.worker(queues=queues, threads=threads)
    worker.start()
    try:
        yield runtime, recorder
    finally:
        worker.stop(timeout=10_000)
        runtime.close()


def queue_rows(url: str, **kwargs_match: Any) -> list[dict[str, Any]]:
    """Rows of the broker's queue table whose message kwargs contain `kwargs_match`."""
    query = (
        f"SELECT message_id::text, queue_name, state::text, message FROM {SCHEMA}.queue "
        "WHERE message->'kwargs' @> %s::jsonb ORDER BY position"
    )
    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute(query, (Json(kwargs_match),)).fetchall()
    return [{"message_id": r[0], "queue_name": r[1], "state": r[2], "message": r[3]} for r in rows]


def run_through_hook(kind: str, jobs: JobsSettings, url: str, tenant: str) -> JobRun:
    """Write a row of the first resource whose hook enqueues `kind` (a second write for an
    `after_update` hook), commit, and return the run of `kind` a real worker made of that write.

    Skips the calling test when no hook enqueues `kind` any more (the worker's hook was removed).
    """
    import pytest

    hook = next(
        (
            (name, event)
            for name, events in HOOKS.items()
            for event, refs in events.items()
            if kind in {r.kind for r in refs}
        ),
        None,
    )
    if hook is None:
        pytest.skip(f"no hook enqueues {kind} any more: delete this test with its worker when you are done")
    name, event = hook
    resource = next(r for r in RESOURCES if r.name == name)

    def fields(n: int) -> dict[str, Any]:
        return resource.create.model_validate(body(name, n)).model_dump()

    install_write_path()
    engine = create_engine(sqlalchemy_url(url))
    try:
        # Eight threads and a minute: earlier tests of the session may have left a backlog on the queue.
        with running_worker(jobs, url, discover(jobs.package), threads=8) as (_, recorder):
            with ORM.Session(engine, info={TENANT_KEY: tenant}) as session:
                row = resource.model(**fields(1))
                session.add(row)
                if event == "after_update":
                    session.commit()
                    for field, value in fields(2).items():
                        setattr(row, field, value)
                session.commit()
                row_id = row.id

            def ours(p: Processed) -> bool:
                return p.kind == kind and p.kwargs.get("id") == row_id

            done = recorder.wait_for(lambda seen: any(ours(p) for p in seen), timeout=60)
    finally:
        engine.dispose()
    run = next(p for p in done if ours(p))
    return JobRun(kind, name, row_id, str(run.kwargs.get("tenant_id")), run.error)
