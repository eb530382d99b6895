"""Cron schedules from forge.toml: each tick enqueues its job exactly once, however many schedulers run.

Every worker supervisor (and dev mode) runs a scheduler, so there is no single point of failure. The
dedupe lives in PostgreSQL, not in memory: a tick is claimed by inserting (schedule, tick) into
`dramatiq.forge_schedule_tick`, and the job is enqueued in that same transaction; the primary key
lets exactly one scheduler win. Ticks missed while no scheduler ran are not replayed.

Cron parsing is cronsim (the parser behind Healthchecks.io): no dependencies, ships type hints
(this project is mypy-strict) and rejects malformed expressions instead of guessing. croniter
would also do; it brings python-dateutil along and has had a bumpier maintenance history.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import sqlalchemy as SA
from cronsim import CronSim
from loguru import logger

from ..settings import ScheduleSettings
from .broker import SCHEMA
from .enqueue import enqueue_on

if TYPE_CHECKING:
    from .runtime import JobsRuntime

CLAIM = SA.text(
    f"INSERT INTO {SCHEMA}.forge_schedule_tick (schedule, tick) VALUES (:schedule, :tick) "
    "ON CONFLICT DO NOTHING"
)


def schedule_key(schedule: ScheduleSettings) -> str:
    return f"{schedule.kind}|{schedule.queue}|{schedule.cron}"


def next_tick(schedule: ScheduleSettings, after: datetime.datetime) -> datetime.datetime:
    tick: datetime.datetime = next(CronSim(schedule.cron, after))
    return tick


class Scheduler:
    def __init__(
        self, runtime: JobsRuntime, schedules: Sequence[ScheduleSettings], *, poll_seconds: float = 1.0
    ) -> None:
        self.runtime = runtime
        self.schedules = list(schedules)
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        now = datetime.datetime.now(datetime.UTC)
        self._next = {schedule_key(s): next_tick(s, now) for s in self.schedules}

    def fire(self, schedule: ScheduleSettings, tick: datetime.datetime) -> bool:
        """Claim `tick` and enqueue its job in one transaction; False if another scheduler did."""
        with self.runtime.engine.begin() as connection:
            # A concurrent scheduler blocks on the primary key until this transaction ends, then
            # inserts nothing. The claim and the job commit together: a crash in between leaves neither.
            claimed = connection.execute(CLAIM, {"schedule": schedule_key(schedule), "tick": tick}).rowcount
            if claimed != 1:
                return False
            kwargs = {"tenant_id": None, "scheduled_at": tick.isoformat()}
            message = enqueue_on(connection, schedule.kind, schedule.queue, kwargs)
        logger.info("scheduled {} for {} (message {})", schedule.kind, tick.isoformat(), message.message_id)
        return True

    def run_due(self, now: datetime.datetime) -> int:
        """Fire every schedule whose next tick is due at `now`; return how many this scheduler claimed."""
        fired = 0
        for schedule in self.schedules:
            key = schedule_key(schedule)
            tick = self._next[key]
            if tick > now:
                continue
            try:
                fired += self.fire(schedule, tick)
            except Exception:
                logger.exception("schedule {} failed at {}; trying the next tick", key, tick.isoformat())
            self._next[key] = next_tick(schedule, now)
        return fired

    def start(self) -> None:
        if not self.schedules:
            return
        self._thread = threading.Thread(target=self._loop, name="forge-scheduler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self.run_due(datetime.datetime.now(datetime.UTC))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
