"""dramatiq-postgres as Forge drives it: the only module that knows the library's SQL, table and internals.

Forge pins dramatiq-postgres to a minor version for what this module reaches into, and
tests/forge/test_jobs_contract.py checks it against the installed release. Where Forge departs from
the library's public behaviour, and why:

- Enqueue in the caller's transaction. `broker.enqueue` commits on a pooled connection of its own,
  so a job could run for a write that rolls back. `enqueue_statement` writes what the library's
  ENQUEUE writes (its columns, state 'queued', due now, Dramatiq's own message encoding, the
  `dramatiq.<queue>.enqueue` NOTIFY doorbell), for any number of rows in one multi-row INSERT, on the
  caller's connection: PostgreSQL shows the rows and rings the doorbell only if that transaction commits.
- Claim in one autocommit statement. The library wraps its CLAIM in BEGIN/COMMIT; CLAIM is one atomic
  statement, so `OneStatementConsumer` runs it alone: one round trip instead of three.
- Acks in groups, without the `.ack` NOTIFY. The library's ack is a transaction per message whose
  DELETE also NOTIFYs `dramatiq.<queue>.ack`, a channel nobody listens to, taking PostgreSQL's global
  notify lock at each commit. `ack_statement` deletes many consumed rows of one queue at once, and
  jobqueue/acks.py groups the acks of concurrent worker threads into it.
- Connections. Acks keep one pooled connection in autocommit, taken with the library's `getconn`
  (liveness-checked and retried as its own are); every connection goes back to the pool with
  autocommit off, as the library's code expects of its pooled connections.

Private names relied on: `dramatiq_postgres.broker.PostgresConsumer` (its `claim`, `ack`, `close`,
`get_consume_conn`, `buffer`, `in_processing`, `wakeup`, `_consume_conn`) and `QUERIES` (CLAIM, and
ENQUEUE for the contract test), `dramatiq_postgres.utils.getconn` and `quote_ident`, the broker's
`pool` and `worker_id`, and the queue table's layout (the library's schema.sql).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Protocol

import dramatiq_postgres
import psycopg
from dramatiq import Message
from dramatiq.broker import MessageProxy
from dramatiq.errors import BrokerConnectionError
from dramatiq_postgres import PostgresBroker
from dramatiq_postgres.broker import QUERIES, PostgresConsumer
from dramatiq_postgres.utils import getconn, quote_ident

__all__ = [
    "QUERIES",
    "Acker",
    "OneStatementConsumer",
    "PostgresBroker",
    "ack_statement",
    "checkin",
    "checkout",
    "create_schema",
    "enqueue_parameters",
    "enqueue_statement",
]


def create_schema(cursor: psycopg.Cursor[Any], schema: str) -> bool:
    """The library's own DDL (concurrency-safe); True when it created the schema now."""
    created: bool = dramatiq_postgres.init(cursor, schema=schema)
    return created


@lru_cache(maxsize=64)  # one per (schema, row count): hooks use a handful
def enqueue_statement(schema: str, rows: int) -> str:
    """The library's ENQUEUE (immediately due, one doorbell per queue) for `rows` messages at once.

    Its parameters are `enqueue_parameters(messages)`.
    """
    values = ", ".join(["(%s, %s, 'queued', %s::jsonb, now())"] * rows)
    return (
        f"WITH enqueued AS (INSERT INTO {quote_ident(schema)}.queue "
        f"(queue_name, message_id, state, message, available_at) VALUES {values} RETURNING queue_name) "
        "SELECT pg_notify('dramatiq.' || queue_name || '.enqueue', '') "
        "FROM (SELECT DISTINCT queue_name FROM enqueued) AS queues"
    )


def enqueue_parameters(messages: Sequence[Message[Any]]) -> tuple[str, ...]:
    """Queue, id and body of each message, the body in Dramatiq's own encoding (the library re-encodes
    the same, and its consumer decodes it)."""
    parameters: list[str] = []
    for message in messages:
        parameters += [message.queue_name, message.message_id, message.encode().decode()]
    return tuple(parameters)


def ack_statement(schema: str) -> str:
    """The library's ACK without its NOTIFY, for many messages of one queue at once.

    Parameters: the message ids (a list) and the queue name. Only rows in state `consumed` go: Dramatiq
    acks a message the Retries middleware has just requeued too.
    """
    return (
        f"DELETE FROM {quote_ident(schema)}.queue "
        "WHERE message_id = ANY(%s::uuid[]) AND queue_name = %s AND state = 'consumed'"
    )


def checkout(pool: Any) -> psycopg.Connection[Any]:
    """A live connection from the broker's pool, in autocommit, kept until `checkin`."""
    conn: psycopg.Connection[Any] = getconn(pool)
    conn.autocommit = True
    return conn


def checkin(pool: Any, conn: psycopg.Connection[Any]) -> None:
    """Give `conn` back as the library lent it (autocommit off); the pool replaces it if it broke."""
    if not conn.closed:
        conn.autocommit = False
    pool.putconn(conn)


class Acker(Protocol):
    """Where the consumer sends its acks: called from any worker thread."""

    def ack(self, message_id: str) -> None: ...

    def close(self) -> None: ...


class OneStatementConsumer(PostgresConsumer):  # type: ignore[misc]
    """The library's consumer, claiming in one autocommit statement and handing its acks to `acker`."""

    def __init__(self, *, broker: PostgresBroker, acker: Acker, **options: Any) -> None:
        super().__init__(broker=broker, **options)
        self.acks = acker

    def claim(self, limit: int) -> None:
        """The library's CLAIM statement alone, in autocommit: it is atomic without BEGIN/COMMIT."""
        conn = self.get_consume_conn()
        conn.autocommit = True
        try:
            rows = conn.execute(QUERIES.CLAIM, (self.queue_name, limit, self.broker.worker_id)).fetchall()
        except psycopg.OperationalError as exc:
            raise BrokerConnectionError(str(exc)) from exc  # type: ignore[no-untyped-call]
        self.buffer.extend(Message.decode(payload.encode("utf-8")) for (payload,) in rows)

    def ack(self, message: MessageProxy) -> None:
        self.acks.ack(message.message_id)
        self.in_processing.discard(message.message_id)
        self.wakeup.set()  # capacity freed: claim more

    def close(self) -> None:
        if self._consume_conn is not None and not self._consume_conn.closed:
            self._consume_conn.autocommit = False  # back to the pool as the library lent it
        super().close()
        self.acks.close()
