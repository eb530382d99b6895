"""One process's job machinery: the broker, the declared jobs bound to it as Dramatiq actors, and a
synchronous engine for job sessions. Built by `<project> worker`, by dev mode, and by tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dramatiq
from dramatiq.middleware import CurrentMessage
from loguru import logger
from sqlalchemy import Engine, create_engine
from sqlalchemy import orm as ORM

from ..db import sqlalchemy_url
from ..settings import JobsSettings
from ..write_path import install_write_path
from .broker import build_broker, kind_options
from .context import JobContext, current_tenant
from .enqueue import configure_enqueue, reset_enqueue
from .hooks import KIND_QUEUES
from .middleware import Discard
from .registry import JobSpec


class MissingActors(RuntimeError):
    """Hooks or schedules name job kinds that no module declares with @job."""

    def __init__(self, kinds: list[str], package: str) -> None:
        self.kinds = kinds
        super().__init__(
            f"no worker for job kind(s) {', '.join(kinds)}: declare each with @job(kind) in a module of "
            f"{package} (copier update recreates deleted worker scaffolds)"
        )


def required_kinds(jobs: JobsSettings) -> dict[str, str]:
    """Every kind something enqueues automatically (hooks, schedules) -> its queue."""
    kinds = dict(KIND_QUEUES)
    for schedule in jobs.schedules:
        kinds.setdefault(schedule.kind, schedule.queue)
    return kinds


def check_kinds(jobs: JobsSettings, specs: Mapping[str, JobSpec]) -> None:
    """Refuse to run when a hook or schedule names a kind no worker declares, or a queue disagrees."""
    required = required_kinds(jobs)
    missing = sorted(set(required) - set(specs))
    if missing:
        raise MissingActors(missing, jobs.package)
    for kind, queue in required.items():
        declared = specs[kind].queue
        if declared is not None and declared != queue:
            raise ValueError(f"job {kind}: @job(queue={declared!r}) but its hooks enqueue it on {queue!r}")


def queue_of(spec: JobSpec, jobs: JobsSettings) -> str:
    return spec.queue or required_kinds(jobs).get(spec.kind, "default")


class JobsRuntime:
    def __init__(
        self, jobs: JobsSettings, url: str, specs: Mapping[str, JobSpec], **broker_options: Any
    ) -> None:
        check_kinds(jobs, specs)
        self.jobs = jobs
        self.broker = build_broker(jobs, url, **broker_options)
        self.engine: Engine = create_engine(
            sqlalchemy_url(url), pool_size=4, max_overflow=16, pool_pre_ping=True
        )
        self.sessions = ORM.sessionmaker(self.engine, expire_on_commit=False)
        self.actors: dict[str, dramatiq.Actor[Any, Any]] = {}
        discard = next(m for m in self.broker.middleware if isinstance(m, Discard))
        for spec in specs.values():
            options = {**spec.options, **kind_options(jobs, spec.kind)}
            on_discard = options.pop("on_discard", None)
            if on_discard:
                discard.register_actor_callback(spec.kind, on_discard)
            self.actors[spec.kind] = dramatiq.Actor(
                self._actor_function(spec),
                broker=self.broker,
                actor_name=spec.kind,
                queue_name=queue_of(spec, jobs),
                priority=0,
                options=options,
            )
        # Jobs write rows too: tenant-scoped, enqueuing hook jobs and announcing changes like the API's.
        install_write_path()
        self.enqueuer = configure_enqueue(self.broker, jobs)
        dramatiq.set_broker(self.broker)

    def _actor_function(self, spec: JobSpec) -> Any:
        def run(**kwargs: Any) -> None:
            self.run(spec, kwargs)

        run.__name__ = run.__qualname__ = spec.kind
        run.__module__ = spec.fn.__module__
        return run

    def run(self, spec: JobSpec, kwargs: Mapping[str, Any]) -> None:
        """Run one message with its tenant restored; commit what it wrote through its session."""
        message = CurrentMessage.get_current_message()
        context = JobContext(
            kind=spec.kind,
            message_id=message.message_id if message else "",
            tenant_id=current_tenant(),
            attempt=int(message.options.get("attempts", 1)) if message else 1,
            open_session=self.sessions,
            kwargs=kwargs,
        )
        try:
            with logger.contextualize(job=spec.kind, message_id=context.message_id, tenant=context.tenant_id):
                spec.fn(context)
            if context.opened is not None:
                context.opened.commit()
        finally:
            if context.opened is not None:
                context.opened.close()

    def worker(self, queues: set[str] | None = None, threads: int = 1) -> dramatiq.Worker:
        return dramatiq.Worker(self.broker, queues=queues, worker_threads=threads)

    def close(self) -> None:
        reset_enqueue(self.enqueuer)
        self.broker.close()
        self.engine.dispose()
