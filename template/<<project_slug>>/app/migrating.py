"""Alembic, driven from code: Forge's environment in app/migrations, the project's revisions beside app/.

`env.py` and the revision template are generated (app/migrations); the revisions are the project's own
(`migrations/versions/`, scaffolded once per resource, then written with `make migration`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .jobqueue.broker import init_schema as init_jobs_schema

if TYPE_CHECKING:
    from alembic.config import Config

ENVIRONMENT = Path(__file__).resolve().parent / "migrations"
REVISIONS = Path(__file__).resolve().parents[1] / "migrations" / "versions"


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # imported on use: `serve` starts faster without Alembic

    config = Config()
    config.set_main_option("script_location", str(ENVIRONMENT))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(REVISIONS))
    config.attributes["url"] = url
    return config


def migrate(url: str, *, check: bool = False) -> None:
    """Upgrade to head; with check, also fail when the models have drifted from the migrations."""
    from alembic import command

    config = alembic_config(url)
    command.upgrade(config, "head")
    init_jobs_schema(url)  # the job broker's own tables, outside Alembic (see app/jobqueue/broker.py)
    if check:
        command.check(config)
