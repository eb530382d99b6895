"""The admin server: a second uvicorn server in the same process, on its own port.

It is a separate Starlette app, not mounted on the public one, so a load balancer or ingress that
exposes the API port cannot expose /metrics or /debug; and it is a plain Starlette app (not FastAPI)
so neither FastAPI's native telemetry nor the OpenTelemetry middleware traces probes and scrapes.

  /healthz        liveness: 200 {status, version, commit, build_date} while the process runs
  /readyz         readiness: 503 while draining (SIGTERM received) or while a check fails (database)
  /metrics        Prometheus exposition (text, or OpenMetrics when the scraper asks for it)
  /debug/stacks   every thread's stack and every asyncio task's, capped   (admin.debug_routes)
  /debug/profile  ?seconds=N: a sampling profile of all threads, as collapsed stacks (admin.debug_routes)
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType

import uvicorn
from loguru import logger
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import choose_encoder
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ..build_info import build_info
from .tracing import untraced

Check = Callable[[], Awaitable[None]]  # raises when the dependency is not usable
ScrapeHook = Callable[[], Awaitable[None]]

CHECK_TIMEOUT_SECONDS = 2.0
MAX_THREADS = 200
MAX_TASKS = 500
MAX_FRAMES = 40
MAX_PROFILE_SECONDS = 30.0
PROFILE_INTERVAL_SECONDS = 0.005


@dataclass
class AdminState:
    """What the admin routes read: the draining flag, readiness checks, hooks run before a scrape."""

    checks: Mapping[str, Check] = field(default_factory=dict)
    scrape_hooks: Sequence[ScrapeHook] = ()
    # What /metrics exposes: this process's metrics, or (job worker) its child processes' combined.
    registry: CollectorRegistry = REGISTRY
    draining: bool = False
    profiling: threading.Lock = field(default_factory=threading.Lock)


def create_admin_app(state: AdminState, *, debug_routes: bool) -> Starlette:
    async def healthz(request: Request) -> Response:
        status = "draining" if state.draining else "ok"
        return JSONResponse({"status": status, **build_info().as_dict()})

    async def readyz(request: Request) -> Response:
        if state.draining:
            return JSONResponse({"status": "draining"}, status_code=503)
        results = await asyncio.gather(*(_run_check(check) for check in state.checks.values()))
        report = dict(zip(state.checks, results, strict=True))
        ready = all(result == "ok" for result in results)
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "checks": report},
            status_code=200 if ready else 503,
        )

    async def metrics(request: Request) -> Response:
        await asyncio.gather(*(_bounded(hook()) for hook in state.scrape_hooks), return_exceptions=True)
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encode(state.registry), media_type=content_type)

    async def stacks(request: Request) -> Response:
        return PlainTextResponse(format_stacks())

    async def profile(request: Request) -> Response:
        try:
            seconds = float(request.query_params.get("seconds", "5"))
        except ValueError:
            seconds = -1.0
        if not 0 < seconds <= MAX_PROFILE_SECONDS:
            return PlainTextResponse(f"seconds must be in (0, {MAX_PROFILE_SECONDS:g}]\n", status_code=400)
        if not state.profiling.acquire(blocking=False):
            return PlainTextResponse("a profile is already running\n", status_code=409)
        try:
            text = await asyncio.to_thread(sample_profile, seconds, stop=lambda: state.draining)
        finally:
            state.profiling.release()
        return PlainTextResponse(text)

    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
    ]
    if debug_routes:
        routes += [Route("/debug/stacks", stacks), Route("/debug/profile", profile)]
    return Starlette(routes=routes)


async def _bounded(awaitable: Awaitable[None]) -> None:
    await asyncio.wait_for(awaitable, CHECK_TIMEOUT_SECONDS)


async def _run_check(check: Check) -> str:
    try:
        await _bounded(check())
    except TimeoutError:
        return f"timed out after {CHECK_TIMEOUT_SECONDS:g}s"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    return "ok"


def _frame_lines(frames: Iterator[FrameType] | list[FrameType]) -> list[str]:
    summary = traceback.StackSummary.extract(((f, f.f_lineno) for f in frames), limit=MAX_FRAMES)
    return [line.rstrip("\n") for line in summary.format()]


def _walk(frame: FrameType | None) -> list[FrameType]:
    """Innermost-last, like a traceback."""
    frames: list[FrameType] = []
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    return frames[::-1]


def format_stacks() -> str:
    """Threads, then asyncio tasks of the running loop; each list and each stack is capped."""
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    frames = sys._current_frames()
    out = [f"# threads: {len(frames)} (showing at most {MAX_THREADS})"]
    for ident, frame in list(frames.items())[:MAX_THREADS]:
        out.append(f"\n--- thread {names.get(ident, '?')} ({ident})")
        out.extend(_frame_lines(_walk(frame)[-MAX_FRAMES:]))
    try:
        tasks = list(asyncio.all_tasks())
    except RuntimeError:
        tasks = []
    out.append(f"\n# asyncio tasks: {len(tasks)} (showing at most {MAX_TASKS})")
    for task in tasks[:MAX_TASKS]:
        out.append(f"\n--- task {task.get_name()} {task.get_coro()!r}")
        out.extend(_frame_lines(task.get_stack(limit=MAX_FRAMES)))
    return "\n".join(out) + "\n"


def _frame_label(frame: FrameType) -> str:
    return f"{frame.f_globals.get('__name__', '?')}:{frame.f_code.co_name}"


def sample_profile(
    seconds: float, interval: float = PROFILE_INTERVAL_SECONDS, stop: Callable[[], bool] = lambda: False
) -> str:
    """Sample every other thread's stack each `interval` for `seconds`; return collapsed stacks.

    One line per distinct stack, `thread;outer;...;inner count`, most frequent first: the format
    flamegraph.pl, speedscope and inferno read. Sampling costs the sampled threads nothing but the GIL.
    `stop` ends it early (the process is shutting down: a profile must not hold the exit up).
    """
    me = threading.get_ident()
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    counts: Counter[str] = Counter()
    samples = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not stop():
        for ident, frame in sys._current_frames().items():
            if ident == me:
                continue
            stack = ";".join(_frame_label(f) for f in _walk(frame)[-MAX_FRAMES * 2 :])
            counts[f"{names.get(ident, ident)};{stack}"] += 1
        samples += 1
        time.sleep(interval)
    header = f"# samples={samples} interval_ms={interval * 1000:g} seconds={seconds:g}\n"
    return header + "".join(f"{stack} {count}\n" for stack, count in counts.most_common())


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
