"""Serving the admin app: a second uvicorn server in the same process, on its own port.

`running_admin` serves it for an API's lifespan on the API's event loop; `AdminThread` serves it on
a private loop for a process without one (the job worker). Either way the public server keeps the
signals, and the admin server stops when its owner says so, after /readyz has turned to draining.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator, Iterator

import uvicorn
from loguru import logger
from starlette.types import ASGIApp, Receive, Scope, Send

from .admin import AdminState, create_admin_app
from .tracing import untraced


class _Untraced:
    """Probes and scrapes hit the database (readiness, queue usage): keep those queries out of traces."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with untraced():
            await self.app(scope, receive, send)


class _ServerWithoutSignals(uvicorn.Server):
    """The public server owns SIGTERM/SIGINT; this one is stopped by the app's lifespan instead."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class AdminServer:
    """Runs an ASGI app on its own socket inside the current event loop."""

    def __init__(self, app: ASGIApp, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.requested_port = port
        self.port = port
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # Bind here, not in uvicorn: a busy port becomes an OSError naming it, not a sys.exit()
        # inside a background task; and port 0 yields the port actually chosen.
        family = socket.getaddrinfo(self.host, self.requested_port, type=socket.SOCK_STREAM)[0][0]
        try:
            sock = socket.create_server((self.host, self.requested_port), family=family)
        except OSError as exc:
            raise OSError(
                exc.errno, f"admin server cannot listen on {self.host}:{self.requested_port}: {exc.strerror}"
            ) from None
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            _Untraced(self.app),
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = _ServerWithoutSignals(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="admin-server")
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("admin server stopped during start-up")
            await asyncio.sleep(0.01)
        logger.info("admin server on http://{}:{} (/metrics /healthz /readyz)", self.host, self.port)

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), 5)
        except TimeoutError:
            self._task.cancel()
        self._server = self._task = None


@contextlib.asynccontextmanager
async def running_admin(
    state: AdminState, host: str, port: int, *, debug_routes: bool
) -> AsyncIterator[AdminServer]:
    """The admin server for the duration of the block; on the way out /readyz drains, then it stops."""
    server = AdminServer(create_admin_app(state, debug_routes=debug_routes), host, port)
    await server.start()
    try:
        yield server
    finally:
        state.draining = True
        await server.stop()


class AdminThread:
    """The admin server on a private event loop in a daemon thread, for a process without a loop of
    its own: the job worker serves /metrics and /healthz this way on `jobs.worker_admin_port`.

    Readiness checks and scrape hooks run on that private loop, so they must not share asyncio
    resources (an AsyncEngine) with another loop.
    """

    def __init__(self, state: AdminState, host: str, port: int, *, debug_routes: bool = False) -> None:
        self.state = state
        self.server = AdminServer(create_admin_app(state, debug_routes=debug_routes), host, port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="admin-server", daemon=True)

    @property
    def port(self) -> int:
        return self.server.port

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(timeout)
        except BaseException:
            self._shut_loop()
            raise

    def stop(self, timeout: float = 10.0) -> None:
        self.state.draining = True
        try:
            asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(timeout)
        finally:
            self._shut_loop()

    def _shut_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()
