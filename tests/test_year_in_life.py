"""A year in the life of a project: every everyday change through `copier update`, on one database.

Copy at v1, fill the extension points and give a worker real logic, then: add a field, make fields
optional and unique, add a resource with a hook, `uv add` a dependency, update to a v2 that changes
generated files next to the user's edits and the template's dependencies, rename a job kind, remove a
resource, update to v3. Each step takes at most the one command Copier's message names (`make migration`,
`uv lock`); after each, `make migrate` (on the same embedded database, which has applied every earlier
step), `make test` and `make build` pass, no conflict is left, and no byte of the user's files is lost.

Between steps `make test` runs the tests a step can break (the user's own, the jobs', resources,
migrations and ownership, via PYTEST_ADDOPTS); the last step runs the whole suite.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from .forge_harness import conflicts, generate, git, release, run, template_repo
from .test_ownership import RECIPES, SLUG, apply_recipes, change_generated_code

STEP_TESTS = "tests/jobs tests/test_ours.py tests/forge/test_resources.py tests/forge/test_migrations.py tests/forge/test_ownership.py"

WORKER = '''\
    """Announce a new product: our logic, which must survive every update."""

    from __future__ import annotations

    from shop.app.public import JobContext, Product, job


    @job("notify_new_product")
    def run(ctx: JobContext) -> None:
        row = ctx.row()
        if isinstance(row, Product):
            row.description = f"announced: {row.title}"
'''

WORKER_TEST = '''\
    """Our worker's test: a real write, a real worker, the row it changed."""

    from __future__ import annotations

    import psycopg

    from shop.app.public import RunJob


    def test_the_product_is_announced(run_job: RunJob, tenant: str, database_url: str) -> None:
        run = run_job("notify_new_product")
        assert (run.tenant_id, run.error) == (tenant, None)
        with psycopg.connect(database_url) as db:
            found = db.execute("SELECT description, title FROM product WHERE id = %s", (run.row_id,)).fetchone()
        assert found is not None and found[0] == f"announced: {found[1]}"
