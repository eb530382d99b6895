"""Every Prometheus metric family of the service, in one place, with its label set.

Families are process-global (prometheus_client's default registry, which also carries the process_*
and python_* collectors) and served by the admin server's /metrics. Other modules import the family
they report to and call it; label values must come from a small, fixed set (a route template, a job
kind), never from user input, or the series count explodes.

HTTP (recorded by `HttpMetricsMiddleware` on the public app)
  http_requests_total{route, method, status}        counter    every response, SSE included
  http_request_duration_seconds{route, method}      histogram  start to last body byte; SSE excluded
  http_requests_in_progress{method}                 gauge
Database (recorded by `instrument_engine`, SQLAlchemy cursor events)
  db_query_duration_seconds{operation}              histogram  its _count is the query count
  db_query_errors_total{operation}                  counter
  db_pool_connections{state}                        gauge      checked_out | idle | overflow, on scrape
  pg_notification_queue_usage                       gauge      0..1, read from PostgreSQL on scrape
Jobs (reported by the job runner)
  job_executions_total{queue, kind, outcome}        counter    outcome: success | retry | discard
  job_duration_seconds{queue, kind}                 histogram  one observation per attempt
  job_retries_total{queue, kind}                    counter    attempts scheduled again after a failure
  job_discards_total{queue, kind}                   counter    jobs given up after max_retries
SSE (reported by the live-pages streams)
  sse_connections_open{stream}                      gauge      inc on open, dec on close
  sse_events_sent_total{stream}                     counter
  sse_connection_duration_seconds{stream}           histogram  observed when a stream closes
  sse_rejections_total{reason}                      counter    reason: max_connections | max_per_user
  sse_drops_total{stream, reason}                   counter    deliveries given up, reason: queue_full (events
      replaced by one refresh) | shutdown (replaced by the farewell) | send_timeout (frozen reader cut off)
"""

from __future__ import annotations

import functools
import re
import time
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED_ROUTE = "<unmatched>"
# Any other method (clients choose it freely) is counted as OTHER: labels must stay a small set.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
EVENT_STREAM = b"text/event-stream"
# Request latency: 2.5 ms .. 10 s; queries are faster, so that ladder starts lower.
HTTP_BUCKETS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
DB_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0)
STREAM_BUCKETS = (1.0, 10.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0)

HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP responses by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency by route template (Server-Sent Events streams excluded).",
    ["route", "method"],
    buckets=HTTP_BUCKETS,
)
HTTP_IN_PROGRESS = Gauge("http_requests_in_progress", "HTTP requests being served.", ["method"])

DB_QUERY_DURATION = Histogram(
    "db_query_duration_seconds", "SQL statement duration by operation.", ["operation"], buckets=DB_BUCKETS
)
DB_QUERY_ERRORS = Counter("db_query_errors_total", "SQL statements that raised, by operation.", ["operation"])
DB_POOL = Gauge(
    "db_pool_connections", "Connections of the SQLAlchemy pool by state, read on scrape.", ["state"]
)
NOTIFY_QUEUE_USAGE = Gauge(
    "pg_notification_queue_usage",
    "Fraction of PostgreSQL's LISTEN/NOTIFY queue in use (pg_notification_queue_usage()), read on scrape.",
)

JOB_EXECUTIONS = Counter(
    "job_executions_total", "Job attempts by queue, kind and outcome.", ["queue", "kind", "outcome"]
)
JOB_DURATION = Histogram(
    "job_duration_seconds", "Job attempt duration.", ["queue", "kind"], buckets=JOB_BUCKETS
)
JOB_RETRIES = Counter("job_retries_total", "Job attempts scheduled again after a failure.", ["queue", "kind"])
JOB_DISCARDS = Counter("job_discards_total", "Jobs given up after their last retry.", ["queue", "kind"])

SSE_OPEN = Gauge("sse_connections_open", "Server-Sent Events streams open now.", ["stream"])
SSE_EVENTS = Counter("sse_events_sent_total", "Server-Sent Events written to clients.", ["stream"])
SSE_DURATION = Histogram(
    "sse_connection_duration_seconds", "How long SSE streams stayed open.", ["stream"], buckets=STREAM_BUCKETS
)
SSE_REJECTIONS = Counter("sse_rejections_total", "SSE streams refused (429) by reason.", ["reason"])
SSE_DROPS = Counter(
    "sse_drops_total",
    "SSE deliveries given up: events replaced by a refresh or the farewell, streams cut off a frozen reader.",
    ["stream", "reason"],
)


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
    """The path template of the matched route, with the prefixes of the routers it was included by.

    FastAPI resolves included routers lazily and records the effective route (prefix and all) under
    scope["fastapi"]; scope["route"] alone holds the route as declared, without its router prefix.
    """
    fastapi_scope = scope.get("fastapi")
    effective = fastapi_scope.get("effective_route_context") if isinstance(fastapi_scope, dict) else None
    for route in (effective, scope.get("route")):
        path = getattr(route, "path_format", None)
        if isinstance(path, str) and path:
            return path
    return UNMATCHED_ROUTE


_OPERATION = re.compile(r"\s*(?:/\*.*?\*/\s*)?(\w+)", re.DOTALL)
_KNOWN_OPERATIONS = frozenset(
    {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "BEGIN", "COMMIT", "ROLLBACK", "LISTEN", "NOTIFY"}
)
_STARTED = "forge_query_started"


@functools.lru_cache(maxsize=2048)  # statements repeat (SQLAlchemy caches their compiled text)
def statement_operation(statement: str) -> str:
    """The statement's leading keyword, from a fixed set so that SQL text never becomes a label."""
    match = _OPERATION.match(statement)
    keyword = match.group(1).upper() if match else ""
    return keyword if keyword in _KNOWN_OPERATIONS else "OTHER"


def instrument_engine(engine: AsyncEngine | Engine) -> None:
    """Time every statement on this engine (cursor events run on the driver's side of the pool)."""
    sync_engine = engine.sync_engine if isinstance(engine, AsyncEngine) else engine

    @event.listens_for(sync_engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        conn.info.setdefault(_STARTED, []).append(time.perf_counter())

    @event.listens_for(sync_engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        started = conn.info[_STARTED].pop()
        _child(DB_QUERY_DURATION, statement_operation(statement)).observe(time.perf_counter() - started)

    @event.listens_for(sync_engine, "handle_error")
    def _error(context: Any) -> None:
        stack = context.connection.info.get(_STARTED) if context.connection is not None else None
        if stack:
            stack.pop()
        DB_QUERY_ERRORS.labels(statement_operation(context.statement or "")).inc()


def refresh_pool_gauges(engine: AsyncEngine) -> None:
    """Scrape hook: the pool's state now (QueuePool; other pools report nothing)."""
    pool = engine.sync_engine.pool
    if isinstance(pool, QueuePool):
        DB_POOL.labels("checked_out").set(pool.checkedout())
        DB_POOL.labels("idle").set(pool.checkedin())
        DB_POOL.labels("overflow").set(max(pool.overflow(), 0))


async def refresh_notify_queue_usage(engine: AsyncEngine) -> None:
    """Scrape hook: read pg_notification_queue_usage(); NaN when the database does not answer."""
    from sqlalchemy import text

    try:
        async with engine.connect() as conn:
            usage = (await conn.execute(text("SELECT pg_notification_queue_usage()"))).scalar_one()
        NOTIFY_QUEUE_USAGE.set(float(usage))
    except Exception:
        NOTIFY_QUEUE_USAGE.set(float("nan"))
