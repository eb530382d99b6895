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

from ..db import libpq_url
from ..settings import JobsSettings
from .broker import SCHEMA
from .registry import JobSpec
from .runtime import JobsRuntime


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
                        f"jobs not processed in {timeout}s; processed so far: {self.processed}"
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
