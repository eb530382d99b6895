"""Acknowledging finished jobs: one DELETE for every ack that is waiting, never one per job.

Dramatiq acks from each worker thread as its job finishes. dramatiq-postgres spends four round
trips on each (a pooled checkout with a liveness query, BEGIN, a DELETE that also NOTIFYs an
`.ack` channel nobody listens to, COMMIT), and the NOTIFY takes PostgreSQL's global notify lock
at every commit. In a no-op job that is most of the worker's CPU. The statement and the pool
handling are the library adapter's (adapters/dramatiq_postgres.py).

`GroupAck` is group commit: the thread that finds no DELETE in flight runs one for every ack
pending, on a connection of its own in autocommit; threads that ack meanwhile wait and ride on
the next one. An ack still returns only once its row is gone, an idle worker's ack runs at once,
and a lost connection fails every ack of the batch with BrokerConnectionError, which Dramatiq
retries.
"""

from __future__ import annotations

import threading
from typing import Any

import psycopg
from dramatiq.errors import BrokerConnectionError

from ..adapters.dramatiq_postgres import checkin, checkout


class _Pending:
    __slots__ = ("message_id", "done", "error")

    def __init__(self, message_id: str) -> None:
        self.message_id = message_id
        self.done = False
        self.error: BaseException | None = None


class GroupAck:
    """The acks of one queue's consumer; `ack` is called from any worker thread."""

    def __init__(self, pool: Any, statement: str, queue_name: str) -> None:
        """`statement` is `adapters.dramatiq_postgres.ack_statement(schema)`; `pool` the broker's."""
        self.pool = pool
        self.statement = statement
        self.queue_name = queue_name
        self.batches = 0  # DELETEs run, for tests and benchmarks
        self._conn: psycopg.Connection[Any] | None = None
        self._changed = threading.Condition()
        self._pending: list[_Pending] = []
        self._flushing = False
        self._closed = False

    @property
    def waiting(self) -> int:
        """Acks queued behind the DELETE in flight."""
        with self._changed:
            return len(self._pending)

    def ack(self, message_id: str) -> None:
        mine = _Pending(message_id)
        with self._changed:
            self._pending.append(mine)
            while self._flushing and not mine.done:
                self._changed.wait()
            if not mine.done:
                batch, self._pending, self._flushing = self._pending, [], True
        if not mine.done:
            self._flush(batch)
        if mine.error is not None:
            raise mine.error

    def _flush(self, batch: list[_Pending]) -> None:
        error: BaseException | None = None
        try:
            self._delete([item.message_id for item in batch])
        except BaseException as exc:  # every waiter must learn the outcome, whatever it was
            error = exc
        with self._changed:
            for item in batch:
                item.done, item.error = True, error
            self.batches += 1
            self._flushing = False
            self._changed.notify_all()

    def _delete(self, message_ids: list[str]) -> None:
        try:
            if self._closed:  # a job that outlived its consumer (a stop timeout): borrow a connection
                with self.pool.connection() as borrowed:
                    borrowed.execute(self.statement, (message_ids, self.queue_name))
                return
            if self._conn is None:
                self._conn = checkout(self.pool)
            self._conn.execute(self.statement, (message_ids, self.queue_name))
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            conn, self._conn = self._conn, None
            self._release(conn)
            raise BrokerConnectionError(str(exc)) from exc  # type: ignore[no-untyped-call]

    def close(self) -> None:
        """Give the connection back once no DELETE uses it; acks after this borrow one each."""
        with self._changed:
            while self._flushing:
                self._changed.wait()
            self._closed = True
            conn, self._conn = self._conn, None
        self._release(conn)

    def _release(self, conn: psycopg.Connection[Any] | None) -> None:
        if conn is not None:
            checkin(self.pool, conn)
