"""`make dev` in a freshly generated project: embedded PostgreSQL, migrations, a serving API, no setup."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from .forge_harness import git_init, render


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _request(url: str, token: str | None = None, body: dict[str, object] | None = None) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _stop_embedded(project: Path) -> None:
    """pgserver stops its server when the last user exits; make sure, so no postgres outlives the test."""
    pid_file = project / ".forge" / "pgdata" / "postmaster.pid"
    if pid_file.exists():
        try:
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGINT)
        except (ProcessLookupError, ValueError):
            pass


def test_make_dev_serves_the_example_resource_on_embedded_postgres(
    template_src: Path, workdir: Path, tmp_path: Path
) -> None:
    project = render(template_src, workdir / "dev" / "shop")
    git_init(project)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FORGE_", "VIRTUAL_ENV"))}
    env.update(FORGE_HTTP_PORT=str(port), FORGE_ADMIN_PORT=str(_free_port()))
    log = (tmp_path / "dev.log").open("w")
    process = subprocess.Popen(
        ["make", "dev"], cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "dev.log").read_text()
            try:
                if _request(f"{base}/openapi.json")[0] == 200:
                    break
            except OSError:
                time.sleep(0.5)
        else:
            raise AssertionError("make dev did not serve within 180 s:\n" + (tmp_path / "dev.log").read_text())
        output = (tmp_path / "dev.log").read_text()
        assert f"API docs   {base}/docs" in output
        token = output.split("token      ", 1)[1].split()[0]

        status, created = _request(
            f"{base}/api/products",
            token,
            {"title": "Mug", "sku": "MUG-1", "price": "9.50", "in_stock": True},
        )
        assert status == 201, created
        status, listing = _request(f"{base}/api/products", token)
        assert status == 200
        assert isinstance(listing, dict) and [item["sku"] for item in listing["items"]] == ["MUG-1"]
        assert _request(f"{base}/api/products", "not-a-token")[0] == 401
        assert (project / ".forge" / "pgdata" / "PG_VERSION").exists()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
        log.close()
        _stop_embedded(project)
