"""`<project> worker`: run the declared jobs with the queues and concurrency of forge.toml.

Dramatiq has no per-queue concurrency inside one process, so each queue gets its own group of
processes (`[jobs.queues.<name>] processes`, each with `threads` worker threads). The parent
process supervises them and runs the scheduler; SIGTERM/SIGINT are passed on, and every child
lets its in-flight jobs finish within `jobs.shutdown_timeout_seconds`. A job still running when
a process dies stays claimed until its heartbeat expires, then runs again elsewhere.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from types import FrameType

import sqlalchemy as SA
from loguru import logger
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from ..build_info import build_info
from ..observe.admin import AdminState
from ..observe.serving import AdminThread
from ..observe.tracing import configure_tracing, flush_traces
from ..settings import QueueSettings, Settings
from .registry import discover
from .runtime import JobsRuntime, MissingActors, required_kinds
from .schedules import Scheduler

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def queue_plan(settings: Settings) -> dict[str, QueueSettings]:
    """Queues to run: those of forge.toml, plus any a job is enqueued on (one thread each)."""
    plan = dict(settings.jobs.queues)
    for queue in sorted(set(required_kinds(settings.jobs).values()) - set(plan)):
        plan[queue] = QueueSettings()
    return plan


def _stop_event() -> threading.Event:
    stop = threading.Event()

    def handle(signum: int, _frame: FrameType | None) -> None:
        logger.info("received {}, stopping", signal.Signals(signum).name)
        stop.set()

    for sig in STOP_SIGNALS:
        signal.signal(sig, handle)
    return stop


def run_queue(settings: Settings, url: str, queue: str, threads: int) -> int:
    """One worker process for one queue (the child side of `worker`)."""
    if settings.observe.tracing:
        # Job spans of this process go where the API's go (OTLP when configured); flushed below.
        configure_tracing(settings.observe.service_name, build_info().version)
    try:
        runtime = JobsRuntime(settings.jobs, url, discover(settings.jobs.package))
    except (MissingActors, ValueError, ImportError) as exc:
        print(f"worker refused to start: {exc}", file=sys.stderr)
        return 2
    stop = _stop_event()
    worker = runtime.worker(queues={queue}, threads=threads)
    worker.start()
    logger.info("worker pid {} consuming queue {} with {} thread(s)", os.getpid(), queue, threads)
    stop.wait()
    worker.stop(timeout=int(settings.jobs.shutdown_timeout_seconds * 1000))
    runtime.close()
    flush_traces()
    return 0


def worker_admin(settings: Settings, runtime: JobsRuntime, metrics_dir: str) -> AdminThread:
    """The worker's own /metrics, /healthz and /readyz on `jobs.worker_admin_port`.

    Queue processes write their metrics to `metrics_dir` (prometheus_client's multiprocess mode);
    this registry adds them up, so one scrape sees every process of the worker.
    """
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=metrics_dir)  # type: ignore[no-untyped-call]

    def ping() -> None:
        with runtime.engine.connect() as connection:
            connection.execute(SA.text("SELECT 1"))

    async def database() -> None:
        await asyncio.to_thread(ping)

    state = AdminState(checks={"database": database}, registry=registry)
    return AdminThread(state, settings.admin.host, settings.jobs.worker_admin_port)


def supervise(settings: Settings, url: str, argv_prefix: Sequence[str]) -> int:
    """Start every queue's processes, run the scheduler, stop them all on SIGTERM/SIGINT."""
    try:
        specs = discover(settings.jobs.package)
        runtime = JobsRuntime(settings.jobs, url, specs)
    except (MissingActors, ValueError, ImportError) as exc:
        print(f"worker refused to start: {exc}", file=sys.stderr)
        return 2
    metrics_dir = tempfile.mkdtemp(prefix="forge-worker-metrics-")
    try:
        admin = worker_admin(settings, runtime, metrics_dir)
        admin.start()
    except OSError as exc:
        print(f"worker refused to start: {exc}", file=sys.stderr)
        runtime.close()
        shutil.rmtree(metrics_dir, ignore_errors=True)
        return 2
    try:
        return _run_children(settings, url, argv_prefix, runtime, metrics_dir)
    finally:
        admin.stop()
        runtime.close()
        shutil.rmtree(metrics_dir, ignore_errors=True)


def _run_children(
    settings: Settings, url: str, argv_prefix: Sequence[str], runtime: JobsRuntime, metrics_dir: str
) -> int:
    stop = _stop_event()
    env = {**os.environ, "FORGE_DATABASE_URL": url, "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
    children: list[subprocess.Popen[bytes]] = []
    for queue, plan in queue_plan(settings).items():
        for _ in range(plan.processes):
            command = [*argv_prefix, "worker", "--queue", queue, "--threads", str(plan.threads)]
            children.append(subprocess.Popen(command, env=env))
    scheduler = Scheduler(runtime, settings.jobs.schedules)
    scheduler.start()
    logger.info(
        "worker supervising {} process(es); {} schedule(s)", len(children), len(settings.jobs.schedules)
    )
    while not stop.wait(0.5):
        if any(child.poll() is not None for child in children):
            logger.error("a worker process exited; stopping the others")
            break
    scheduler.stop()
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + settings.jobs.shutdown_timeout_seconds + 5
    status = 0
    for child in children:
        try:
            code = child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            code = child.wait()
        mark_process_dead(child.pid, metrics_dir)  # type: ignore[no-untyped-call]
        status = status or (code if code > 0 else 0)
    return 0 if stop.is_set() and status == 0 else (status or 1)


class InProcessWorker:
    """Worker threads (and the scheduler) inside the API process: `<project> dev` runs one command."""

    def __init__(self, settings: Settings, url: str) -> None:
        self.settings = settings
        self.runtime = JobsRuntime(settings.jobs, url, discover(settings.jobs.package))
        threads = sum(plan.threads for plan in queue_plan(settings).values())
        self.worker = self.runtime.worker(threads=max(1, threads))
        self.scheduler = Scheduler(self.runtime, settings.jobs.schedules)

    def start(self) -> None:
        self.worker.start()
        self.scheduler.start()
        logger.info("in-process worker started ({} thread(s))", self.worker.worker_threads)

    def stop(self) -> None:
        self.scheduler.stop()
        self.worker.stop(timeout=int(self.settings.jobs.shutdown_timeout_seconds * 1000))
        self.runtime.close()
