"""A newcomer's first command gets uv without pip: app/bootstrap_uv.py (stdlib only) fetches a pinned uv from
the package index, checks its sha256 and unpacks it, and `make install` uses it where no uv is on PATH, on a
PEP 668 system Python (pip refuses `--user`) and on a Python without pip.

These tests download the uv wheel (about 20 MB) from PyPI: they are the proof that the first command works.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from .forge_harness import ROOT, render, run

SCRIPT = ROOT / "template" / "<<project_slug>>" / "app" / "bootstrap_uv.py"
# A stock Debian or Ubuntu: its PEP 668 Python, make and git, and no uv.
SYSTEM_PATH = "/usr/bin:/bin"
SYSTEM_PYTHON = Path("/usr/bin/python3")


def bootstrap_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bootstrap_uv", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


UV_VERSION: str = bootstrap_module().UV_VERSION


def bootstrap(target: Path, index: str = "") -> subprocess.CompletedProcess[str]:
    """The script as make runs it, with only `index` (if any) naming a package index."""
    env = {k: v for k, v in os.environ.items() if k not in {"UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL"}}
    if index:
        env["PIP_INDEX_URL"] = index
    return subprocess.run(
        [sys.executable, "-I", str(SCRIPT), str(target)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_bootstrap_installs_the_pinned_uv_from_pypi_and_prints_its_path(tmp_path: Path) -> None:
    result = bootstrap(tmp_path / ".forge" / "bin")
    assert result.returncode == 0, result.stderr
    uv = Path(result.stdout.strip())
    assert uv == tmp_path / ".forge" / "bin" / "uv"
    assert run([str(uv), "--version"], tmp_path).startswith(f"uv {UV_VERSION} ")
    assert sorted(p.name for p in uv.parent.iterdir()) == ["uv"], "no download left behind"


def test_images_use_the_same_uv() -> None:
    dockerfile = (ROOT / "template" / "Dockerfile.jinja").read_text()
    assert f"ARG UV_VERSION={UV_VERSION}\n" in dockerfile


@pytest.fixture
def html_index(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A PEP 503 (HTML) index on loopback, as a mirror named by PIP_INDEX_URL serves it: (its uv page, its URL)."""
    root = tmp_path / "index"
    (root / "uv").mkdir(parents=True)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root / "uv" / "index.html", f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        thread.join()


@pytest.mark.parametrize("digest_ok", [True, False], ids=["digest-matches", "digest-differs"])
def test_an_html_index_is_used_and_a_wrong_digest_installs_nothing(
    html_index: tuple[Path, str], tmp_path: Path, digest_ok: bool
) -> None:
    module = bootstrap_module()
    name, url, digest = module.pick_wheel(module.index_files(module.PYPI))
    page, index = html_index
    page.write_text(f'<html><body><a href="{url}#sha256={digest if digest_ok else "0" * 64}">{name}</a></body></html>')
    result = bootstrap(tmp_path / "bin", index)
    if digest_ok:
        assert result.returncode == 0, result.stderr
        assert run([result.stdout.strip(), "--version"], tmp_path).startswith(f"uv {UV_VERSION} ")
    else:
        assert result.returncode != 0
        assert "does not match its sha256" in result.stderr
        assert list((tmp_path / "bin").iterdir()) == []


def python_without_pip(root: Path) -> Path:
    """A Python on which `python3 -m pip` does not exist: a venv made --without-pip."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    return root / "bin"


@pytest.mark.slow
@pytest.mark.parametrize("python", ["pep668-system-python", "python-without-pip"])
def test_make_install_gets_uv_without_pip(
    python: str, template_src: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make install` in a fresh project, with no uv on PATH and no pip that could install one."""
    monkeypatch.delenv("UV", raising=False)  # `uv run pytest` names itself there, and forge.mk would take it
    if python == "pep668-system-python":
        stdlib = run([str(SYSTEM_PYTHON), "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"], workdir)
        if not (Path(stdlib.strip()) / "EXTERNALLY-MANAGED").exists():
            pytest.skip(f"{SYSTEM_PYTHON} is not marked EXTERNALLY-MANAGED (PEP 668) on this machine")
        path = SYSTEM_PATH
    else:
        path = f"{python_without_pip(workdir / python / 'venv')}:{SYSTEM_PATH}"
    assert shutil.which("uv", path=path) is None
    refused = subprocess.run(
        ["python3", "-m", "pip", "install", "--user", "--dry-run", "uv"],
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode != 0, "the old `pip install --user uv` would have worked here: not the case at hand"
    project = render(template_src, workdir / python / "shop")
    output = run(["make", "install"], project, {"PATH": path})
    uv = project / ".forge" / "bin" / "uv"
    assert f"bootstrap_uv.py {uv.parent}/" in output
    assert run([str(uv), "--version"], project).startswith(f"uv {UV_VERSION} ")
    assert (project / ".venv" / "bin" / "python").exists()
