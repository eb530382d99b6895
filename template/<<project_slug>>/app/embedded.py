"""An embedded PostgreSQL for development and tests (the `pgserver` wheel): no database install needed.

Only used when `database.url` is empty. The server lives under the project directory and stops
when the last process using it exits. Production images do not ship pgserver.
"""

from __future__ import annotations

from pathlib import Path

from loguru import logger

from .settings import ConfigError, Settings


def start_embedded(data_dir: str | Path) -> str:
    """Start (or join) the embedded server in `data_dir`; return its libpq URL."""
    try:
        import pgserver
    except ImportError:
        raise ConfigError(
            "config error: database.url is empty and the embedded PostgreSQL (pgserver, a development "
            "dependency) is not installed; set FORGE_DATABASE_URL"
        ) from None
    path = Path(data_dir).resolve()
    path.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(path)
    url: str = server.get_uri()
    logger.info("embedded PostgreSQL running in {}", path)
    return url


def database_url(settings: Settings) -> str:
    """The configured server, or the embedded one when none is configured."""
    return settings.database.url or start_embedded(settings.database.embedded_dir)
