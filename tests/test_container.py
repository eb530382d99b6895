"""Delivery, checked from the template: a rendered project's `make build` wheel, and its container image.

The project is rendered into a clean git checkout tagged v1.2.3. `make build` must go from there to a
wheel in dist/ whose _build_info.json names that version, the commit and a build date. The Dockerfile
is built and run against PostgreSQL on 127.0.0.1:5432 over the host network: /healthz must show the
stamped build, the image's HEALTHCHECK command must pass, and the process must not run as root.

The machine's docker (else podman) builds it where it answers and can pull python:3.12-slim within a few
seconds. Where neither can (no engine running, no registry reachable, as on the machines this template is
developed on), ../shared/tools/container-build.sh builds it with buildah on a local stand-in for the base
image; the test says which, in its output (-rA) and as a warning. Container tests are skipped where that
fallback is needed but buildah is missing and cannot be installed (not root), where no PostgreSQL listens
on 127.0.0.1:5432 (FORGE_TEST_DATABASE_URL names another server), or when FORGE_SKIP_CONTAINER_TESTS is set.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
import uuid
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .forge_harness import ROOT, free_ports, run

TOOLS = ROOT.parent / "shared" / "tools"
SLUG = "shipyard"
VERSION = "1.2.3"
SERVER_URL = os.environ.get("FORGE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# container-build.sh's state dir (image store, stand-in base image, podman configuration).
STATE = os.environ.get("W") or os.path.join(os.environ.get("TMPDIR", "/tmp"), "cbuild")
BASE_IMAGE = "docker.io/library/python:3.12-slim"
PROBE_SECONDS = 5
# What the image adds to its base (the venv, forge.toml, the app user, libpq5): 54.0 MB measured, plus 10%;
# the template's docs/BENCHMARKS.md ("Image size") says what each dependency costs.
APP_LAYER_BOUND = 59_400_000


def _postgres_listening() -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", 5432)) == 0


# With the compose tests, which run the same image: one worker builds it once (container-build.sh installs
# its tools with apt and makes its base image on first use, which two workers at once would race on).
pytestmark = pytest.mark.xdist_group("container-image")


@pytest.fixture(scope="module")
def project(delivery_project: Path) -> Path:
    """The template rendered into a clean checkout: committed, tagged v1.2.3, no .venv."""
    return delivery_project


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


@dataclass(frozen=True)
class Engine:
    """Who builds and runs the image: the machine's docker or podman, or ../shared/tools (buildah with a local
    stand-in for the base image, then podman on the same private store)."""

    command: tuple[str, ...]
    env: dict[str, str]
    shared_tools: bool

    def __call__(self, *args: str) -> list[str]:
        return [*self.command, *args]

    def attempt(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a command whose failure must not fail the test (cleanup, diagnostics)."""
        return subprocess.run(self(*args), env={**os.environ, **self.env}, capture_output=True, text=True, check=False)


def _unusable(engine: str) -> str | None:
    """Why the machine's `engine` cannot build the Dockerfile, or None: it must answer, and have the base image or
    reach its registry, each within PROBE_SECONDS (where no registry is reachable a probe may hang)."""
    if shutil.which(engine) is None:
        return f"{engine} is not installed"

    def succeeds(*args: str) -> bool:
        return subprocess.run([engine, *args], capture_output=True, timeout=PROBE_SECONDS, check=False).returncode == 0

    try:
        if not succeeds("info"):
            return f"`{engine} info` fails (no engine running)"
        if not (succeeds("image", "inspect", BASE_IMAGE) or succeeds("manifest", "inspect", BASE_IMAGE)):
            return f"{engine} cannot reach {BASE_IMAGE}"
    except subprocess.TimeoutExpired:
        return f"{engine} did not answer within {PROBE_SECONDS} s"
    return None


@pytest.fixture(scope="module")
def engine() -> Engine:
    """The machine's docker, else its podman; ../shared/tools only where neither can pull the base image."""
    if os.environ.get("FORGE_SKIP_CONTAINER_TESTS"):
        pytest.skip("FORGE_SKIP_CONTAINER_TESTS is set")
    reasons = []
    for name in ("docker", "podman"):
        reason = _unusable(name)
        if reason is None:
            print(f"container engine: this machine's {name}")
            return Engine((name,), {}, shared_tools=False)
        reasons.append(reason)
    why = "; ".join(reasons)
    if shutil.which("buildah") is None and not (os.geteuid() == 0 and shutil.which("apt-get")):
        pytest.skip(f"no container engine: {why}; buildah (../shared/tools) is missing and cannot be installed")
    note = f"container engine: ../shared/tools (buildah, stand-in {BASE_IMAGE}), because {why}"
    print(note)
    warnings.warn(note, stacklevel=1)
    podman = ("podman", "--root", f"{STATE}/storage", "--runroot", f"{STATE}/run")
    return Engine(podman, {"CONTAINERS_CONF": f"{STATE}/containers.conf"}, shared_tools=True)


