"""What records HTTP and database activity: an ASGI middleware, and one set of SQLAlchemy cursor events.

The cursor events feed both the query metrics and the SQL spans, so each statement is timed and
classified once, and the two always describe the same statements. They are ours rather than
opentelemetry-instrumentation-sqlalchemy's, for cost and because 0.66b refuses SQLAlchemy 2.1 without
skip_dep_check and instruments one engine per process.
"""

from __future__ import annotations

import functools
import re
import time
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..adapters.fastapi import matched_route_template
from .metrics import (
    DB_POOL,
    DB_QUERY_DURATION,
    DB_QUERY_ERRORS,
    HTTP_DURATION,
    HTTP_IN_PROGRESS,
    HTTP_REQUESTS,
    NOTIFY_QUEUE_USAGE,
)
from .tracing import TRACER_NAME, spans_wanted

UNMATCHED_ROUTE = "<unmatched>"
# Any other method (clients choose it freely) is counted as OTHER: labels must stay a small set.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
EVENT_STREAM = b"text/event-stream"
MAX_STATEMENT_CHARS = 2000


class HttpMetricsMiddleware:
    """Pure ASGI middleware (no BaseHTTPMiddleware: it would buffer streams) recording HTTP metrics.

    The route label is the matched route's template (`/api/products/{id}`), never the raw path, and
    unmatched paths share one label. A response with Content-Type text/event-stream is counted but
    kept out of the latency histogram: a stream's lifetime is not a latency.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method: str = scope["method"] if scope["method"] in KNOWN_METHODS else "OTHER"
        started = time.perf_counter()
        status = 500
        streaming = False

        async def send_and_observe(message: Message) -> None:
            nonlocal status, streaming
            if message["type"] == "http.response.start":
                status = message["status"]
                streaming = any(
                    name.lower() == b"content-type" and value.startswith(EVENT_STREAM)
                    for name, value in message.get("headers", ())
                )
            await send(message)

        in_progress = _child(HTTP_IN_PROGRESS, method)
        in_progress.inc()
        try:
            await self.app(scope, receive, send_and_observe)
        finally:
            in_progress.dec()
            route = route_template(scope)
            _child(HTTP_REQUESTS, route, method, str(status)).inc()
            if not streaming:
                _child(HTTP_DURATION, route, method).observe(time.perf_counter() - started)


@functools.cache
def _child(family: Any, *labels: str) -> Any:
    """family.labels(...) memoised: label sets are few (route templates), lookups are per request."""
    return family.labels(*labels)


def route_template(scope: Scope) -> str:
    """The path template of the matched route, with the prefixes of the routers it was included by."""
    return matched_route_template(scope) or UNMATCHED_ROUTE


_OPERATION = re.compile(r"\s*(?:/\*.*?\*/\s*)?(\w+)", re.DOTALL)
_KNOWN_OPERATIONS = frozenset(
    {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "BEGIN", "COMMIT", "ROLLBACK", "LISTEN", "NOTIFY"}
)
# conn.info key: (started, operation, span) of each statement in flight on that connection.
_RUNNING = "forge_statements"


@functools.lru_cache(maxsize=2048)  # statements repeat (SQLAlchemy caches their compiled text)
def statement_operation(statement: str) -> str:
    """The statement's leading keyword, from a fixed set so that SQL text never becomes a label."""
    match = _OPERATION.match(statement)
    keyword = match.group(1).upper() if match else ""
    return keyword if keyword in _KNOWN_OPERATIONS else "OTHER"


class SqlSpans:
    """A CLIENT span per SQL statement, child of the current span (the request's or the job's).

    Only while spans are recorded: a non-recording SQL span is a leaf nobody sees, so none is made.
    """

    def __init__(self, engine: AsyncEngine | Engine, provider: TracerProvider) -> None:
        self.provider = provider
        self.tracer = provider.get_tracer(TRACER_NAME)
        url = engine.url
        self.namespace = namespace = url.database or ""
        self.static: dict[str, AttributeValue] = {"db.system.name": "postgresql", "db.namespace": namespace}
        if url.host:
            self.static["server.address"] = url.host
        if url.port:
            self.static["server.port"] = url.port

    def start(self, operation: str, statement: str) -> trace.Span | None:
        if not spans_wanted(self.provider):
            return None
        span = self.tracer.start_span(f"{operation} {self.namespace}", kind=SpanKind.CLIENT)
        if span.is_recording():
            span.set_attributes(self.static)
            span.set_attribute("db.operation.name", operation)
            span.set_attribute("db.query.text", statement[:MAX_STATEMENT_CHARS])
        return span

    @staticmethod
    def fail(span: trace.Span, error: BaseException) -> None:
        span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        span.set_attribute("error.type", type(error).__name__)
        span.end()


def instrument_engine(
    engine: AsyncEngine | Engine, *, metrics: bool, provider: TracerProvider | None
) -> None:
    """Time, count and (with a `provider`) trace every statement on this engine.

    Cursor events run on the driver's side of the pool, around the statement's round trip.
    """
    if not metrics and provider is None:
        return
    sync_engine = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
    spans = SqlSpans(engine, provider) if provider is not None else None

    @event.listens_for(sync_engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        operation = statement_operation(statement)
        span = spans.start(operation, statement) if spans is not None else None
        conn.info.setdefault(_RUNNING, []).append((time.perf_counter(), operation, span))

    @event.listens_for(sync_engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        started, operation, span = conn.info[_RUNNING].pop()
        if metrics:
            _child(DB_QUERY_DURATION, operation).observe(time.perf_counter() - started)
        if span is not None:
            span.end()

    @event.listens_for(sync_engine, "handle_error")
    def _error(context: Any) -> None:
        running = context.connection.info.get(_RUNNING) if context.connection is not None else None
        span = running.pop()[2] if running else None
        if metrics:
            DB_QUERY_ERRORS.labels(statement_operation(context.statement or "")).inc()
        if span is not None:
            SqlSpans.fail(span, context.original_exception)


def refresh_pool_gauges(engine: AsyncEngine) -> None:
    """Scrape hook: the pool's state now (QueuePool; other pools report nothing)."""
    pool = engine.sync_engine.pool
    if isinstance(pool, QueuePool):
        DB_POOL.labels("checked_out").set(pool.checkedout())
        DB_POOL.labels("idle").set(pool.checkedin())
        DB_POOL.labels("overflow").set(max(pool.overflow(), 0))


async def refresh_notify_queue_usage(engine: AsyncEngine) -> None:
    """Scrape hook: read pg_notification_queue_usage(); NaN when the database does not answer."""
    try:
        async with engine.connect() as conn:
            usage = (await conn.execute(text("SELECT pg_notification_queue_usage()"))).scalar_one()
        NOTIFY_QUEUE_USAGE.set(float(usage))
    except Exception:
        NOTIFY_QUEUE_USAGE.set(float("nan"))
