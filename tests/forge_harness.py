"""Helpers for the template's tests: render with Copier's API, run commands, build tagged template repos."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import copier

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_FILES = ("copier.yml", "template", "hooks")
# A Copier delimiter that survived rendering: `<< name`, `<%`, `%>`, `<#`, `#>`.
LEFTOVER_DELIMITER = re.compile(r"<<\s*[\w_]|<%|%>|<#|#>")
IGNORED_DIRS = {".git", ".venv", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".forge"}


def copy_template(dst: Path) -> Path:
    """The working tree's template without its git history, so tests render exactly what is on disk."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in TEMPLATE_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dst / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, dst / name)
    return dst


def render(src: Path, dst: Path, **data: Any) -> Path:
    copier.run_copy(str(src), dst, data=data, defaults=True, quiet=True, unsafe=False)
    return dst


def run(cmd: Iterable[str], cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 900) -> str:
    """Run a command; on failure raise with its output so the test report shows what went wrong."""
    merged = {**os.environ, **(env or {})}
    merged.pop("VIRTUAL_ENV", None)
    result = subprocess.run(
        list(cmd), cwd=cwd, env=merged, capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed in {cwd} (exit {result.returncode})\n{result.stdout}\n{result.stderr}"
        )
    return result.stdout


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports: every probe stays bound until all are chosen."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def git(cwd: Path, *args: str) -> str:
    return run(["git", "-c", "user.name=Forge Test", "-c", "user.email=forge@example.com", *args], cwd)


def git_init(cwd: Path) -> None:
    git(cwd, "init", "-q", "-b", "main")
    git(cwd, "add", "-A")
    git(cwd, "commit", "-q", "-m", "initial")


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root (minus caches and VCS) by relative path."""
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if path.is_file() and not IGNORED_DIRS.intersection(parts):
            files["/".join(parts)] = path.read_bytes()
    return files


def leftover_delimiters(root: Path) -> list[str]:
    hits = []
    for name, content in tree(root).items():
        if name in {"uv.lock"}:
            continue
        text = content.decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if LEFTOVER_DELIMITER.search(line):
                hits.append(f"{name}:{number}: {line.strip()}")
    return hits


def template_repo(path: Path) -> Path:
    """A git copy of the working template tagged v1: what `copier copy gh:.../forge` would see."""
    copy_template(path)
    git_init(path)
    git(path, "tag", "v1")
    return path


def release(repo: Path, tag: str, change: Any) -> None:
    """Apply `change(repo)` to the template repo, commit and tag it as a new template version."""
    change(repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"release {tag}")
    git(repo, "tag", tag)


def generate(repo: Path, dst: Path, ref: str = "v1", **data: Any) -> Path:
    """A user's project at template version `ref`, committed (copier update needs a clean repo)."""
    copier.run_copy(str(repo), dst, vcs_ref=ref, data=data, defaults=True, quiet=True, unsafe=False)
    git_init(dst)
    return dst


def update(project: Path, ref: str | None = None, **data: Any) -> None:
    """`copier update` exactly as a user types it (inline conflicts); ref ":current:" keeps the template version."""
    cmd = [sys.executable, "-m", "copier", "update", "--defaults", "--quiet"]  # inline conflicts, as users get
    if ref:
        cmd.append(f"--vcs-ref={ref}")
    for key, value in data.items():
        cmd += ["--data", f"{key}={json.dumps(value) if not isinstance(value, str) else value}"]
    run(cmd, project)


def conflicts(project: Path) -> list[str]:
    """Files Copier could not merge: .rej leftovers or inline conflict markers."""
    found = []
    for name, content in tree(project).items():
        if name.endswith(".rej") or re.search(rb"^(<{7}|>{7}) ", content, re.MULTILINE):
            found.append(name)
    return found


# Containers: ../shared/tools builds with buildah (against a local stand-in for python:3.12-slim) and
# runs with podman, both on a private store under this state dir.
TOOLS = ROOT.parent / "shared" / "tools"
CONTAINER_STATE = os.environ.get("W") or os.path.join(os.environ.get("TMPDIR", "/tmp"), "cbuild")
PODMAN_ENV = {"CONTAINERS_CONF": f"{CONTAINER_STATE}/containers.conf"}


def podman(*args: str) -> list[str]:
    """A podman command line on the shared tools' image store."""
    return ["podman", "--root", f"{CONTAINER_STATE}/storage", "--runroot", f"{CONTAINER_STATE}/run", *args]


def container_skip_reason() -> str | None:
    """Why images cannot be built here, or None: the tools need root (they install buildah with apt)."""
    if os.environ.get("FORGE_SKIP_CONTAINER_TESTS"):
        return "FORGE_SKIP_CONTAINER_TESTS is set"
    if shutil.which("buildah") is None and not (os.geteuid() == 0 and shutil.which("apt-get")):
        return "buildah is not installed and cannot be (not root)"
    return None


def build_image(context: Path, tag: str, build_args: Mapping[str, str]) -> None:
    """Build `context`'s Dockerfile into `tag` with container-build.sh (installs buildah and podman if needed)."""
    args = [arg for name, value in build_args.items() for arg in ("--build-arg", f"{name}={value}")]
    run(["bash", str(TOOLS / "container-build.sh"), *args], ROOT, {"CTX": str(context), "IMAGE": tag}, timeout=1800)


def remove_image(tag: str) -> None:
    subprocess.run(podman("rmi", "-f", tag), check=False, env={**os.environ, **PODMAN_ENV}, capture_output=True)
