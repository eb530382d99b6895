"""Delivery, checked from the template: a rendered project's `make build` wheel, and its container image.

The project is rendered into a clean git checkout tagged v1.2.3. `make build` must go from there to a
wheel in dist/ whose _build_info.json names that version, the commit and a build date. The Dockerfile
is built with ../shared/tools/container-build.sh (buildah; a local stand-in for python:3.12-slim) and
run with run-check.sh against PostgreSQL on 127.0.0.1:5432 over the host network: /healthz must show
the stamped build, the image's HEALTHCHECK must pass, and the process must not run as root.

Container tests are skipped where buildah is missing and cannot be installed (not root), where no
PostgreSQL listens on 127.0.0.1:5432 (FORGE_TEST_DATABASE_URL names another server), or when
FORGE_SKIP_CONTAINER_TESTS is set.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .forge_harness import ROOT, free_ports, git, git_init, render, run

TOOLS = ROOT.parent / "shared" / "tools"
SLUG = "shipyard"
VERSION = "1.2.3"
SERVER_URL = os.environ.get("FORGE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# container-build.sh's state dir (image store, stand-in base image), shared with run-check.sh.
STATE = os.environ.get("W") or os.path.join(os.environ.get("TMPDIR", "/tmp"), "cbuild")
PODMAN_ENV = {"CONTAINERS_CONF": f"{STATE}/containers.conf"}


def _postgres_listening() -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", 5432)) == 0


@pytest.fixture(scope="module")
def project(template_src: Path, workdir: Path) -> Path:
    """The template rendered into a clean checkout: committed, tagged v1.2.3, no .venv."""
    dst = render(template_src, workdir / "delivery" / SLUG, project_slug=SLUG)
    git_init(dst)
    git(dst, "tag", "-a", f"v{VERSION}", "-m", "release")
    return dst


@pytest.fixture(scope="module")
def commit(project: Path) -> str:
    return run(["git", "rev-parse", "HEAD"], project).strip()


@pytest.fixture(scope="module")
def built(project: Path) -> Path:
    """`make build` from the clean checkout; returns the wheel."""
    env = {"FORGE_TEST_DATABASE_URL": SERVER_URL} if _postgres_listening() else {}
    run(["make", "build"], project, env)
    wheels = sorted((project / "dist").glob("*.whl"))
    assert [w.name for w in wheels] == [f"{SLUG}-{VERSION}-py3-none-any.whl"]
    return wheels[0]


def test_make_build_stamps_version_commit_and_date_into_the_wheel(project: Path, built: Path, commit: str) -> None:
    with zipfile.ZipFile(built) as wheel:
        stamp = json.loads(wheel.read(f"{SLUG}/app/_build_info.json"))
        names = wheel.namelist()
    assert stamp["version"] == VERSION
    assert stamp["commit"] == commit
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp["build_date"])
    assert any(n.startswith(f"{SLUG}/migrations/versions/") for n in names), "migrations ship in the wheel"
    shown = json.loads(run(["uv", "run", "--frozen", SLUG, "version"], project))
    assert shown == stamp
    assert run(["git", "status", "--porcelain"], project) == "", "the build leaves the checkout clean"


def _skip_containers() -> str | None:
    if os.environ.get("FORGE_SKIP_CONTAINER_TESTS"):
        return "FORGE_SKIP_CONTAINER_TESTS is set"
    if shutil.which("buildah") is None and not (os.geteuid() == 0 and shutil.which("apt-get")):
        return "buildah is not installed and cannot be (not root)"
    return None


@pytest.fixture(scope="module")
def image(project: Path, commit: str) -> Iterator[str]:
    reason = _skip_containers()
    if reason:
        pytest.skip(reason)
    tag = f"localhost/forge-delivery-test:{uuid.uuid4().hex[:8]}"
    run(
        [
            "bash",
            str(TOOLS / "container-build.sh"),
            "--build-arg", f"VERSION={VERSION}",
            "--build-arg", f"COMMIT={commit}",
            "--build-arg", "BUILD_DATE=2026-01-02T03:04:05Z",
        ],
        ROOT,
        {"CTX": str(project), "IMAGE": tag},
        timeout=1800,
    )  # fmt: skip
    yield tag
    subprocess.run(
        _podman("rmi", "-f", tag),
        check=False,
        env={**os.environ, **PODMAN_ENV},
        capture_output=True,
    )


def _podman(*args: str) -> list[str]:
    return ["podman", "--root", f"{STATE}/storage", "--runroot", f"{STATE}/run", *args]


@pytest.fixture
def database(project: Path, built: Path) -> Iterator[str]:
    """A throwaway database on the local server, created and dropped with the project's own psycopg."""
    if not _postgres_listening():
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    name = f"forge_delivery_{uuid.uuid4().hex[:8]}"
    script = "import psycopg, sys; psycopg.connect(sys.argv[1], autocommit=True).execute(sys.argv[2])"
    python = ["uv", "run", "--frozen", "python", "-c", script, SERVER_URL]
    run([*python, f'CREATE DATABASE "{name}"'], project)
    yield SERVER_URL.rsplit("/", 1)[0] + "/" + name
    run([*python, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'], project)


def test_the_image_migrates_serves_passes_its_healthcheck_and_is_not_root(
    image: str, database: str, commit: str
) -> None:
    tag = image
    secret = uuid.uuid4().hex * 2
    common = f"--network host -e FORGE_DATABASE_URL={database} -e FORGE_APP_SECRET_KEY={secret}"
    # Migrations are packaged: the image alone brings a fresh database to head.
    migrate = common.split() + [tag, SLUG, "migrate", "--check"]
    run(_podman("run", "--rm", "--pull=never", *migrate), ROOT, PODMAN_ENV)

    admin_port, http_port = free_ports(2)
    ports = f" -e FORGE_ADMIN_PORT={admin_port} -e FORGE_HTTP_PORT={http_port}"
    out = run(
        ["bash", str(TOOLS / "run-check.sh")],
        ROOT,
        {"IMAGE": tag, "PORT": str(admin_port), "RUN_ARGS": common + ports},
        timeout=600,
    )
    health = json.loads(next(line for line in out.splitlines() if line.startswith('{"status"')))
    assert health == {
        "status": "ok",
        "version": VERSION,
        "commit": commit,
        "build_date": "2026-01-02T03:04:05Z",
    }
    assert "healthcheck: passed" in out
    uid = int(re.search(r"runs as uid: (\d+)", out).group(1))  # type: ignore[union-attr]
    assert uid != 0
    size = int(run(_podman("image", "inspect", tag, "--format", "{{.Size}}"), ROOT, PODMAN_ENV).strip())
    print(f"image {tag}: {size / 1e6:.0f} MB")
