"""Serving the public API: uvicorn with a draining shutdown, and the banner `dev` prints first."""

from __future__ import annotations

import uvicorn
from loguru import logger

from .auth import issue_token
from .main import API_PREFIX, create_app
from .observe.runtime import DrainingServer
from .realtime.routes import LIVE_PREFIX
from .resources import RESOURCES
from .settings import Settings


def serve(settings: Settings) -> None:
    app = create_app(settings)
    logger.info("API on http://{}:{}/docs", settings.http.host, settings.http.port)
    config = uvicorn.Config(
        app,
        host=settings.http.host,
        port=settings.http.port,
        log_config=None,
        proxy_headers=True,
        timeout_graceful_shutdown=int(settings.http.shutdown_grace_seconds),
    )
    try:
        DrainingServer(config, app.state.admin_state).run()
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C once it has shut down cleanly: no traceback
        logger.info("stopped")


def print_dev_banner(settings: Settings) -> None:
    """What a developer needs to start poking at the running service."""
    base = f"http://{settings.http.host}:{settings.http.port}"
    token = issue_token(settings.app.secret_key, "dev", "demo", settings.app.token_ttl_seconds)
    example = f"{base}{API_PREFIX}{RESOURCES[0].path}" if RESOURCES else f"{base}/docs"
    live = f"{base}{LIVE_PREFIX}{RESOURCES[0].path}?token={token}" if RESOURCES else "(no resources)"
    admin = f"http://{settings.admin.host}:{settings.admin.port}"
    print(
        f"\n  API docs   {base}/docs\n"
        f"  live page  {live}\n"
        f"  admin      {admin}/metrics  {admin}/healthz  {admin}/readyz\n"
        f"  workers    in this process (queues: {', '.join(settings.jobs.queues) or 'default'})\n"
        f"  token      {token}\n"
        f'  try        curl -H "Authorization: Bearer {token}" {example}\n',
        flush=True,
    )
