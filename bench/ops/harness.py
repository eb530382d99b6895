"""Shared by the ops benchmarks: render a project, give it a database, run `<slug> serve` as a process.

The project is rendered from this checkout's template with default answers (one `product` resource),
committed and tagged so its version is real, and synced with uv; the server runs from the project's
own virtualenv, as in production, against the PostgreSQL named by FORGE_BENCH_DATABASE_URL
(default: postgresql://postgres@127.0.0.1:5432/postgres), on a fresh database dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import copier

ROOT = Path(__file__).resolve().parents[2]
SLUG = "benchshop"
SERVER_URL = os.environ.get("FORGE_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        args,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"{args} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Project:
    path: Path
    database_url: str

    @property
    def python(self) -> str:
        return str(self.path / ".venv" / "bin" / "python")

    def env(self, **extra: str) -> dict[str, str]:
        return {"FORGE_DATABASE_URL": self.database_url, **extra}

    def cli(self, *args: str, **env: str) -> str:
        return run([self.python, "-m", SLUG, *args], self.path, self.env(**env))


@contextmanager
def project(ref: str | None = None) -> Iterator[Project]:
    """A rendered, synced, migrated project on a throwaway database: from this checkout's template as
    it is on disk, or as committed at the git revision `ref` (to compare with it in the same run)."""
    with tempfile.TemporaryDirectory(prefix="forge-bench-") as tmp:
        src, dst = Path(tmp) / "src", Path(tmp) / SLUG
        src.mkdir()
        if ref is None:
            shutil.copy(ROOT / "copier.yml", src)
            shutil.copytree(ROOT / "template", src / "template")
        else:
            archive = subprocess.run(
                ["git", "archive", ref, "copier.yml", "template"], cwd=ROOT, capture_output=True, check=True
            )
            subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True)
        copier.run_copy(str(src), dst, data={"project_slug": SLUG}, defaults=True, quiet=True)
        git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
        run(["git", "init", "-q", "-b", "main"], dst)
        run(["git", "add", "-A"], dst)
        run([*git, "commit", "-q", "-m", "bench"], dst)
        run([*git, "tag", "v1.0.0"], dst)
        # Bytecode compiled as in the image (Dockerfile: UV_COMPILE_BYTECODE=1); PYTHONDONTWRITEBYTECODE
        # may be set, and compiling every module on every start would measure the compiler.
        run(["uv", "sync", "--frozen", "--no-dev", "--compile-bytecode", "-q"], dst)
        python = str(dst / ".venv" / "bin" / "python")
        run([python, "-m", "compileall", "-q", SLUG], dst)  # the project's own modules too
        name = f"forge_bench_{uuid.uuid4().hex[:8]}"
        sql = "import psycopg, sys; psycopg.connect(sys.argv[1], autocommit=True).execute(sys.argv[2])"
        admin = [python, "-c", sql, SERVER_URL]
        run([*admin, f'CREATE DATABASE "{name}"'], dst)
        try:
            bench = Project(dst, SERVER_URL.rsplit("/", 1)[0] + "/" + name)
            bench.cli("migrate")
            yield bench
        finally:
            run([*admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'], dst)


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    http_port: int
    admin_port: int
    started: float

    def wait_healthy(self, timeout: float = 30.0) -> float:
        """Seconds from process start until the admin /healthz answered 200."""
        url = f"http://127.0.0.1:{self.admin_port}/healthz"
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        return time.perf_counter() - self.started
            except OSError:
                time.sleep(0.005)
        raise TimeoutError(url)

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the process has used so far: less sensitive to load than wall time."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def wait_serving(self, timeout: float = 30.0) -> None:
        """The public port accepts connections (it binds after the lifespan, so after the admin port)."""
        self.wait_healthy(timeout)
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.http_port)) == 0:
                    return
            time.sleep(0.01)
        raise TimeoutError(f"port {self.http_port}")


@contextmanager
def serving(bench: Project, **env: str) -> Iterator[Server]:
    """`<slug> serve`, its /healthz on the admin port."""
    http_port, admin_port = free_port(), free_port()
    ports = {"FORGE_HTTP_PORT": str(http_port), "FORGE_ADMIN_PORT": str(admin_port)}
    with _started(bench, [bench.python, "-m", SLUG, "serve"], http_port, admin_port, **ports, **env) as server:
        yield server


@contextmanager
def serving_bare(bench: Project) -> Iterator[Server]:
    """The yardstick: a FastAPI app with one /healthz route (bare_app.py), served by uvicorn from the
    project's virtualenv, so the same interpreter and the same FastAPI, uvicorn and bytecode."""
    port = free_port()
    app_dir = str(Path(__file__).parent)
    args = [bench.python, "-m", "uvicorn", "--app-dir", app_dir, "--port", str(port), "bare_app:app"]
    with _started(bench, args, port, port) as server:
        yield server


@contextmanager
def _started(bench: Project, args: list[str], http_port: int, admin_port: int, **env: str) -> Iterator[Server]:
    variables = {**os.environ, **bench.env(**env)}
    started = time.perf_counter()
    process = subprocess.Popen(
        args,
        cwd=bench.path,
        env=variables,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield Server(process, http_port, admin_port, started)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
