"""Dramatiq middleware of every Forge worker: tenant restore and discard handling.

Retries come from Dramatiq's own Retries middleware (configured in broker.py). Its
`on_retry_exhausted` *sends a message*; Forge's promise is a function called once, so Discard
hooks `after_nack`, which Dramatiq emits exactly once when it rejects a message for good.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from dramatiq import Broker, Message, Middleware
from dramatiq.broker import MessageProxy
from loguru import logger

from .context import JOB_TENANT

DiscardCallback = Callable[[Message[Any], str], None]


class TenantContext(Middleware):
    """Restore the message's tenant before the actor runs; clear it afterwards."""

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        tenant = message.kwargs.get("tenant_id")
        JOB_TENANT.set(tenant if isinstance(tenant, str) else None)

    def after_process_message(
        self,
        broker: Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        JOB_TENANT.set(None)

    def after_skip_message(self, broker: Broker, message: MessageProxy) -> None:
        JOB_TENANT.set(None)


def resolve_callback(path: str, origin: str) -> DiscardCallback:
    """Import `module:function`; fail at worker start-up rather than at the first discard."""
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"{origin}: on_discard must be 'module:function', got {path!r}")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"{origin}: cannot import on_discard {path!r}: {exc}") from None
    if not callable(target):
        raise ValueError(f"{origin}: on_discard {path!r} is not callable")
    callback: DiscardCallback = target
    return callback


class Discard(Middleware):
    """Count attempts, remember the last error, and report a discarded message exactly once.

    The message itself stays in the queue table in state `rejected` (inspectable until purged).
    """

    def __init__(self, default: str = "", per_kind: Mapping[str, str] | None = None) -> None:
        self.callbacks: dict[str, DiscardCallback] = {}
        self.default = resolve_callback(default, "jobs.on_discard") if default else None
        for kind, path in (per_kind or {}).items():
            self.callbacks[kind] = resolve_callback(path, f"job {kind}")

    @property
    def actor_options(self) -> set[str]:
        return {"on_discard"}

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        message.options["attempts"] = int(message.options.get("attempts", 0)) + 1

    def after_process_message(
        self,
        broker: Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if exception is not None:
            message.options["error"] = f"{type(exception).__name__}: {exception}"

    def after_nack(self, broker: Broker, message: MessageProxy) -> None:
        error = str(message.options.get("error", "rejected before it ran"))
        logger.warning(
            "job discarded: kind={} message_id={} tenant={} attempts={} error={}",
            message.actor_name,
            message.message_id,
            message.kwargs.get("tenant_id"),
            message.options.get("attempts", 0),
            error,
        )
        callback = self.callbacks.get(message.actor_name, self.default)
        if callback is None:
            return
        try:
            callback(message.copy(), error)
        except Exception:
            logger.exception("on_discard callback of job {} failed", message.actor_name)

    def register_actor_callback(self, kind: str, path: str) -> None:
        self.callbacks[kind] = resolve_callback(path, f"job {kind}")
