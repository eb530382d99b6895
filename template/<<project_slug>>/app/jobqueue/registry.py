"""`@job(kind)`: declare the worker function of a job kind; the worker process binds it to the broker.

Declaring is separate from binding so that importing a worker module needs no database, no
settings and no broker (tests, linters and the API never build one by accident).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .context import JobContext

JobFunction = Callable[[JobContext], None]


@dataclass(frozen=True)
class JobSpec:
    kind: str
    fn: JobFunction
    # None: the queue the hooks glue assigns to the kind (from the Copier answers), else "default".
    queue: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


_SPECS: dict[str, JobSpec] = {}


def job(
    kind: str,
    *,
    queue: str | None = None,
    max_retries: int | None = None,
    min_backoff_ms: int | None = None,
    max_backoff_ms: int | None = None,
    on_discard: str | None = None,
) -> Callable[[JobFunction], JobFunction]:
    """Register `fn` as the worker of `kind`. Options override the forge.toml [jobs] defaults."""
    options: dict[str, Any] = {
        name: value
        for name, value in {
            "max_retries": max_retries,
            "min_backoff": min_backoff_ms,
            "max_backoff": max_backoff_ms,
            "on_discard": on_discard,
        }.items()
        if value is not None
    }

    def register(fn: JobFunction) -> JobFunction:
        existing = _SPECS.get(kind)
        if existing is not None and _where(existing.fn) != _where(fn):
            raise ValueError(
                f"job kind {kind!r} is declared twice: {existing.fn.__module__} and {fn.__module__}"
            )
        _SPECS[kind] = JobSpec(kind=kind, fn=fn, queue=queue, options=options)
        return fn

    return register


def _where(fn: JobFunction) -> tuple[str, str]:
    return fn.__module__, fn.__qualname__


def discover(package: str) -> dict[str, JobSpec]:
    """Import every module of `package` (so their @job declarations run); return all declared jobs."""
    try:
        root = importlib.import_module(package)
    except ModuleNotFoundError as exc:
        raise ImportError(f"jobs.package {package!r} cannot be imported: {exc}") from None
    for info in pkgutil.walk_packages(getattr(root, "__path__", []), prefix=f"{package}."):
        importlib.import_module(info.name)
    return dict(_SPECS)