@pytest.fixture(scope="module")
def image(engine: Engine, project: Path, commit: str, request: pytest.FixtureRequest) -> Iterator[str]:
    if engine.shared_tools:  # the image the compose tests run, built from this same checkout
        _, tag = request.getfixturevalue("delivery_image")
        yield tag
        return
    tag = f"localhost/forge-delivery-test:{uuid.uuid4().hex[:8]}"
    stamp = [f"VERSION={VERSION}", f"COMMIT={commit}", "BUILD_DATE=2026-01-02T03:04:05Z"]
    build_args = [arg for value in stamp for arg in ("--build-arg", value)]
    # docker format keeps the HEALTHCHECK where podman builds
    run(engine("build", *build_args, "-t", tag, str(project)), ROOT, {"BUILDAH_FORMAT": "docker"}, timeout=1800)
    yield tag
    engine.attempt("rmi", "-f", tag)


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


def _healthz(engine: Engine, container: str, port: int) -> dict[str, str]:
    """/healthz of the container's admin port, waited for; the container's log if it never answers."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                return dict(json.load(response))
        except OSError as error:
            if time.monotonic() > deadline:
                logs = engine.attempt("logs", container)
                pytest.fail(f"no answer from /healthz ({error}):\n{logs.stdout[-5000:]}{logs.stderr[-5000:]}")
            time.sleep(0.25)


def test_the_image_migrates_serves_passes_its_healthcheck_and_is_not_root(
    engine: Engine, image: str, database: str, commit: str
) -> None:
    secret = uuid.uuid4().hex * 2
    admin_port, http_port = free_ports(2)
    env = [f"FORGE_DATABASE_URL={database}", f"FORGE_APP_SECRET_KEY={secret}"]
    env += [f"FORGE_ADMIN_PORT={admin_port}", f"FORGE_HTTP_PORT={http_port}"]
    options = ["--network", "host", *(arg for value in env for arg in ("-e", value))]
    # Migrations are packaged: the image alone brings a fresh database to head.
    run(engine("run", "--rm", "--pull=never", *options, image, SLUG, "migrate", "--check"), ROOT, engine.env)

    name = f"forge-delivery-{uuid.uuid4().hex[:8]}"
    run(engine("run", "-d", "--pull=never", "--name", name, *options, image), ROOT, engine.env)
    try:
        assert _healthz(engine, name, admin_port) == {
            "status": "ok",
            "version": VERSION,
            "commit": commit,
            "build_date": "2026-01-02T03:04:05Z",
        }
        # The image's own HEALTHCHECK command, run as the engine would run it (docker has no `healthcheck run`).
        check = json.loads(
            run(engine("image", "inspect", image, "--format", "{{json .Config.Healthcheck}}"), ROOT, engine.env)
        )
        assert check["Test"][0] == "CMD"
        run(engine("exec", name, *check["Test"][1:]), ROOT, engine.env)
        assert int(run(engine("exec", name, "id", "-u"), ROOT, engine.env)) != 0
        # psycopg's C build on Debian's libpq5 (the `image` group), neither psycopg-binary nor redis-py installed.
        probe = "import importlib.util as u, psycopg; print(psycopg.pq.__impl__, psycopg.pq.version(), "
        probe += "*(u.find_spec(n) is None for n in ('psycopg_binary', 'redis')))"
        impl, libpq, *absent = run(engine("exec", name, "python", "-c", probe), ROOT, engine.env).split()
        print(f"psycopg implementation {impl}, libpq {libpq}")
        assert (impl, absent) == ("c", ["True", "True"])
    finally:
        engine.attempt("rm", "-f", name)
    size = int(run(engine("image", "inspect", image, "--format", "{{.Size}}"), ROOT, engine.env).strip())
    base = engine.attempt("image", "inspect", BASE_IMAGE, "--format", "{{.Size}}")
    if base.returncode != 0:  # a BuildKit builder may keep the base image out of the engine's image store
        print(f"image {image}: {size / 1e6:.0f} MB ({BASE_IMAGE} not in the image store: no layer check)")
        return
    layer = size - int(base.stdout.strip())
    print(f"image {image}: {size / 1e6:.0f} MB, {layer / 1e6:.1f} MB over {BASE_IMAGE}")
    assert layer <= APP_LAYER_BOUND, f"{layer / 1e6:.1f} MB over the base image (docs/BENCHMARKS.md, Image size)"
