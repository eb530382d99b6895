"""The composition root: the one place that builds the app and wires its parts together.

Forge's routes first, then the project's own: its caller (caller.py), the business rules of each
resource (rules/), its routes and middleware (routes.py) and its readiness checks (checks.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from . import extensions
from .build_info import build_info, summary
from .crud import crud_router
from .db import Database
from .embedded import database_url
from .errors import install_error_handlers
from .jobqueue.lifecycle import ApiJobs
from .observe.runtime import observe_app, observed, telemetry_config
from .realtime.routes import Live, live_router
from .resources import RESOURCES
from .rules import rules_by_resource
from .settings import CorsSettings, Settings, load_settings
from .write_path import install_write_path

API_PREFIX = "/api"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    install_write_path()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = database_url(settings)
        database = Database.connect(url, settings.database)
        app.state.db = database
        jobs = ApiJobs(settings, url)
        app.state.live = await Live.start(settings, database, url, RESOURCES)
        try:
            async with observed(app, settings, database):
                admin_state = app.state.admin_state
                admin_state.checks = {**admin_state.checks, **extensions.readiness_checks(settings)}
                yield
        finally:
            await app.state.live.close()
            jobs.close()
            await database.dispose()

    app = FastAPI(
        title=settings.app.name,
        description=summary(),
        version=build_info().version,
        lifespan=lifespan,
        telemetry=telemetry_config(settings),
    )
    app.state.settings = settings
    app.state.caller = extensions.caller()
    install_error_handlers(app)
    observe_app(app, settings)
    _install_cors(app, settings.cors)
    rules = rules_by_resource(extensions.rule_modules())
    for resource in RESOURCES:
        app.include_router(crud_router(resource, rules[resource.name]), prefix=API_PREFIX)
    app.include_router(live_router(RESOURCES, rules))
    extensions.install_routes(app, settings)
    return app


def _install_cors(app: FastAPI, cors: CorsSettings) -> None:
    if cors.origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=cors.origins,
            allow_methods=cors.methods,
            allow_headers=cors.headers,
            allow_credentials=cors.credentials,
            max_age=cors.max_age_seconds,
        )
