"""prometheus-fastapi-instrumentator against Forge's own HTTP metrics middleware, in one process.

Run by library_choices.py with the rendered project's interpreter and the library added:

    uv run --frozen --no-dev --with prometheus-fastapi-instrumentator python <this> <slug> <database-url>

Apps that differ only in the HTTP metrics middleware (none, Forge's `ObservedRequests` with only its
metrics on, the
instrumentator's defaults) answer through direct ASGI calls, alternately: the project's app (tracing,
access log and Forge's metrics off) on GET /api/products?limit=20, and a bare FastAPI app with one
route, where the middleware is most of the work. Python calls per request (cProfile) are exact; CPU
time per request is the minimum over rounds, its overhead the difference to "none". Then each
instrumented project app gets the same odd traffic (distinct ids, unknown paths, made-up methods, a
0.3 s event stream) and the series its registry would expose are counted.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from functools import partial
from typing import Any

from asgi_call import call, calls_per_request, quiet_project
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_fastapi_instrumentator import Instrumentator

BATCH = 300
ROUNDS = 15
MODES = ("none", "own", "instrumentator")


def _stream_route(app: FastAPI) -> None:
    @app.get("/probe/stream")
    async def stream() -> StreamingResponse:
        async def events() -> AsyncIterator[bytes]:
            for n in range(3):
                await asyncio.sleep(0.1)
                yield f"data: {n}\n\n".encode()

        return StreamingResponse(events(), media_type="text/event-stream")


def _bare_app() -> FastAPI:
    app = FastAPI()

    @app.get("/api/items")
    async def items() -> dict[str, int]:
        return {"n": 1}

    return app


async def _measure(apps: dict[str, Any], path: str, query: bytes, token: bytes) -> dict[str, int]:
    """Calls and minimum CPU microseconds per request of each app, rounds alternating between them."""
    found: dict[str, int] = {}
    for mode, app in apps.items():
        for _ in range(200):
            await call(app, token, path=path, query=query)
        found[f"calls_{mode}"] = await calls_per_request(partial(call, app, token, path=path, query=query), BATCH)
    cpu: dict[str, list[float]] = {mode: [] for mode in apps}
    for _ in range(ROUNDS):
        for mode, app in apps.items():
            started = time.process_time()
            for _ in range(BATCH):
                await call(app, token, path=path, query=query)
            cpu[mode].append((time.process_time() - started) / BATCH * 1e6)
    for mode, samples in cpu.items():
        found[f"cpu_us_{mode}"] = round(min(samples), 1)  # type: ignore[assignment]
    for mode in MODES[1:]:
        found[f"overhead_calls_{mode}"] = found[f"calls_{mode}"] - found["calls_none"]
        found[f"overhead_cpu_us_{mode}"] = round(min(cpu[mode]) - min(cpu["none"]), 1)  # type: ignore[assignment]
    return found


def _series(registry: CollectorRegistry, prefix: str) -> dict[str, int]:
    """Sample lines per metric family of `registry` whose name starts with `prefix`."""
    return {family.name: len(family.samples) for family in registry.collect() if family.name.startswith(prefix)}


def _label_values(registry: CollectorRegistry, family_name: str, label: str) -> list[str]:
    values = {
        sample.labels[label]
        for family in registry.collect()
        if family.name == family_name
        for sample in family.samples
        if label in sample.labels
    }
    return sorted(values)


def _stream_latency(registry: CollectorRegistry, family_name: str, label: str) -> float | None:
    """Seconds the latency histogram recorded for the stream route (None: not recorded)."""
    for family in registry.collect():
        if family.name == family_name:
            for sample in family.samples:
                if sample.name.endswith("_sum") and sample.labels.get(label) == "/probe/stream":
                    return round(sample.value, 3)
    return None


async def main(slug: str, database_url: str) -> dict[str, Any]:
    create_app, settings, token = quiet_project(slug, database_url)
    middleware = importlib.import_module(f"{slug}.app.observe.requests").ObservedRequests
    only_metrics = {"metrics": True, "access_log": False, "spans": None}
    registries = {"own": REGISTRY, "instrumentator": CollectorRegistry()}
    apps: dict[str, FastAPI] = {}
    bare: dict[str, FastAPI] = {}
    for mode in MODES:
        app, small = create_app(settings), _bare_app()
        _stream_route(app)
        if mode == "own":
            app.add_middleware(middleware, **only_metrics)
            small.add_middleware(middleware, **only_metrics)
        elif mode == "instrumentator":
            Instrumentator(registry=registries[mode]).instrument(app)
            Instrumentator(registry=CollectorRegistry()).instrument(small)
        apps[mode], bare[mode] = app, small

    result: dict[str, Any] = {}
    async with AsyncExitStack() as stack:
        for app in apps.values():
            await stack.enter_async_context(app.router.lifespan_context(app))
        result["project_route"] = await _measure(apps, "/api/products", b"limit=20", token)
        result["bare_route"] = await _measure(bare, "/api/items", b"", token)

        for mode in ("own", "instrumentator"):
            app, registry = apps[mode], registries[mode]
            before = sum(_series(registry, "http_").values())
            for n in range(1, 51):
                await call(app, token, path=f"/api/products/{n}", query=b"")
                await call(app, token, path=f"/no/such/path/{n}", query=b"")
            for n in range(20):
                await call(app, token, method=f"BREW{n}", query=b"")
            await call(app, token, path="/probe/stream", query=b"")
            result[f"series_{mode}"] = _series(registry, "http_")
            result[f"series_added_by_odd_traffic_{mode}"] = sum(_series(registry, "http_").values()) - before
        result["route_labels_own"] = _label_values(registries["own"], "http_requests", "route")
        result["method_labels_own"] = _label_values(registries["own"], "http_requests", "method")
        inst = registries["instrumentator"]
        result["route_labels_instrumentator"] = _label_values(inst, "http_requests", "handler")
        result["method_labels_instrumentator_count"] = len(_label_values(inst, "http_requests", "method"))
        result["stream_latency_recorded_own_s"] = _stream_latency(
            registries["own"], "http_request_duration_seconds", "route"
        )
        result["stream_latency_recorded_instrumentator_s"] = _stream_latency(
            inst, "http_request_duration_seconds", "handler"
        )
    return result


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2]))))
