"""A rendered project's own checks: its GitHub workflow passes actionlint, its pre-commit hooks pass on
the fresh render without fetching anything, and `make fuzz` runs schemathesis on the default answers.

The tests share one installed render and run as one xdist group, beside the other groups.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import yaml

from .forge_harness import git_init, render, run

pytestmark = pytest.mark.xdist_group("project-ci")
BIN = Path(sys.executable).parent
SERVER_URL = os.environ.get("FORGE_TEST_DATABASE_URL")


@pytest.fixture(scope="module")
def project(template_src: Path, workdir: Path) -> Path:
    """The default answers, committed (pre-commit reads git's file list) and installed."""
    dst = render(template_src, workdir / "project-ci" / "shop")
    git_init(dst)
    run(["uv", "sync", "--frozen", "--quiet"], dst)
    return dst


@pytest.mark.parametrize("answers", [{}, {"project_slug": "orders_api", "http_port": 8081}])
def test_the_workflow_passes_actionlint(template_src: Path, tmp_path: Path, answers: dict[str, object]) -> None:
    dst = render(template_src, tmp_path / "p", **answers)
    workflow = dst / ".github" / "workflows" / "ci.yml"
    run([str(BIN / "actionlint"), "-no-color", str(workflow)], dst)
    jobs = yaml.safe_load(workflow.read_text())["jobs"]
    runs = {name: [step["run"] for step in job["steps"] if "run" in step] for name, job in jobs.items()}
    slug = str(answers.get("project_slug", "shop"))
    image = slug.replace("_", "-")
    assert runs == {
        "lint": ["make lint"],
        "test": ["make test"],
        "image": ["make docker", f"docker run --rm {image}:latest {slug} version"],
    }
    assert jobs["test"]["env"]["FORGE_TEST_DATABASE_URL"] == "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
    assert jobs["test"]["services"]["postgres"]["image"].startswith("postgres:")


def test_pre_commit_passes_on_a_fresh_render_with_local_hooks(project: Path, tmp_path: Path) -> None:
    env = {"PRE_COMMIT_HOME": str(tmp_path / "pre-commit")}
    out = run([str(BIN / "pre-commit"), "run", "--all-files", "--color", "never"], project, env)
    assert [line.rsplit(".", 1)[-1] for line in out.splitlines() if line.strip()] == ["Passed"] * 3, out
    assert {"ruff check", "ruff format", "mypy --strict"} == {line.split(".")[0] for line in out.splitlines() if line}
    assert run(["git", "status", "--porcelain"], project) == "", "the hooks changed nothing"


def test_make_fuzz_runs_schemathesis_over_the_served_api(project: Path) -> None:
    env = {"FORGE_TEST_DATABASE_URL": SERVER_URL} if SERVER_URL else {}
    out = run(["make", "fuzz", "examples=5"], project, env)
    assert " passed" in out and " failed" not in out, out
