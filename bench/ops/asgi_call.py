"""One in-process ASGI request, for the probes that count Python calls and CPU time per request: no
sockets and no client library inside the measurement. The probes run as scripts with the rendered
project's interpreter, so this folder is on their path.
"""

from __future__ import annotations

import asyncio
import cProfile
import importlib
import io
import pstats
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult


class DiscardSpans(SpanExporter):
    """Spans handed to a BatchSpanProcessor as with an OTLP endpoint, minus encoding and network."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


async def call(
    app: Any, token: bytes, *, method: str = "GET", path: str = "/api/products", query: bytes = b"limit=20"
) -> int:
    """The response's status; the body is read once, then the client stays connected (streams end)."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query,
        "root_path": "", "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
        "headers": [(b"host", b"bench"), (b"authorization", b"Bearer " + token)],
    }  # fmt: skip
    sent: list[dict[str, Any]] = []
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if requested:
            await asyncio.Event().wait()
        requested = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status: int = sent[0]["status"]
    return status


async def calls_per_request(request: Callable[[], Awaitable[object]], batch: int) -> int:
    """Python calls per request (cProfile counts every call exactly) over `batch` requests."""
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(batch):
        await request()
    profile.disable()
    return round(pstats.Stats(profile, stream=io.StringIO()).total_calls / batch)  # type: ignore[attr-defined]


def quiet_project(slug: str, database_url: str, **observe: bool) -> tuple[Any, Any, bytes]:
    """The project's `create_app`, its settings and a bearer token: admin port 0, logs at WARNING,
    every observability switch off but those named in `observe` (e.g. `tracing=True`)."""
    settings_module = importlib.import_module(f"{slug}.app.settings")
    issue_token = importlib.import_module(f"{slug}.app.auth").issue_token
    importlib.import_module(f"{slug}.app.observe.logs").setup_logging(production=True, level="WARNING")
    switches = {"metrics": False, "tracing": False, "access_log": False} | observe
    environ = {"FORGE_ADMIN_PORT": "0", "FORGE_DATABASE_URL": database_url}
    environ |= {f"FORGE_OBSERVE_{name.upper()}": str(on).lower() for name, on in switches.items()}
    settings = settings_module.load_settings(environ=environ)
    token: bytes = issue_token(settings.app.secret_key, "bench", "bench", 3600).encode()
    return importlib.import_module(f"{slug}.app.main").create_app, settings, token
