"""The admin app: the routes of the admin port and what they read.

It is a separate Starlette app, not mounted on the public one, so a load balancer or ingress that
exposes the API port cannot expose /metrics or /debug; and it is a plain Starlette app (not FastAPI)
so neither FastAPI's native telemetry nor the OpenTelemetry middleware traces probes and scrapes.
serving.py runs it on its own port; debug.py makes what /debug returns.

  /healthz        liveness: 200 {status, version, commit, build_date} while the process runs
  /readyz         readiness: 503 while draining (SIGTERM received) or while a check fails (database)
  /metrics        Prometheus exposition (text, or OpenMetrics when the scraper asks for it)
  /debug/stacks   every thread's stack and every asyncio task's, capped   (admin.debug_routes)
  /debug/profile  ?seconds=N: a sampling profile of all threads, as collapsed stacks (admin.debug_routes)
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import choose_encoder
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ..build_info import build_info
from .debug import MAX_PROFILE_SECONDS, format_stacks, sample_profile

Check = Callable[[], Awaitable[None]]  # raises when the dependency is not usable
ScrapeHook = Callable[[], Awaitable[None]]

CHECK_TIMEOUT_SECONDS = 2.0


@dataclass
class AdminState:
    """What the admin routes read: the draining flag, readiness checks, hooks run before a scrape."""

    checks: Mapping[str, Check] = field(default_factory=dict)
    scrape_hooks: Sequence[ScrapeHook] = ()
    # What /metrics exposes: this process's metrics, or (job worker) its child processes' combined.
    registry: CollectorRegistry = REGISTRY
    draining: bool = False
    profiling: threading.Lock = field(default_factory=threading.Lock)


def create_admin_app(state: AdminState, *, debug_routes: bool) -> Starlette:
    async def healthz(request: Request) -> Response:
        status = "draining" if state.draining else "ok"
        return JSONResponse({"status": status, **build_info().as_dict()})

    async def readyz(request: Request) -> Response:
        if state.draining:
            return JSONResponse({"status": "draining"}, status_code=503)
        results = await asyncio.gather(*(_run_check(check) for check in state.checks.values()))
        report = dict(zip(state.checks, results, strict=True))
        ready = all(result == "ok" for result in results)
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "checks": report},
            status_code=200 if ready else 503,
        )

    async def metrics(request: Request) -> Response:
        await asyncio.gather(*(_bounded(hook()) for hook in state.scrape_hooks), return_exceptions=True)
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encode(state.registry), media_type=content_type)

    async def stacks(request: Request) -> Response:
        return PlainTextResponse(format_stacks())

    async def profile(request: Request) -> Response:
        try:
            seconds = float(request.query_params.get("seconds", "5"))
        except ValueError:
            seconds = -1.0
        if not 0 < seconds <= MAX_PROFILE_SECONDS:
            return PlainTextResponse(f"seconds must be in (0, {MAX_PROFILE_SECONDS:g}]\n", status_code=400)
        if not state.profiling.acquire(blocking=False):
            return PlainTextResponse("a profile is already running\n", status_code=409)
        try:
            text = await asyncio.to_thread(sample_profile, seconds, stop=lambda: state.draining)
        finally:
            state.profiling.release()
        return PlainTextResponse(text)

    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
    ]
    if debug_routes:
        routes += [Route("/debug/stacks", stacks), Route("/debug/profile", profile)]
    return Starlette(routes=routes)


async def _bounded(awaitable: Awaitable[None]) -> None:
    await asyncio.wait_for(awaitable, CHECK_TIMEOUT_SECONDS)


async def _run_check(check: Check) -> str:
    try:
        await _bounded(check())
    except TimeoutError:
        return f"timed out after {CHECK_TIMEOUT_SECONDS:g}s"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    return "ok"
