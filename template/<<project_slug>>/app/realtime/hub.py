"""The notification hub: one subscription source per process, fanned out by topic and tenant.

`FanoutHub` is the in-process half every backend shares: bounded per-subscriber queues (a full
queue is emptied and replaced by one "refresh", so a slow reader costs memory it is allowed and
no more), routing by (topic, tenant), and one shared `Event` per change and group so a change is
rendered once, not once per subscriber. `PostgresHub` feeds it from ONE autocommit LISTEN
connection. A Redis pub/sub backend (for PgBouncer in transaction mode, where LISTEN does not work)
would subclass `FanoutHub` the same way; the transactional NOTIFY in `events` would then need an
outbox relay.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import psycopg
from loguru import logger
from psycopg import sql

from ..observe.metrics import SSE_DROPS
from .events import CHANNEL, Change, decode, encode

T = TypeVar("T")
WILDCARD = "*"


class Event:
    """A change as delivered to every subscriber of one group; renders are memoised on it."""

    __slots__ = ("change", "_renders")

    def __init__(self, change: Change) -> None:
        self.change = change
        self._renders: dict[object, asyncio.Future[Any]] = {}

    async def once(self, render: Callable[[Change], Awaitable[T]]) -> T:
        """`render(change)`, computed by the first subscriber to ask and shared with the rest.

        Shielded, so a subscriber that disconnects mid-render does not cancel it for the others.
        """
        future = self._renders.get(render)
        if future is None:
            future = self._renders[render] = asyncio.ensure_future(render(self.change))
        elif future.done():  # the common case for every subscriber but the first
            done: T = future.result()
            return done
        result: T = await asyncio.shield(future)
        return result


@dataclass
class HubStats:
    connects: int = 0
    notifications: int = 0
    malformed: int = 0


class Subscription:
    """One reader's bounded queue of events for a (topic, tenant)."""

    __slots__ = ("topic", "tenant", "_queue", "_finished")

    def __init__(self, topic: str, tenant: str, size: int) -> None:
        self.topic = topic
        self.tenant = tenant
        self._queue: asyncio.Queue[Event] = asyncio.Queue(size)
        self._finished = False

    def offer(self, event: Event) -> None:
        """Queue without waiting; when full, drop everything queued for one refresh of the list."""
        if self._finished:
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.replace(Event(Change.refresh(self.tenant, self.topic)), "queue_full")

    def replace(self, event: Event, reason: str) -> None:
        """Empty the queue and leave only `event` (a refresh or the farewell)."""
        dropped = 0
        while not self._queue.empty():
            self._queue.get_nowait()
            dropped += 1
        if dropped:
            SSE_DROPS.labels(self.topic, reason).inc(dropped)
        self._queue.put_nowait(event)

    def finish(self, event: Event) -> None:
        """Make `event` the last one this reader gets (the farewell at shutdown)."""
        self.replace(event, "shutdown")
        self._finished = True

    async def get(self) -> Event:
        return await self._queue.get()


class Hub(Protocol):
    """What the SSE streams need from a backend."""

    stats: HubStats

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    def subscribe(self, topic: str, tenant: str) -> AbstractContextManager[Subscription]:
        """Receive the events of `topic` in `tenant` until the context is left."""
        ...

    async def publish(self, change: Change) -> None:
        """Announce a change made outside the ORM events (e.g. a Core bulk update), after commit."""
        ...


class FanoutHub:
    """Routing and queues shared by every backend; `deliver` is called with each change received."""

    def __init__(self, queue_size: int) -> None:
        self.stats = HubStats()
        self._queue_size = queue_size
        self._groups: dict[tuple[str, str], set[Subscription]] = {}

    @contextmanager
    def subscribe(self, topic: str, tenant: str) -> Iterator[Subscription]:
        subscription = Subscription(topic, tenant, self._queue_size)
        key = (topic, tenant)
        self._groups.setdefault(key, set()).add(subscription)
        try:
            yield subscription
        finally:
            group = self._groups.get(key)
            if group is not None:
                group.discard(subscription)
                if not group:
                    del self._groups[key]

    def deliver(self, change: Change) -> None:
        """Hand `change` to its group; a wildcard refresh reaches every matching group."""
        if change.topic != WILDCARD and change.tenant != WILDCARD:
            self._offer(self._groups.get((change.topic, change.tenant), ()), Event(change))
            return
        for (topic, tenant), group in list(self._groups.items()):
            if change.topic in (WILDCARD, topic) and change.tenant in (WILDCARD, tenant):
                self._offer(group, Event(Change.refresh(tenant, topic)))

    def refresh_all(self) -> None:
        """Every reader reloads its list: used after (re)connecting, when notifications may be lost."""
        self.deliver(Change.refresh(WILDCARD, WILDCARD))

    @staticmethod
    def _offer(group: set[Subscription] | tuple[()], event: Event) -> None:
        for subscription in tuple(group):
            subscription.offer(event)


class PostgresHub(FanoutHub):
    """LISTEN on one dedicated autocommit connection; reconnect with jittered exponential backoff."""

    def __init__(
        self,
        url: str,
        *,
        queue_size: int,
        channel: str = CHANNEL,
        backoff_min: float = 0.1,
        backoff_max: float = 10.0,
        keepalive_idle: int = 30,
    ) -> None:
        super().__init__(queue_size)
        self._url = url
        self._channel = channel
        self._backoff = (backoff_min, backoff_max)
        # The server cannot tell us it vanished behind a dead network; TCP keepalives can.
        self._connect_args: dict[str, Any] = {
            "autocommit": True,
            "keepalives": 1,
            "keepalives_idle": keepalive_idle,
            "keepalives_interval": max(1, keepalive_idle // 3),
            "keepalives_count": 3,
            "application_name": "forge-live-hub",
        }
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()
        self.backend_pid: int | None = None

    @property
    def running(self) -> bool:
        """The LISTEN loop is alive (connected, or retrying with backoff)."""
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start listening in the background; streams opened before it connects get its refresh."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="forge-live-hub")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self.listening.clear()

    async def publish(self, change: Change) -> None:
        payload = encode([change], None)
        async with await psycopg.AsyncConnection.connect(self._url, autocommit=True) as conn:
            await conn.execute("SELECT pg_notify(%s, %s)", (self._channel, payload))

    async def _run(self) -> None:
        delay = self._backoff[0]
        while True:
            try:
                await self._listen()
                delay = self._backoff[0]
            except (psycopg.Error, OSError) as exc:
                logger.warning("live hub: LISTEN connection failed ({}); retrying in ~{:.1f}s", exc, delay)
            finally:
                self.listening.clear()
                self.backend_pid = None
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, self._backoff[1])

    async def _listen(self) -> None:
        async with await psycopg.AsyncConnection.connect(self._url, **self._connect_args) as conn:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
            self.backend_pid = conn.info.backend_pid
            self.stats.connects += 1
            self.listening.set()
            logger.info("live hub: listening on {!r} (backend {})", self._channel, self.backend_pid)
            # Anything sent while we were away is lost: every reader reloads its list.
            self.refresh_all()
            async for note in conn.notifies():
                self._receive(note.payload)

    def _receive(self, payload: str) -> None:
        self.stats.notifications += 1
        try:
            changes = decode(payload)
        except (ValueError, KeyError, TypeError):
            self.stats.malformed += 1
            logger.warning("live hub: ignoring a malformed notification: {!r}", payload[:200])
            return
        for change in changes:
            self.deliver(change)
