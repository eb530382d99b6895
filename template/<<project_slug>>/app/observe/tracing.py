"""OpenTelemetry traces: the tracer provider, its configuration, and span helpers.

The SDK tracer provider is process-wide (OpenTelemetry allows setting the global one once), so
`configure_tracing` is idempotent. Spans always exist while tracing is on, so log lines carry trace
ids and job messages carry trace context; they are recorded and exported only when
OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) names an OTLP/HTTP collector
(or a test attaches its own processor). The admin app is never traced.

HTTP spans come from FastAPI's native telemetry (FastAPI >= 0.142), told which provider to use and
to make only the request span: no per-message send/receive spans (an SSE stream stays one span),
no per-dependency operation spans. It costs well under half of what the contrib ASGI middleware
does per request (call counts in docs/BENCHMARKS.md). SQL spans come from the cursor events of
instrumentation.py, the same ones that record the query metrics.

Jobs: the code that enqueues calls `trace_headers()` and stores the dict in the message; the worker
runs each job in `start_linked_span(kind, headers)`, a new trace linked to the request's span. A
worker process calls `configure_tracing(...)` once at start and `flush_traces()` before it exits.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from fastapi.telemetry import TelemetryConfig
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import SpanKind
from opentelemetry.util.types import Attributes, AttributeValue

OTLP_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
TRACER_NAME = "forge"
_untraced: ContextVar[bool] = ContextVar("forge_untraced", default=False)

_provider: TracerProvider | None = None


class ExportGatedTracerProvider(TracerProvider):
    """The SDK provider, recording spans only once something receives them.

    Without a span processor (no OTLP endpoint) every span would be built, filled with attributes and
    dropped, at a cost to every request for nothing. Until a processor is attached, the
    sampler drops instead: spans are then non-recording but still have trace and span ids, so log
    lines and job messages keep their correlation. With one attached, the configured sampler
    (OTEL_TRACES_SAMPLER, default parent-based always-on) decides.
    """

    def __init__(self, resource: Resource) -> None:
        super().__init__(resource=resource)
        self.exporting = False
        self.sampler = _RecordWhenExported(self, self.sampler)

    def add_span_processor(self, span_processor: SpanProcessor) -> None:
        super().add_span_processor(span_processor)
        self.exporting = True


class _RecordWhenExported(Sampler):
    def __init__(self, provider: ExportGatedTracerProvider, delegate: Sampler) -> None:
        self.provider = provider
        self.delegate = delegate

    def should_sample(
        self,
        parent_context: otel_context.Context | None,
        trace_id: int,
        name: str,
        kind: trace.SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[trace.Link] | None = None,
        trace_state: trace.TraceState | None = None,
    ) -> SamplingResult:
        if self.provider.exporting:
            return self.delegate.should_sample(
                parent_context, trace_id, name, kind, attributes, links, trace_state
            )
        parent = trace.get_current_span(parent_context).get_span_context()
        return SamplingResult(Decision.DROP, None, parent.trace_state if parent.is_valid else None)

    def get_description(self) -> str:
        return f"RecordWhenExported{{{self.delegate.get_description()}}}"


def otlp_configured(environ: Mapping[str, str] | None = None) -> bool:
    environ = os.environ if environ is None else environ
    if environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
        return False
    return any(environ.get(name) for name in OTLP_ENDPOINT_VARIABLES)


def configure_tracing(service_name: str, service_version: str) -> TracerProvider:
    """The process's SDK tracer provider, created and made global on the first call."""
    global _provider
    if _provider is not None:
        return _provider
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):  # someone (opentelemetry-instrument) got there first
        _provider = current
        return current
    provider = ExportGatedTracerProvider(
        Resource.create({"service.name": service_name, "service.version": service_version})
    )
    if otlp_configured():
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _provider = provider
    return provider


def flush_traces(timeout_seconds: float = 5.0) -> None:
    """Export what is buffered; called on shutdown, since uvicorn re-raises SIGTERM after serving."""
    if _provider is not None:
        _provider.force_flush(int(timeout_seconds * 1000))


def fastapi_telemetry(provider: TracerProvider | None) -> TelemetryConfig:
    """FastAPI(telemetry=...): the request span on `provider`, or no telemetry at all when None.

    Without this FastAPI would trace every FastAPI app, on the global provider, with operation spans.
    Metrics are Prometheus's (metrics.py) and logs loguru's, so FastAPI's own stay off.
    """
    if provider is None:
        return {"tracing": False, "metrics": False, "logs": False}
    return {
        "tracing": True,
        "tracer_provider": provider,
        "operation_spans": False,
        "metrics": False,
        "logs": False,
    }


@contextmanager
def untraced() -> Iterator[None]:
    """No SQL spans inside (the admin server's readiness and scrape queries)."""
    token = _untraced.set(True)
    try:
        yield
    finally:
        _untraced.reset(token)


def spans_wanted(provider: TracerProvider) -> bool:
    """Whether a span started now would reach anyone: a processor is attached and the code is traced."""
    exporting: bool = getattr(provider, "exporting", True)  # False: ExportGatedTracerProvider, none yet
    return exporting and not _untraced.get()


def trace_headers() -> dict[str, str]:
    """W3C trace context (`traceparent`, and `tracestate` when set) of the current span.

    Put the returned dict in a job message when enqueueing; empty when no span is recording.
    """
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


_job_tracer = trace.get_tracer(TRACER_NAME)  # a proxy: follows the provider configured later


def start_linked_span(
    name: str,
    headers: Mapping[str, str] | None,
    attributes: Mapping[str, AttributeValue] | None = None,
) -> trace.Span:
    """Start work (a job) as the root of a new trace, CONSUMER kind, linked to the span in `headers`.

    A link rather than a parent: a job may run long after the request finished, retried several
    times, and each attempt is its own trace that still points back to the request that caused it.
    The caller ends the span (and makes it current if it wants).
    """
    links: list[trace.Link] = []
    if headers:
        origin = trace.get_current_span(propagate.extract(headers)).get_span_context()
        if origin.is_valid:
            links.append(trace.Link(origin))
    return _job_tracer.start_span(
        name, context=otel_context.Context(), kind=SpanKind.CONSUMER, links=links, attributes=attributes
    )


@contextmanager
def linked_span(
    name: str,
    headers: Mapping[str, str] | None,
    attributes: Mapping[str, AttributeValue] | None = None,
) -> Iterator[trace.Span]:
    """`start_linked_span` as the current span of a `with` block."""
    with trace.use_span(start_linked_span(name, headers, attributes), end_on_exit=True) as span:
        yield span
