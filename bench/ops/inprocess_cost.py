"""Per-request cost of observability inside one process: Python calls and CPU time, on vs off.

Run by observability_cost.py with the rendered project's interpreter (it imports the project):

    <project>/.venv/bin/python bench/ops/inprocess_cost.py <slug> <database-url> [rounds]

Two apps of the same project (observability on and off) answer GET /api/products?limit=20 through
direct ASGI calls (no sockets, no client library), alternately. Call counts (cProfile) are exact
and immune to a busy machine; CPU time is the minimum over rounds, the least disturbed sample.
Last, "on_exporting": the same with spans recorded and handed to a BatchSpanProcessor, as when an
OTLP endpoint is configured (its exporter discards, so encoding and network are not counted).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
import sys
import time
from contextlib import AsyncExitStack
from functools import partial
from typing import Any

from asgi_call import DiscardSpans, call, calls_per_request
from opentelemetry import trace
from opentelemetry.sdk.trace.export import BatchSpanProcessor

OFF = {"FORGE_OBSERVE_METRICS": "false", "FORGE_OBSERVE_TRACING": "false", "FORGE_OBSERVE_ACCESS_LOG": "false"}
# "on" is the default (metrics, tracing, the access log); "on_no_access_log" isolates the access log.
MODES = {"off": OFF, "on": {}, "on_no_access_log": {"FORGE_OBSERVE_ACCESS_LOG": "false"}}
BATCH = 300


async def main(slug: str, database_url: str, rounds: int) -> dict[str, Any]:
    create_app = importlib.import_module(f"{slug}.app.main").create_app
    settings_module = importlib.import_module(f"{slug}.app.settings")
    issue_token = importlib.import_module(f"{slug}.app.auth").issue_token
    # Production logging at INFO, as deployed: the access log's JSON lines are written (to /dev/null).
    importlib.import_module(f"{slug}.app.observe.logs").setup_logging(production=True, level="INFO")
    base = {"FORGE_ADMIN_PORT": "0", "FORGE_DATABASE_URL": database_url}
    apps = {m: create_app(settings_module.load_settings(environ=base | env)) for m, env in MODES.items()}
    secret = settings_module.load_settings(environ=base).app.secret_key
    token = issue_token(secret, "bench", "bench", 3600).encode()

    async def request(app: Any) -> None:
        status = await call(app, token)
        assert status == 200, status

    result: dict[str, Any] = {}
    async with AsyncExitStack() as stack:
        for app in apps.values():
            await stack.enter_async_context(app.router.lifespan_context(app))
            for _ in range(200):
                await request(app)
        for mode, app in apps.items():
            result[f"calls_per_request_{mode}"] = await calls_per_request(partial(request, app), BATCH)
        cpu: dict[str, list[float]] = {mode: [] for mode in apps}
        for _ in range(rounds):
            for mode, app in apps.items():
                started = time.process_time()
                for _ in range(BATCH):
                    await request(app)
                cpu[mode].append((time.process_time() - started) / BATCH * 1e6)
        # Then with spans recorded and batched for export, as with OTEL_EXPORTER_OTLP_ENDPOINT set
        # (the exporter discards: the JSON encoding and the network happen on the export thread).
        trace.get_tracer_provider().add_span_processor(BatchSpanProcessor(DiscardSpans()))  # type: ignore[attr-defined]
        cpu["on_exporting"] = []
        for _ in range(rounds):
            started = time.process_time()
            for _ in range(BATCH):
                await request(apps["on"])
            cpu["on_exporting"].append((time.process_time() - started) / BATCH * 1e6)
    for mode, samples in cpu.items():
        result[f"cpu_us_per_request_{mode}_min"] = round(min(samples))
    result["calls_ratio_off_over_on"] = round(result["calls_per_request_off"] / result["calls_per_request_on"], 3)
    result["calls_access_log"] = result["calls_per_request_on"] - result["calls_per_request_on_no_access_log"]
    result["cpu_us_access_log"] = (
        result["cpu_us_per_request_on_min"] - result["cpu_us_per_request_on_no_access_log_min"]
    )
    for mode in ("on", "on_exporting"):
        result[f"cpu_ratio_off_over_{mode}"] = round(
            result["cpu_us_per_request_off_min"] / result[f"cpu_us_per_request_{mode}_min"], 3
        )
    return result


if __name__ == "__main__":
    slug, url = sys.argv[1], sys.argv[2]
    with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):  # the JSON sink's lines
        result = asyncio.run(main(slug, url, int(sys.argv[3]) if len(sys.argv) > 3 else 10))
    print(json.dumps(result))
