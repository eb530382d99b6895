"""The rendered default project as the browser tests meet it: its own `serve` process on a real database.

The server is the project's command (`<slug> serve` from its virtualenv), configured through FORGE_*
variables only, and can be stopped and started again on the same port, as an operator restarts it. The
database is a throwaway one on FORGE_TEST_DATABASE_URL's server, else an embedded PostgreSQL; either is
held by a process of the project's own Python (psycopg and pgserver are its dependencies, not the
template's), which lives as long as the tests and survives the server's restarts.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from .forge_harness import free_ports, run

SLUG = "shop"

# Run by the project's Python: prints a database URL, keeps the database until its stdin closes.
HOLD_DATABASE = """
import os, sys, uuid
from urllib.parse import urlsplit
import psycopg
from psycopg import sql
from {slug}.app.embedded import throwaway_server

server = os.environ.get("FORGE_TEST_DATABASE_URL")
if not server:
    with throwaway_server() as url:
        print(url, flush=True)
        sys.stdin.read()
    raise SystemExit
name = "forge_browser_" + uuid.uuid4().hex[:8]
with psycopg.connect(server, autocommit=True) as admin:
    admin.execute(sql.SQL("CREATE DATABASE {{}}").format(sql.Identifier(name)))
try:
    print(urlsplit(server)._replace(path="/" + name).geturl(), flush=True)
    sys.stdin.read()
finally:
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {{}} WITH (FORCE)").format(sql.Identifier(name)))
"""

# Run by the project's Python: one statement, its rows as JSON (a write the API cannot make: while the
# server is down).
EXECUTE = """
import json, sys
import psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as db:
    cursor = db.execute(sys.argv[2], json.loads(sys.argv[3]))
    print(json.dumps(cursor.fetchall() if cursor.description else [], default=str))
"""

# Run by the project's Python: a token per input line `user tenant ttl` (0: the default lifetime), issued
# as `<slug> token` issues it. One process for every token: the command imports the whole app, which
# takes seconds on a busy machine.
MINT_TOKENS = """
import sys
from {slug}.app.auth import issue_token
from {slug}.app.settings import load_settings

settings = load_settings()
for line in sys.stdin:
    user, tenant, ttl = line.split()
    print(issue_token(settings.app.secret_key, user, tenant, int(ttl) or settings.app.token_ttl_seconds), flush=True)
"""

RETRY_INTERVAL_MS = 100
RETRY_MAX_WAIT_MS = 500
SIGNED_OUT_RETRY_MS = 2500
MAX_PER_USER = 2
RETRY_AFTER_SECONDS = 3


def clean_environment() -> dict[str, str]:
    """The test process's environment without Forge settings or a virtualenv: the service reads only ours."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("FORGE_", "VIRTUAL_ENV"))}


