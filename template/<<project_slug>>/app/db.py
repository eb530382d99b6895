"""Engine and sessions: one async engine per process, sessions scoped to a tenant."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from .settings import DatabaseSettings
from .tenancy import TENANT_KEY


def sqlalchemy_url(url: str) -> str:
    """Accept the usual `postgresql://` / `postgres://` URLs and select the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"database.url must be a PostgreSQL URL, got {parsed.drivername!r}")
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """The same server as a plain libpq URL, for psycopg connections outside SQLAlchemy."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @classmethod
    def connect(cls, url: str, settings: DatabaseSettings) -> Database:
        engine = create_async_engine(
            sqlalchemy_url(url),
            pool_size=settings.pool_size,
            max_overflow=settings.max_overflow,
            pool_timeout=settings.pool_timeout_seconds,
            pool_pre_ping=True,
            echo=settings.echo,
        )
        return cls(engine, async_sessionmaker(engine, expire_on_commit=False))

    @asynccontextmanager
    async def session(self, tenant_id: str | None) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            session.info[TENANT_KEY] = tenant_id
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
