"""An embedded PostgreSQL for development and tests (the `pgserver` wheel): no database install needed.

Only used when `database.url` is empty. The server lives under the project directory and stops
when the last process using it exits. Production images do not ship pgserver.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from loguru import logger

from .settings import ConfigError, Settings


def _server(data_dir: Path, cleanup_mode: str) -> Any:
    with warnings.catch_warnings():
        # pgserver asks platformdirs for a runtime directory it does not need here; where
        # XDG_RUNTIME_DIR is unset (containers, CI) that warns in every test run.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        try:
            import pgserver
        except ImportError:
            raise ConfigError(
                "config error: database.url is empty and the embedded PostgreSQL (pgserver, a development "
                "dependency) is not installed; set FORGE_DATABASE_URL"
            ) from None
        data_dir.mkdir(parents=True, exist_ok=True)
        return pgserver.get_server(data_dir, cleanup_mode=cleanup_mode)


def start_embedded(data_dir: str | Path) -> str:
    """Start (or join) the embedded server in `data_dir`; return its libpq URL."""
    path = Path(data_dir).resolve()
    url: str = _server(path, "stop").get_uri()
    logger.info("embedded PostgreSQL running in {}", path)
    return url


@contextmanager
def throwaway_server() -> Iterator[str]:
    """A server in a fresh directory of the system temp dir, deleted afterwards (tests).

    Not under pytest's tmp_path: as root, pgserver runs postgres as another user, which must be able to
    traverse the directory, and pytest keeps its temp root private (0700).
    """
    server = _server(Path(tempfile.mkdtemp(prefix="forge-pg-")), "delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


def database_url(settings: Settings) -> str:
    """The configured server, or the embedded one when none is configured."""
    return settings.database.url or start_embedded(settings.database.embedded_dir)
