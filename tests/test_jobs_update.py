"""`copier update` keeps job workers user-owned: the four scenarios of the jobs issue, for real.

Each test builds a git template repository from this checkout (tagged v1, and v2 where the
template changes), generates a project from it, commits it, and walks an update the way a user
would (`copier update`, or `copier update --vcs-ref=:current: --data ...` to change answers).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from .forge_harness import ROOT, conflicts, generate, git, release, template_repo, update

SLUG = "shop"
WORKERS = f"{SLUG}/jobs"


def commit_all(cwd: Path, message: str) -> None:
    git(cwd, "add", "-A")
    git(cwd, "commit", "-q", "--allow-empty", "-m", message)


def default_resources() -> list[dict[str, Any]]:
    answers = yaml.safe_load((ROOT / "copier.yml").read_text())
    resources: list[dict[str, Any]] = answers["resources"]["default"]
    return resources


def update_answers(dst: Path, resources: list[dict[str, Any]]) -> None:
    """What a user runs to add or remove hooks: same template version, new answers."""
    update(dst, ":current:", resources=resources)
    commit_all(dst, "update answers")


def snapshot(dst: Path, folder: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((dst / folder).glob("*.py"))}


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    src = template_repo(tmp_path / "forge")
    return src, generate(src, tmp_path / "project", ref="v1", project_slug=SLUG)


def test_v2_updates_generated_files_and_leaves_workers_byte_for_byte(
    project: tuple[Path, Path],
) -> None:
    src, dst = project
    edited = dst / WORKERS / "notify_new_product.py"
    edited.write_text(edited.read_text() + "\n\ndef helper() -> int:  # the user's own code\n    return 42\n")
    commit_all(dst, "user edits a worker")
    workers, tests = snapshot(dst, WORKERS), snapshot(dst, "tests/jobs")

    def v2(repo: Path) -> None:
        scaffold = next((repo / "template" / "<<project_slug>>" / "jobs").glob("*yield*"))
        scaffold.write_text(scaffold.read_text().replace("# Your logic goes here.", "# v2: your logic goes here."))
        glue = repo / "template" / "<<project_slug>>" / "app" / "jobqueue" / "hooks.py"
        glue.write_text(glue.read_text() + "\n# template v2\n")

    release(src, "v2", v2)
    update(dst, "v2")

    assert (dst / SLUG / "app" / "jobqueue" / "hooks.py").read_text().endswith("# template v2\n")
    assert snapshot(dst, WORKERS) == workers
    assert snapshot(dst, "tests/jobs") == tests
    assert "v2: your logic" not in (dst / WORKERS / "reindex_product.py").read_text()
    assert conflicts(dst) == []


def test_adding_a_hook_scaffolds_its_worker_and_wires_the_glue(project: tuple[Path, Path]) -> None:
    _, dst = project
    before = snapshot(dst, WORKERS)
    resources = default_resources()
    resources[0]["hooks"]["after_create"].append({"kind": "audit_product"})

    update_answers(dst, resources)

    after = snapshot(dst, WORKERS)
    assert set(after) == set(before) | {"audit_product.py"}
    assert {name: after[name] for name in before} == before
    assert '@job("audit_product")' in after["audit_product.py"].decode()
    assert (dst / "tests" / "jobs" / "test_audit_product.py").exists()
    glue = (dst / SLUG / "app" / "resources" / "product.py").read_text()  # the resource's one description
    assert 'JobRef("audit_product", "default")' in glue
    assert conflicts(dst) == []


def test_removing_a_hook_unwires_it_but_keeps_the_users_worker(project: tuple[Path, Path]) -> None:
    _, dst = project
    worker = dst / WORKERS / "notify_new_product.py"
    worker.write_text(worker.read_text() + "\nSENT = 'by the user'\n")
    commit_all(dst, "user edits a worker")
    kept = worker.read_bytes()
    kept_test = (dst / "tests" / "jobs" / "test_notify_new_product.py").read_bytes()
    resources = default_resources()
    resources[0]["hooks"]["after_create"] = []

    update_answers(dst, resources)

    glue = (dst / SLUG / "app" / "resources" / "product.py").read_text()  # the resource's one description
    assert "notify_new_product" not in glue
    assert worker.read_bytes() == kept
    assert (dst / "tests" / "jobs" / "test_notify_new_product.py").read_bytes() == kept_test
    assert conflicts(dst) == []

    # ...and it stays through a later update that changes nothing.
    update_answers(dst, resources)
    assert worker.read_bytes() == kept


def test_a_deleted_worker_whose_hook_remains_comes_back(project: tuple[Path, Path]) -> None:
    _, dst = project
    original = (dst / WORKERS / "reindex_product.py").read_bytes()
    (dst / WORKERS / "reindex_product.py").unlink()
    commit_all(dst, "user deletes a worker")

    update_answers(dst, default_resources())

    assert (dst / WORKERS / "reindex_product.py").read_bytes() == original
    assert conflicts(dst) == []


def test_after_removing_a_hook_the_project_still_passes_its_jobs_tests(
    project: tuple[Path, Path],
) -> None:
    """The kept worker and its kept test live on: the test skips (no hook enqueues the kind), the
    rest of the jobs suite passes, and the worker still starts (an extra actor is fine)."""
    _, dst = project
    resources = default_resources()
    resources[0]["hooks"]["after_create"] = []
    update_answers(dst, resources)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "UV_PROJECT"))}
    subprocess.run(["uv", "sync", "--frozen", "--quiet"], cwd=dst, env=env, check=True)
    result = subprocess.run(
        ["uv", "run", "--frozen", "pytest", "-q", "-rs", "tests/jobs", "tests/forge/test_jobs.py"],
        cwd=dst,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "no hook enqueues notify_new_product any more" in result.stdout