@contextmanager
def held_database(project: Path) -> Iterator[str]:
    holder = subprocess.Popen(
        [str(project / ".venv" / "bin" / "python"), "-c", HOLD_DATABASE.format(slug=SLUG)],
        cwd=project,
        env={**clean_environment(), **_test_server()},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdin is not None and holder.stdout is not None
    url = holder.stdout.readline().strip()
    try:
        assert url, f"the database holder exited with {holder.wait()}"
        yield url
    finally:
        holder.stdin.close()
        holder.wait(60)


def _test_server() -> dict[str, str]:
    named = os.environ.get("FORGE_TEST_DATABASE_URL")
    return {"FORGE_TEST_DATABASE_URL": named} if named else {}


class Service:
    """`<slug> serve` of `project` on fixed ports, with `settings` as FORGE_* variables; its log in `log`."""

    def __init__(self, project: Path, database_url: str, settings: Mapping[str, str], log: Path) -> None:
        self.project = project
        self.database_url = database_url
        self.http_port, self.admin_port = free_ports(2)
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.log = log
        self._env = {
            **clean_environment(),
            "FORGE_ENV_FILE": "",
            "FORGE_DATABASE_URL": database_url,
            "FORGE_HTTP_PORT": str(self.http_port),
            "FORGE_ADMIN_PORT": str(self.admin_port),
            **settings,
        }
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self._mint: subprocess.Popen[str] | None = None

    def _bin(self, name: str) -> str:
        return str(self.project / ".venv" / "bin" / name)

    def migrate(self) -> None:
        run([self._bin(SLUG), "migrate"], self.project, self._env)

    def start(self, timeout: float = 60) -> None:
        """Serve, and return once the page port answers and the live hub listens (/readyz)."""
        assert self._process is None, "already serving"
        self._log_file = self.log.open("ab")
        self._process = subprocess.Popen(
            [self._bin(SLUG), "serve"],
            cwd=self.project,
            env=self._env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self._process.poll() is not None:
                raise AssertionError(f"serve exited with {self._process.returncode}:\n{self.log.read_text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"serve was not ready within {timeout} s:\n{self.log.read_text()}")
            time.sleep(0.1)

    def _ready(self) -> bool:
        """/readyz answers 200 (database reachable, hub listening) and the page port accepts connections
        (it binds after the lifespan, so after the admin port)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/readyz", timeout=2) as response:
                if response.status != 200:
                    return False
        except OSError:
            return False
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.http_port)) == 0

    def stop(self) -> None:
        """SIGTERM, as an orchestrator stops it: open streams get the farewell, then the port closes."""
        if self._process is None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None
        if self._log_file is not None:
            self._log_file.close()

    def restart(self) -> None:
        self.stop()
        self.start()

    def token(self, user: str, tenant: str, ttl: int = 0) -> str:
        """A bearer token for `user` of `tenant`, valid `ttl` seconds (0: app.token_ttl_seconds)."""
        if self._mint is None:
            self._mint = subprocess.Popen(
                [self._bin("python"), "-c", MINT_TOKENS.format(slug=SLUG)],
                cwd=self.project,
                env=self._env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        assert self._mint.stdin is not None and self._mint.stdout is not None
        self._mint.stdin.write(f"{user} {tenant} {ttl}\n")
        self._mint.stdin.flush()
        token = self._mint.stdout.readline().strip()
        assert token, f"the token process exited with {self._mint.poll()}"
        return token

    def close(self) -> None:
        """Stop serving and end the token process."""
        self.stop()
        if self._mint is not None and self._mint.stdin is not None:
            self._mint.stdin.close()
            self._mint.wait(30)

    def api(self, method: str, path: str, token: str, body: Mapping[str, Any] | None = None) -> tuple[int, Any]:
        """A JSON API call with a bearer token: (status, decoded body)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("content-type", "application/json")
        request.add_header("authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def listed(self, token: str) -> list[tuple[str, str]]:
        """(sku, title) of every product the API lists for the token's tenant."""
        status, listing = self.api("GET", "/api/products", token)
        assert status == 200, listing
        return [(item["sku"], item["title"]) for item in listing["items"]]

    def sql(self, statement: str, *params: object) -> list[list[Any]]:
        """One statement on the service's database, straight through psycopg (no NOTIFY, no API)."""
        rows = run([self._bin("python"), "-c", EXECUTE, self.database_url, statement, json.dumps(params)], self.project)
        result: list[list[Any]] = json.loads(rows)
        return result


def browser_settings(datastar: Path) -> dict[str, str]:
    """The service as the browser tests run it: the Datastar client served from its own origin, and
    timings short enough that outages, sign-outs and refusals play out in seconds."""
    return {
        "FORGE_SSE_DATASTAR_PATH": str(datastar),
        # The client's reconnect backoff: 100, 200, 400, 500, 500... ms, so Datastar's default
        # 10 tries would be spent within 5 s of an outage.
        "FORGE_LIVE_RETRY_INTERVAL_MS": str(RETRY_INTERVAL_MS),
        "FORGE_LIVE_RETRY_MAX_WAIT_MS": str(RETRY_MAX_WAIT_MS),
        "FORGE_LIVE_SIGNED_OUT_RETRY_MS": str(SIGNED_OUT_RETRY_MS),
        "FORGE_SSE_MAX_PER_USER": str(MAX_PER_USER),
        "FORGE_SSE_RETRY_AFTER_SECONDS": str(RETRY_AFTER_SECONDS),
        "FORGE_SSE_SHUTDOWN_GRACE_SECONDS": "1",
        "FORGE_SSE_FAREWELL_RETRY_MIN_MS": "300",
        "FORGE_SSE_FAREWELL_RETRY_MAX_MS": "600",
        "FORGE_HTTP_SHUTDOWN_GRACE_SECONDS": "3",
    }
