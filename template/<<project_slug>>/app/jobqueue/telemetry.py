"""Job observability: each run is a span linked to the request that enqueued it, and is counted.

The trace context travels in the message (`options["trace"]`, W3C `traceparent`), added when the job
is enqueued, so every attempt, however late and on whichever worker, links back to its request.
"""

from __future__ import annotations

import threading
import time
from contextvars import Token
from typing import Any

from dramatiq import Broker, Message, Middleware
from dramatiq.broker import MessageProxy
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from ..observe.metrics import JOB_DISCARDS, JOB_DURATION, JOB_EXECUTIONS, JOB_RETRIES
from ..observe.tracing import start_linked_span, trace_headers

TRACE_OPTION = "trace"


class _Run:
    __slots__ = ("started", "span", "token")

    def __init__(self, started: float, span: trace.Span, token: Token[otel_context.Context]) -> None:
        self.started, self.span, self.token = started, span, token

    def end(self) -> None:
        otel_context.detach(self.token)
        self.span.end()


class JobTelemetry(Middleware):
    """Spans and metrics around every attempt.

    Place it before Retries in the middleware list: Dramatiq runs `after_*` hooks in reverse order,
    so this one then sees whether Retries gave the message up (`message.failed`).
    """

    def __init__(self) -> None:
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()

    def before_enqueue(self, broker: Broker, message: Message[Any], delay: int | None) -> None:
        if TRACE_OPTION not in message.options:
            headers = trace_headers()
            if headers:
                message.options[TRACE_OPTION] = headers

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        # The span becomes current in the worker thread, which runs the job and both hooks.
        span = start_linked_span(
            message.actor_name,
            message.options.get(TRACE_OPTION),
            {
                "messaging.system": "dramatiq",
                "messaging.destination.name": message.queue_name,
                "messaging.message.id": message.message_id,
                "forge.tenant_id": str(message.kwargs.get("tenant_id") or ""),
            },
        )
        token = otel_context.attach(trace.set_span_in_context(span))
        with self._lock:
            self._runs[message.message_id] = _Run(time.perf_counter(), span, token)

    def after_process_message(
        self,
        broker: Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        with self._lock:
            run = self._runs.pop(message.message_id, None)
        labels = (message.queue_name, message.actor_name)
        if run is not None:
            JOB_DURATION.labels(*labels).observe(time.perf_counter() - run.started)
            if exception is not None:
                run.span.record_exception(exception)
                run.span.set_status(Status(StatusCode.ERROR, type(exception).__name__))
            run.end()
        if exception is None:
            JOB_EXECUTIONS.labels(*labels, "success").inc()
        elif message.failed:
            JOB_EXECUTIONS.labels(*labels, "discard").inc()
        else:
            JOB_EXECUTIONS.labels(*labels, "retry").inc()
            JOB_RETRIES.labels(*labels).inc()

    def after_skip_message(self, broker: Broker, message: MessageProxy) -> None:
        with self._lock:
            run = self._runs.pop(message.message_id, None)
        if run is not None:
            run.end()

    def after_nack(self, broker: Broker, message: MessageProxy) -> None:
        JOB_DISCARDS.labels(message.queue_name, message.actor_name).inc()
