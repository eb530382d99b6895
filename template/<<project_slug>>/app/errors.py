"""Failures that are not the client's fault but not a bug either: the database is unreachable or saturated.

They answer 503 with Retry-After, so clients and load balancers back off instead of seeing a 500.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from loguru import logger
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

RETRY_AFTER_SECONDS = 5


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("database unavailable for {} {}: {}", request.method, request.url.path, exc)
    return JSONResponse(
        {"detail": "database unavailable, retry later"},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def install_error_handlers(app: FastAPI) -> None:
    for error in (OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(error, _database_unavailable)
