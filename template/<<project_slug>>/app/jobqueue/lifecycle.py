"""Jobs inside the API process: the broker its hooks enqueue through, and dev mode's worker threads."""

from __future__ import annotations

from ..settings import Settings
from .broker import build_broker
from .enqueue import configure_enqueue, reset_enqueue


class ApiJobs:
    """Started by the app's lifespan. Hooks need the broker only for its enqueue middleware: the job
    rows themselves are written on the request's own database connection."""

    def __init__(self, settings: Settings, url: str) -> None:
        self.broker = build_broker(settings.jobs, url, listen=False)
        self.enqueuer = configure_enqueue(self.broker, settings.jobs)
        self.worker = None
        if settings.jobs.in_process:
            from .worker import InProcessWorker

            self.worker = InProcessWorker(settings, url)
            self.worker.start()

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        reset_enqueue(self.enqueuer)
        self.broker.close()
