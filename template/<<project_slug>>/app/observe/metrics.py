"""Every Prometheus metric family of the service, in one place, with its label set.

Families are process-global (prometheus_client's default registry, which also carries the process_*
and python_* collectors) and served by the admin server's /metrics. Other modules import the family
they report to and call it; label values must come from a small, fixed set (a route template, a job
kind), never from user input, or the series count explodes. What records HTTP and database metrics
is in instrumentation.py.

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

from prometheus_client import Counter, Gauge, Histogram

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
