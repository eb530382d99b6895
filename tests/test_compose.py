"""The generated compose files: they validate, and their API and worker start from the project's image
and answer /healthz.

Validation: `podman-compose config` resolves each file (anchors, `${...}` with their defaults) and refuses
compose.prod.yaml while its secrets are missing; `docker compose config` checks the compose schema too
where a compose plugin is installed (none is here).

Running: `podman-compose up` cannot work here: no registry is reachable, so the `db` service's
postgres:17 cannot be pulled. So each service is started the way compose starts it: the command and
environment of the resolved file, on the image built from the project's own Dockerfile (the `delivery_image`
fixture of conftest.py: what `build: .` and `make docker` produce), with podman on ../shared/tools' store.
The PostgreSQL on 127.0.0.1:5432 stands in for the `db` service (a throwaway database, over the host
network), and the ports move to free ones because the host network is shared with other tests. The
migrations must exit 0 first; then every API replica and the worker must answer /healthz on their admin
ports and pass the file's own healthcheck command.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from .forge_harness import PODMAN_ENV, ROOT, container_skip_reason, free_ports, podman, render, run

# One xdist worker takes every test of the image, so it is built once (tests/conftest.py delivery_image).
pytestmark = pytest.mark.xdist_group("container-image")
SLUG = "shipyard"
SERVER_URL = os.environ.get("FORGE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PODMAN_COMPOSE = str(Path(sys.executable).parent / "podman-compose")
SECRETS = {"FORGE_DATABASE_URL": "postgresql://app@db.internal/app", "FORGE_APP_SECRET_KEY": uuid.uuid4().hex * 2}
PROBE = (
    "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['{}'] + '/healthz', timeout=4)"
)


@pytest.fixture(scope="module")
def compose_tool() -> None:
    """podman-compose asks `podman version` before anything, `config` included."""
    if shutil.which("podman") is None:
        if reason := container_skip_reason():
            pytest.skip(f"podman-compose needs podman: {reason}")
        apt = {"DEBIAN_FRONTEND": "noninteractive"}
        run(["apt-get", "update", "-qq"], ROOT, apt)
        run(["apt-get", "install", "-y", "-qq", "podman"], ROOT, apt)


@pytest.fixture(scope="module")
def project(template_src: Path, workdir: Path) -> Path:
    return render(template_src, workdir / "compose" / SLUG, project_slug=SLUG)


def _config(project: Path, name: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """The file as compose resolves it; the environment holds no FORGE_* of the caller's."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("FORGE_") and k not in {"APP_IMAGE", "API_REPLICAS", "HTTP_PORTS"}
    }
    result = subprocess.run(
        [PODMAN_COMPOSE, "-f", name, "config"],
        cwd=project,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def _docker_compose_config(project: Path, name: str, env: dict[str, str]) -> None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode == 0:
        run([docker, "compose", "-f", name, "config", "--quiet"], project, env)


def test_compose_yaml_runs_postgres_then_migrations_once_then_api_and_worker(project: Path, compose_tool: None) -> None:
    services = _config(project, "compose.yaml")["services"]
    assert set(services) == {"db", "migrate", "api", "worker"}
    assert services["migrate"]["command"] == [SLUG, "migrate", "--check"]
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert services["migrate"]["restart"] == "no"
    for name, command, port in [
        ("api", "serve", "FORGE_ADMIN_PORT"),
        ("worker", "worker", "FORGE_JOBS_WORKER_ADMIN_PORT"),
    ]:
        service = services[name]
        assert service["command"] == [SLUG, command]
        assert service["image"] == services["migrate"]["image"] == f"{SLUG}:dev"
        assert service["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
        assert service["healthcheck"]["test"] == ["CMD", "python", "-c", PROBE.format(port)]
        assert service["environment"]["FORGE_DATABASE_URL"] == f"postgresql://{SLUG}:{SLUG}@db:5432/{SLUG}"
    assert services["api"]["ports"] == ["127.0.0.1:8000:8000", "127.0.0.1:9090:9090"]
    _docker_compose_config(project, "compose.yaml", {})


def test_compose_prod_yaml_takes_the_image_and_secrets_from_the_environment(project: Path, compose_tool: None) -> None:
    missing = subprocess.run(
        [PODMAN_COMPOSE, "-f", "compose.prod.yaml", "config"],
        cwd=project,
        env={k: v for k, v in os.environ.items() if not k.startswith("FORGE_")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode != 0
    assert "FORGE_DATABASE_URL is missing a value: set FORGE_DATABASE_URL to the production PostgreSQL" in (
        missing.stderr
    )
    assert "FORGE_APP_SECRET_KEY: ${FORGE_APP_SECRET_KEY:?" in (project / "compose.prod.yaml").read_text()

    env = {
        **SECRETS,
        "APP_IMAGE": "registry.example.com/shipyard:1.2.3",
        "API_REPLICAS": "3",
        "HTTP_PORTS": "8000-8002",
    }
    services = _config(project, "compose.prod.yaml", env)["services"]
    assert set(services) == {"migrate", "api", "worker"}, "PostgreSQL is the operator's, not a container"
    assert services["migrate"]["command"] == [SLUG, "migrate"]
    assert "depends_on" not in services["migrate"]
    for service in services.values():
        assert service["image"] == env["APP_IMAGE"]
        assert {k: service["environment"][k] for k in SECRETS} == SECRETS
    for name in ("api", "worker"):
        assert services[name]["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
        assert services[name]["restart"] == "unless-stopped"
    assert str(services["api"]["deploy"]["replicas"]) == "3"
    assert services["api"]["ports"] == ["8000-8002:8000"]
    assert services["worker"]["healthcheck"]["test"] == [
        "CMD",
        "python",
        "-c",
        PROBE.format("FORGE_JOBS_WORKER_ADMIN_PORT"),
    ]
    _docker_compose_config(project, "compose.prod.yaml", env)


def _in_image(image: str, *command: str) -> None:
    run(podman("run", "--rm", "--pull=never", "--network", "host", image, *command), ROOT, PODMAN_ENV)


@pytest.fixture
def database(delivery_image: tuple[Path, str]) -> Iterator[str]:
    """A throwaway database on 127.0.0.1:5432 (the `db` service's stand-in), made with the image's psycopg."""
    _, image = delivery_image
    name = f"forge_compose_{uuid.uuid4().hex[:8]}"
    script = "import psycopg, sys; psycopg.connect(sys.argv[1], autocommit=True).execute(sys.argv[2])"
    _in_image(image, "python", "-c", script, SERVER_URL, f'CREATE DATABASE "{name}"')
    yield SERVER_URL.rsplit("/", 1)[0] + "/" + name
    _in_image(image, "python", "-c", script, SERVER_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _healthz(port: int, container: str) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                body: dict[str, Any] = json.loads(response.read())
                return body
        except OSError:
            time.sleep(0.25)
    env = {**os.environ, **PODMAN_ENV}
    logs = subprocess.run(podman("logs", container), check=False, env=env, capture_output=True, text=True)
    raise AssertionError(f"{container}: no answer from /healthz on port {port}\n{logs.stdout}\n{logs.stderr}")


@pytest.mark.parametrize("compose_file", ["compose.yaml", "compose.prod.yaml"])
def test_the_services_start_from_the_image_and_answer_healthz(
    compose_file: str, delivery_image: tuple[Path, str], database: str, compose_tool: None
) -> None:
    project, image = delivery_image
    services = _config(project, compose_file, {**SECRETS, "FORGE_DATABASE_URL": database, "APP_IMAGE": image})[
        "services"
    ]
    started: list[str] = []

    def start(service: dict[str, Any], **overrides: str) -> str:
        name = f"forge-compose-{uuid.uuid4().hex[:8]}"
        # compose.yaml names its `db` service; the stand-in is the throwaway database on the host.
        env = {**service["environment"], "FORGE_DATABASE_URL": database, **overrides}
        flags = [f"--env={key}={value}" for key, value in env.items()]
        command = podman("run", "-d", "--pull=never", "--network", "host", "--name", name, *flags, image)
        started.append(name)
        run([*command, *service["command"]], ROOT, PODMAN_ENV)
        return name

    try:
        migrate = start(services["migrate"])
        status = run(podman("wait", migrate), ROOT, PODMAN_ENV).strip()
        assert status == "0", run(podman("logs", migrate), ROOT, PODMAN_ENV)

        replicas = int(services["api"].get("deploy", {}).get("replicas", 1))
        probes = []
        for _ in range(replicas):
            http, admin, worker_admin = free_ports(3)
            ports = {"FORGE_HTTP_PORT": str(http), "FORGE_ADMIN_PORT": str(admin)}
            probes.append(
                (
                    services["api"],
                    start(services["api"], **ports, FORGE_JOBS_WORKER_ADMIN_PORT=str(worker_admin)),
                    admin,
                )
            )
        http, admin, worker_admin = free_ports(3)
        worker_ports = {"FORGE_HTTP_PORT": str(http), "FORGE_ADMIN_PORT": str(admin)}
        worker = start(services["worker"], **worker_ports, FORGE_JOBS_WORKER_ADMIN_PORT=str(worker_admin))
        probes.append((services["worker"], worker, worker_admin))

        for service, container, port in probes:
            health = _healthz(port, container)
            assert health["status"] == "ok"
            assert health["version"] == "1.2.3"
            # The compose file's own healthcheck, run inside the container as compose would.
            assert service["healthcheck"]["test"][0] == "CMD"
            run(podman("exec", container, *service["healthcheck"]["test"][1:]), ROOT, PODMAN_ENV)
    finally:
        for name in started:
            remove = podman("rm", "-f", "-t", "5", name)
            subprocess.run(remove, check=False, env={**os.environ, **PODMAN_ENV}, capture_output=True)
