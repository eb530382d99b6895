"""opentelemetry-instrumentation-sqlalchemy against Forge's own SQL spans, in one process.

Run by library_choices.py with the rendered project's interpreter and the library added:

    uv run --frozen --no-dev --with opentelemetry-instrumentation-sqlalchemy==0.66b2 \
        python <this> <slug> <url> own|library

The project's app, tracing on (FastAPI's request span), metrics and access log off, with "own":
Forge's SQL spans (observe/instrumentation.py), or "library": those swapped for
`SQLAlchemyInstrumentor().instrument(engine=..., skip_dep_check=True)` on the same engine. One mode
per process, because the library also patches SQLAlchemy globally (a `connect` span for every
engine). GET /api/products?limit=20 through direct ASGI calls: Python calls per request (exact),
CPU time per request (minimum over rounds) with no span processor (as without
OTEL_EXPORTER_OTLP_ENDPOINT), then the spans of one request, then CPU with spans recorded for export
to a discarding exporter.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
import time
from contextlib import AsyncExitStack
from functools import partial
from typing import Any

from asgi_call import DiscardSpans, call, calls_per_request, quiet_project
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

BATCH = 300
ROUNDS = 10


async def _cpu(app: FastAPI, token: bytes) -> int:
    samples: list[float] = []
    for _ in range(ROUNDS):
        started = time.process_time()
        for _ in range(BATCH):
            await call(app, token)
        samples.append((time.process_time() - started) / BATCH * 1e6)
    return round(min(samples))


async def main(slug: str, database_url: str, mode: str) -> dict[str, Any]:
    create_app, settings, token = quiet_project(slug, database_url, tracing=True)
    runtime = importlib.import_module(f"{slug}.app.observe.runtime")
    own_instrument = runtime.instrument_engine

    def without_sql_spans(engine: Any, *, metrics: bool, provider: Any) -> None:
        own_instrument(engine, metrics=metrics, provider=None)

    if mode == "library":
        runtime.instrument_engine = without_sql_spans
    app = create_app(settings)
    result: dict[str, Any] = {"mode": mode}
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        provider: TracerProvider = trace.get_tracer_provider()  # type: ignore[assignment]
        if mode == "library":
            engine = app.state.db.engine.sync_engine
            SQLAlchemyInstrumentor().instrument(engine=engine, tracer_provider=provider, skip_dep_check=True)
        for _ in range(200):
            await call(app, token)
        result["calls_per_request"] = await calls_per_request(partial(call, app, token), BATCH)
        result["cpu_us_not_exporting"] = await _cpu(app, token)
        memory = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(memory))
        await call(app, token)
        spans = memory.get_finished_spans()
        result["spans_per_request"] = [s.name for s in spans]
        result["sql_span_attributes"] = {
            s.name: sorted(s.attributes or {}) for s in spans if s.kind == trace.SpanKind.CLIENT
        }
        memory.shutdown()  # collects no more; the batch processor below takes over
        provider.add_span_processor(BatchSpanProcessor(DiscardSpans()))
        result["cpu_us_exporting"] = await _cpu(app, token)
    return result


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))))
