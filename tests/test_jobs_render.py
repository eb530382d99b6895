"""Rendering the jobs glue and worker scaffolds for unusual answers: ruff-clean, one file per kind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .forge_harness import render

LONG_KIND = "k" + "x" * 59  # the longest kind the validator accepts
LONG_QUEUE = "q" + "z" * 39
LONG_RESOURCE = "r" + "y" * 24  # the longest resource name the validator accepts


def ruff(dst: Path, *args: str) -> None:
    """The generated project's own ruff settings, on the files the jobs feature renders."""
    paths = [
        "shop/app/jobqueue",
        "shop/app/resources",
        "shop/jobs",
        "tests/jobs",
        "tests/forge/test_jobs.py",
        "bench/jobs",
    ]
    existing = [p for p in paths if (dst / p).exists()]
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--config", str(dst / "pyproject.toml"), *existing],
        cwd=dst,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "resources",
    [
        pytest.param([{"name": "note", "fields": {"body": "text"}}], id="no-hooks"),
        pytest.param(
            [
                {
                    "name": LONG_RESOURCE,
                    "fields": {"title": "str"},
                    "hooks": {
                        "after_create": [
                            {"kind": LONG_KIND, "queue": LONG_QUEUE},
                            {"kind": "audit"},
                        ],
                        "after_update": [{"kind": LONG_KIND, "queue": LONG_QUEUE}],
                    },
                },
                {
                    "name": "customer",
                    "fields": {"email": "str"},
                    "hooks": {"after_update": [{"kind": "audit"}]},
                },
            ],
            id="shared-and-longest-names",
        ),
    ],
)
def test_one_worker_per_distinct_kind_and_ruff_clean(
    template_src: Path, tmp_path: Path, resources: list[dict[str, Any]]
) -> None:
    queues = {"default": 1, LONG_QUEUE: 2}
    dst = render(template_src, tmp_path / "project", project_slug="shop", resources=resources, queues=queues)
    kinds = {job["kind"] for resource in resources for jobs in (resource.get("hooks") or {}).values() for job in jobs}
    workers = {p.stem for p in (dst / "shop" / "jobs").glob("*.py")} - {"__init__"}
    tests = {p.stem for p in (dst / "tests" / "jobs").glob("test_*.py")}
    assert workers == kinds
    assert tests == {f"test_{kind}" for kind in kinds}
    glue = "".join(p.read_text() for p in (dst / "shop" / "app" / "resources").glob("*.py"))
    for kind in kinds:
        assert f'"{kind}"' in glue
    if "audit" in kinds:
        audit = (dst / "shop" / "jobs" / "audit.py").read_text()
        assert f"  - {LONG_RESOURCE} after_create\n  - customer after_update\n" in audit
    ruff(dst, "check")
    ruff(dst, "format", "--check")
