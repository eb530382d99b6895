"""Wires observability into the app: FastAPI's request spans, metrics middleware, engine hooks, admin.

`telemetry_config` and `observe_app` run while the app is built (FastAPI takes its telemetry config
in the constructor; middleware cannot be added once it has started);
`observed` wraps the lifespan: admin server up after the database, and on shutdown the admin server
stopped and buffered spans flushed, because uvicorn re-raises SIGTERM after serve() returns and the
process then dies without running atexit handlers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import FrameType

import uvicorn
from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import text

from ..build_info import build_info
from ..db import Database
from ..settings import Settings
from .admin import AdminState
from .instrumentation import (
    HttpMetricsMiddleware,
    instrument_engine,
    refresh_notify_queue_usage,
    refresh_pool_gauges,
)
from .serving import AdminServer, running_admin
from .tracing import configure_tracing, fastapi_telemetry, flush_traces


def telemetry_config(settings: Settings) -> TelemetryConfig:
    """For FastAPI(telemetry=...): its native request span when tracing is on, nothing otherwise."""
    provider = _provider(settings) if settings.observe.tracing else None
    return fastapi_telemetry(provider)


def _provider(settings: Settings) -> TracerProvider:
    return configure_tracing(settings.observe.service_name, build_info().version)


def observe_app(app: FastAPI, settings: Settings) -> AdminState:
    """Add HTTP metrics to the public app; return the state the admin routes read."""
    state = AdminState()
    app.state.admin_state = state
    if settings.observe.metrics:
        app.add_middleware(HttpMetricsMiddleware)
    return state


@asynccontextmanager
async def observed(app: FastAPI, settings: Settings, database: Database) -> AsyncIterator[AdminServer]:
    """Instrument the engine, serve the admin app for the lifespan, drain and flush on the way out."""
    state: AdminState = app.state.admin_state
    engine = database.engine
    provider = _provider(settings) if settings.observe.tracing else None
    instrument_engine(engine, metrics=settings.observe.metrics, provider=provider)

    async def database_answers() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def database_state() -> None:
        refresh_pool_gauges(engine)
        await refresh_notify_queue_usage(engine)

    state.checks = {"database": database_answers}
    state.scrape_hooks = [database_state]
    async with running_admin(
        state, settings.admin.host, settings.admin.port, debug_routes=settings.admin.debug_routes
    ) as admin:
        app.state.admin = admin
        try:
            yield admin
        finally:
            flush_traces()


class DrainingServer(uvicorn.Server):
    """The public server: on SIGTERM/SIGINT, /readyz turns 503 at once, while requests drain."""

    def __init__(self, config: uvicorn.Config, state: AdminState) -> None:
        super().__init__(config)
        self.admin_state = state

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.admin_state.draining = True
        super().handle_exit(sig, frame)
