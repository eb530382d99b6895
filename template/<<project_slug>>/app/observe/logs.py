"""loguru for every log line: coloured text in development, one JSON object per line in production.

Standard-library logging (uvicorn, SQLAlchemy, Dramatiq) is intercepted into loguru, so there is
one format and one place to configure it.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import TYPE_CHECKING, Any

from loguru import logger
from opentelemetry import trace

if TYPE_CHECKING:
    from loguru import Message, Record

DEV_FORMAT = (
    "<green>{time:HH:mm:ss.SSS}</green> <level>{level: <7}</level> "
    "<cyan>{name}</cyan> {message}{extra[trace]}"
)


class InterceptHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.opt(depth=6, exception=record.exc_info).log(level, record.getMessage())


def _add_trace_context(record: Record) -> None:
    """Inside a span, every line gets trace_id and span_id (JSON fields; appended in the dev format)."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        trace_id, span_id = f"{context.trace_id:032x}", f"{context.span_id:016x}"
        record["extra"].update(
            trace_id=trace_id, span_id=span_id, trace=f" trace_id={trace_id} span_id={span_id}"
        )


def _json_sink(message: Message) -> None:
    record = message.record
    line: dict[str, Any] = {
        "ts": record["time"].isoformat(),
        "level": record["level"].name,
        "logger": record["name"],
        "msg": record["message"],
    }
    line.update({k: v for k, v in record["extra"].items() if k != "trace" and v is not None})
    if record["exception"] is not None:
        line["exception"] = (
            message.split("\n", 1)[1].rstrip() if "\n" in message else str(record["exception"].value)
        )
    sys.stderr.write(json.dumps(line, default=str) + "\n")


def setup_logging(*, production: bool, level: str) -> None:
    logger.remove()
    logger.configure(extra={"trace": ""}, patcher=_add_trace_context)
    if production:
        logger.add(_json_sink, level=level, format="{message}\n{exception}", backtrace=False, diagnose=False)
    else:
        logger.add(sys.stderr, level=level, format=DEV_FORMAT, colorize=None, backtrace=False, diagnose=False)
    logging.basicConfig(handlers=[InterceptHandler()], level=logging.INFO, force=True)
    # uvicorn must stay at INFO: at level 0 it wraps every ASGI message in a debug logger.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "sqlalchemy", "alembic"):
        std = logging.getLogger(name)
        std.handlers = []
        std.propagate = True
    logging.getLogger("uvicorn").setLevel(logging.INFO)
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # the embedded server narrates every start
