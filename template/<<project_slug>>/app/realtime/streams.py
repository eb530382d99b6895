"""SSE streams of a live view: limits, full state first, then changes, pings, farewell at shutdown.

Limits count open streams per process (in total and per user): N processes hold up to N times the
configured numbers. The slot is taken inside the response's `__call__`, i.e. for exactly as long as
the stream is being sent, and released however it ends (client gone, send timeout, shutdown, error).
What that relies on of sse-starlette is in adapters/sse_starlette.py.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import anyio
from datastar_py import ServerSentEventGenerator as SSE
from loguru import logger
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from ..adapters.sse_starlette import EventSourceResponse, SendTimeoutError, ServerSentEvent
from ..observe.metrics import SSE_DROPS, SSE_DURATION, SSE_EVENTS, SSE_OPEN, SSE_REJECTIONS
from ..settings import SseSettings
from .events import Change
from .hub import Event, Hub, Subscription
from .views import LiveView

SEPARATOR = "\n"
PING = ServerSentEvent(comment="ping", sep=SEPARATOR)
# Queued in place of everything else when the server shuts down; never rendered.
FAREWELL = Event(Change.refresh("", ""))


@dataclass
class StreamStats:
    """What the limiter counts with, and what Prometheus has no family for.

    Rejections, events sent and readers cut off are counted by the sse_* families of observe/metrics.py.
    """

    open: int = 0
    opened: int = 0
    farewells: int = 0
    per_user: dict[str, int] = field(default_factory=dict)


class Limiter:
    """Open streams of this process, in total and per user."""

    def __init__(self, max_total: int, max_per_user: int, stats: StreamStats) -> None:
        self.max_total = max_total
        self.max_per_user = max_per_user
        self.stats = stats

    def acquire(self, user: str) -> bool:
        held = self.stats.per_user.get(user, 0)
        if self.stats.open >= self.max_total or held >= self.max_per_user:
            SSE_REJECTIONS.labels(
                "max_connections" if self.stats.open >= self.max_total else "max_per_user"
            ).inc()
            return False
        self.stats.open += 1
        self.stats.opened += 1
        self.stats.per_user[user] = held + 1
        return True

    def release(self, user: str) -> None:
        self.stats.open -= 1
        held = self.stats.per_user.get(user, 0) - 1
        if held > 0:
            self.stats.per_user[user] = held
        else:
            self.stats.per_user.pop(user, None)


class LimitedEventSourceResponse(EventSourceResponse):
    """An EventSourceResponse that holds a limiter slot while it streams, or answers 429."""

    def __init__(
        self,
        content: AsyncIterator[bytes],
        *,
        limiter: Limiter,
        user: str,
        stream: str,
        retry_after: int,
        **kwargs: Any,
    ) -> None:
        super().__init__(content, **kwargs)
        self._limiter = limiter
        self._user = user
        self._stream = stream
        self._retry_after = retry_after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._limiter.acquire(self._user):
            refuse = JSONResponse(
                {"detail": "too many live streams; retry later"},
                status_code=429,
                headers={"Retry-After": str(self._retry_after)},
            )
            await refuse(scope, receive, send)
            return
        SSE_OPEN.labels(self._stream).inc()
        started = time.monotonic()
        try:
            await super().__call__(scope, receive, send)
        except SendTimeoutError:
            # The reader stopped reading: drop it rather than buffer for it.
            SSE_DROPS.labels(self._stream, "send_timeout").inc()
            logger.info("live stream closed: the client stopped reading")
        finally:
            self._limiter.release(self._user)
            SSE_OPEN.labels(self._stream).dec()
            SSE_DURATION.labels(self._stream).observe(time.monotonic() - started)


def farewell(settings: SseSettings) -> bytes:
    """The last event: reconnect after a random pause, so clients do not all return at once."""
    retry = random.randint(settings.farewell_retry_min_ms, settings.farewell_retry_max_ms)
    return SSE.patch_signals({"forgeLive": "reconnecting"}, retry_duration=retry).encode()


async def live_events(
    view: LiveView, tenant: str, hub: Hub, settings: SseSettings, shutdown: anyio.Event, stats: StreamStats
) -> AsyncIterator[bytes]:
    """Full state, then each change as it comes; changes the state already showed are skipped."""
    sent = SSE_EVENTS.labels(view.name)
    with hub.subscribe(view.name, tenant) as subscription:
        watcher = asyncio.create_task(_finish_on(shutdown, subscription))
        try:
            # Subscribed before reading, so nothing committed in between is missed.
            first = await view.first_state(tenant)
            snapshot = first.snapshot
            sent.inc()
            yield first.data
            while True:
                event = await subscription.get()
                if event is FAREWELL:
                    stats.farewells += 1
                    sent.inc()
                    yield farewell(settings)
                    return
                change = event.change
                if change.xid is not None and snapshot is not None and snapshot.shows(change.xid):
                    continue
                rendered = await event.once(view.render_change)
                snapshot = rendered.snapshot or snapshot
                if rendered.data:
                    sent.inc()
                    yield rendered.data
        finally:
            watcher.cancel()


async def _finish_on(shutdown: anyio.Event, subscription: Subscription) -> None:
    await shutdown.wait()
    subscription.finish(FAREWELL)


def live_response(
    view: LiveView, tenant: str, user: str, hub: Hub, limiter: Limiter, settings: SseSettings
) -> LimitedEventSourceResponse:
    shutdown = anyio.Event()
    return LimitedEventSourceResponse(
        live_events(view, tenant, hub, settings, shutdown, limiter.stats),
        limiter=limiter,
        user=user,
        stream=view.name,
        retry_after=settings.retry_after_seconds,
        ping=settings.ping_seconds,
        ping_message_factory=lambda: PING,
        sep=SEPARATOR,
        send_timeout=settings.send_timeout_seconds,
        shutdown_event=shutdown,
        shutdown_grace_period=settings.shutdown_grace_seconds,
    )