'''


def template_dependency(repo: Path, line: str) -> None:
    """A release that adds a dependency to the generated pyproject (where the template's list ends)."""
    pyproject = repo / "template" / "pyproject.toml.jinja"
    marker = "    # Forge's dependencies end here"
    text = pyproject.read_text()
    assert marker in text, "the dependency list lost its end marker: update this test"
    pyproject.write_text(text.replace(marker, f'    "{line}",\n{marker}', 1))


def release_v2(repo: Path) -> None:
    change_generated_code(repo)
    # A release changes its own tests with its pages (change_generated_code marks base.html's <body>).
    test = repo / "template" / "tests" / "forge" / "test_extensions.py.jinja"
    test.write_text(test.read_text().replace("'<body>\\n<p id", '\'<body data-v2="yes">\\n<p id'))
    template_dependency(repo, "tenacity>=8")


def release_v3(repo: Path) -> None:
    crud = repo / "template" / SLUG_DIR / "app" / "crud.py"
    crud.write_text(crud.read_text() + "\n# v3\n")
    template_dependency(repo, "python-dateutil>=2.8")


SLUG_DIR = "<<project_slug>>"


def change_answers(project: Path, changes: dict[str, object]) -> str:
    """The documented way to change answers: `make update changes=FILE` with only what changes."""
    path = project / ".forge" / "changes.yml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(changes, sort_keys=False))
    return run(["bash", "-c", f"make update changes={path} 2>&1"], project)  # Copier's message is on stderr


def commit(project: Path, message: str) -> None:
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", message)


def ours(project: Path) -> dict[str, bytes]:
    """Every byte of the user's files."""
    names = [*RECIPES, f"{SLUG}/jobs/notify_new_product.py", "tests/jobs/test_notify_new_product.py"]
    return {name: (project / name).read_bytes() for name in names}


def step_passes(project: Path, *, whole_suite: bool = False) -> str:
    """`make migrate` on the project's database, `make test`, `make build`; no conflict left behind."""
    assert conflicts(project) == []
    run(["make", "migrate"], project)
    tests = run(["make", "test"], project, env={} if whole_suite else {"PYTEST_ADDOPTS": STEP_TESTS})
    run(["make", "build"], project)
    return tests


def migration_needed(project: Path, what: str) -> None:
    """`make migrate` stops with one line naming the command; the command writes a lint-clean revision."""
    stopped = run(["bash", "-c", "make migrate 2>&1; test $? -ne 0"], project)
    assert 'run `make migration m="describe the change"`' in stopped, stopped
    run(["make", "migration", f"m={what}"], project)


@pytest.mark.slow
def test_a_year_of_updates_loses_nothing(tmp_path: Path, workdir: Path) -> None:
    repo = template_repo(tmp_path / "forge")
    release(repo, "v2", release_v2)
    # In workdir: the embedded PostgreSQL runs as another user and must reach the project's venv.
    project = generate(repo, workdir / "year-in-life", ref="v1", project_slug=SLUG)
    apply_recipes(project)
    (project / SLUG / "jobs" / "notify_new_product.py").write_text(textwrap.dedent(WORKER))
    (project / "tests" / "jobs" / "test_notify_new_product.py").write_text(textwrap.dedent(WORKER_TEST))
    commit(project, "our code")
    step_passes(project)
    before = ours(project)

    # A field, then constraints on existing fields: one `make migration` each.
    message = change_answers(project, {"resources": {"product": {"fields": {"colour": "str optional"}}}})
    assert 'make migration m="what changed"' in message
    migration_needed(project, "add colour")
    commit(project, "colour")
    step_passes(project)
    change_answers(
        project, {"resources": {"product": {"fields": {"in_stock": "bool optional", "title": "str unique"}}}}
    )
    migration_needed(project, "in_stock optional, title unique")
    commit(project, "constraints")
    step_passes(project)
    fields = yaml.safe_load((project / ".copier-answers.yml").read_text())["resources"][0]["fields"]
    assert list(fields) == ["title", "sku", "price", "description", "in_stock", "colour"]  # order kept

    # A resource with a hook, after those hand-made revisions: still one head.
    review = {"fields": {"stars": "int", "body": "text"}, "hooks": {"after_create": [{"kind": "notify_review"}]}}
    change_answers(project, {"resources": {"review": review}})
    assert not list((project / SLUG / "migrations" / "versions").glob("create_review*"))
    migration_needed(project, "add review")
    commit(project, "review")
    step_passes(project)

    # The user's own dependency, then a release that changes the template's: the lock stays the user's.
    run(["uv", "add", "--quiet", "six>=1.16"], project)
    commit(project, "six")
    run(["make", "update", "ref=v2"], project)
    assert "uv lock" in run(["bash", "-c", "make install 2>&1; test $? -ne 0"], project)
    run(["uv", "lock", "--quiet"], project)
    lock = (project / "uv.lock").read_text()
    assert 'name = "six"' in lock and 'name = "tenacity"' in lock
    assert "# v2: routes of the project come last" in (project / SLUG / "app" / "main.py").read_text()
    commit(project, "v2")
    step_passes(project)

    # A renamed kind: the new one is scaffolded, the old module (our logic) is named until we move it.
    rename = {"after_create": [{"kind": "announce_product", "queue": "notifications"}]}
    change_answers(project, {"resources": {"product": {"hooks": rename}}})
    assert (project / SLUG / "jobs" / "announce_product.py").exists()
    commit(project, "rename")
    output = step_passes(project)
    assert "shop.jobs.notify_new_product: job kind 'notify_new_product' is enqueued by no hook" in output

    # A removed resource: its worker stays importable, its table goes with one revision.
    change_answers(project, {"resources": {"review": None}})
    assert (project / SLUG / "jobs" / "notify_review.py").exists()
    migration_needed(project, "drop review")
    commit(project, "no review")
    step_passes(project)

    release(repo, "v3", release_v3)
    run(["make", "update"], project)
    run(["uv", "lock", "--quiet"], project)
    commit(project, "v3")
    output = step_passes(project, whole_suite=True)
    assert " failed" not in output
    assert ours(project) == before
    heads = run(["uv", "run", "--frozen", "alembic", "heads"], project)
    assert len(heads.strip().splitlines()) == 1, heads
