"""Rendered projects are complete: no delimiter survives, lint and types pass, their own tests pass
against real PostgreSQL (FORGE_TEST_DATABASE_URL if set, else embedded), and the lock is current."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .forge_harness import git_init, leftover_delimiters, render, run

MATRIX: dict[str, dict[str, Any]] = {
    "defaults": {},
    "several_resources": {
        "project_slug": "orders_api",
        "queues": {"default": 2, "mail": 1, "search": 3},
        "resources": [
            {"name": "zone", "fields": {"label": "str"}},  # not in alphabetical order: imports stay sorted
            {
                "name": "customer",
                # Every limit a field spec takes, on every kind it fits: rendered, linted, fuzzed, tested.
                "fields": {
                    "email": "str unique max_length=120 pattern=^[^@]+@[^@]+$",
                    "name": "str min_length=2",
                    "born": "date optional",
                    "vip": "bool",
                },
                "hooks": {"after_create": [{"kind": "send_welcome", "queue": "mail"}]},
            },
            {
                "name": "order_line",
                "plural": "order_lines",
                "fields": {
                    "quantity": "int min=1 max=999",
                    "unit_price": "decimal min=0.01 max=100000",
                    "weight": "float optional min=0",
                    "ref": "uuid unique",
                    "placed_at": "datetime",
                    "extra": "json optional",
                    "note": "text optional blank",
                },
                "hooks": {
                    "after_create": [{"kind": "reindex", "queue": "search"}],
                    "after_update": [{"kind": "reindex", "queue": "search"}, {"kind": "audit"}],
                },
            },
        ],
    },
    "no_hooks": {
        "project_name": "Plain Notes",
        "resources": [{"name": "note", "fields": {"body": "text", "pinned": "bool"}}],
    },
    "no_resources": {"project_slug": "bare", "resources": []},
    "other_ports": {"project_slug": "ported", "http_port": 8081, "admin_port": 9191},
    "longest_names": {
        "project_name": 'Bob\'s "Quoted" \\ Service',
        "project_slug": "s" * 30,
        "description": 'A description with "quotes", a backslash \\ and far more than one hundred and ten characters.',
        "queues": {"default": 1, "q" * 40: 1},
        "resources": [
            {
                "name": "r" * 25,
                "fields": {
                    "f" * 40: "datetime optional unique",
                    "g" * 40: "json optional",
                    "h" * 40: "decimal unique",
                },
                "hooks": {"after_create": [{"kind": "k" * 60, "queue": "q" * 40}]},
            }
        ],
    },
}


@pytest.fixture(scope="module", params=sorted(MATRIX))
def project(request: pytest.FixtureRequest, template_src: Path, workdir: Path) -> Path:
    out = render(template_src, workdir / request.param, **MATRIX[request.param])
    git_init(out)
    run(["uv", "sync", "--frozen", "--quiet"], out)
    return out


def test_no_template_delimiter_survives(project: Path) -> None:
    assert leftover_delimiters(project) == []


def test_lock_matches_the_project(project: Path) -> None:
    run(["uv", "lock", "--locked"], project)


def test_ruff_passes(project: Path) -> None:
    run(["uv", "run", "--frozen", "ruff", "check", "."], project)
    run(["uv", "run", "--frozen", "ruff", "format", "--check", "."], project)


def test_mypy_strict_passes(project: Path) -> None:
    slug = next(p.parent.parent.name for p in project.glob("*/app/main.py"))
    run(["uv", "run", "--frozen", "mypy", slug, "tests", *(["bench"] if (project / "bench").is_dir() else [])], project)


# Generated tests of process behaviour that no answer changes (processes sharing a port, start-up time, the
# shutdown farewell): run in the `defaults` render only, which keeps CI's wall time inside its budget.
ANSWER_INDEPENDENT = ["test_processes.py", "test_cold_start.py", "test_live_shutdown.py"]


def test_generated_test_suite_passes(project: Path) -> None:
    ignored = [] if project.name == "defaults" else [f"--ignore=tests/forge/{name}" for name in ANSWER_INDEPENDENT]
    output = run(["uv", "run", "--frozen", "pytest", "-q", "-p", "no:cacheprovider", *ignored], project)
    assert " passed" in output and " failed" not in output, output


def test_ports_are_the_answers(project: Path) -> None:
    """forge.toml is the user's and starts nearly empty: the answers are the defaults in code."""
    answers = (project / ".copier-answers.yml").read_text()
    http = next(line for line in answers.splitlines() if line.startswith("http_port:")).split()[1]
    admin = next(line for line in answers.splitlines() if line.startswith("admin_port:")).split()[1]
    slug = next(p.parent.parent.name for p in project.glob("*/app/main.py"))
    code = f"from {slug}.app.settings import load_settings; s = load_settings(); print(s.http.port, s.admin.port)"
    assert run(["uv", "run", "--frozen", "python", "-c", code], project).split() == [http, admin]
