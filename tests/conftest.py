from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, expect, sync_playwright

from bench.ops.chromium import LAUNCH_ARGS

from .browser_harness import ARTIFACTS, require_chromium
from .browser_service import SLUG, Service, browser_settings, held_database
from .forge_harness import (
    ROOT,
    build_image,
    container_skip_reason,
    copy_template,
    git,
    git_init,
    remove_image,
    render,
    run,
)


@pytest.fixture(scope="session")
def template_src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_template(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def workdir() -> Iterator[Path]:
    """Where rendered projects (and their venvs) live: outside pytest's private (0700) temp root, because
    the embedded PostgreSQL runs as another user when tests run as root and must reach its binaries."""
    path = Path(tempfile.mkdtemp(prefix="forge-tests-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under xdist (`make test` runs two workers), the tests of one rendered project stay on one worker,
    so each matrix entry is rendered and installed once while two entries run side by side.

    Work is handed out in this order (`make test` turns xdist's own reordering off): the `first` test,
    then the units with the most tests first. xdist's order alone, by size, started the longest test
    (15 minutes) last, alone on one worker: the suite took 43 minutes for 36 of work per worker. xdist
    hands each worker a second unit before its first has run, so the third unit (the second worker's
    first is the second) is a test on its own: that is what waits behind the longest test."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "project" in callspec.params:
            item.add_marker(pytest.mark.xdist_group(f"render-{callspec.params['project']}"))
    sizes = Counter(_scope(item) for item in items)
    first = [item for item in items if item.get_closest_marker("first") is not None]
    rest = sorted((item for item in items if item not in first), key=lambda item: -sizes[_scope(item)])
    alone = next((item for item in rest if sizes[_scope(item)] == 1), None) if first else None
    if alone is not None:
        rest.remove(alone)
        rest.insert(sizes[_scope(rest[0])], alone)  # after the largest unit
    items[:] = [*first, *rest]


def _scope(item: pytest.Item) -> str:
    """What xdist's loadgroup hands out as one unit: an `xdist_group`, or else the test alone."""
    group = item.get_closest_marker("xdist_group")
    return str(group.args[0]) if group is not None else item.nodeid


@pytest.fixture(scope="session")
def delivery_project(template_src: Path, workdir: Path) -> Path:
    """A render of the default answers (slug `shipyard`) in a clean checkout, committed and tagged v1.2.3:
    what `make build` and the image are made from."""
    project = render(template_src, workdir / "delivery" / "shipyard", project_slug="shipyard")
    git_init(project)
    git(project, "tag", "-a", "v1.2.3", "-m", "release")
    return project


@pytest.fixture(scope="session")
def delivery_image(delivery_project: Path) -> Iterator[tuple[Path, str]]:
    """`delivery_project`'s Dockerfile built with ../shared/tools, once per session for every test that runs
    the image (they share one xdist group, so one worker builds it): (project, image tag). Stamped with
    version 1.2.3, the commit and a fixed build date."""
    if reason := container_skip_reason():
        pytest.skip(reason)
    tag = f"localhost/forge-image-test:{uuid.uuid4().hex[:8]}"
    commit = run(["git", "rev-parse", "HEAD"], delivery_project).strip()
    build_image(delivery_project, tag, {"VERSION": "1.2.3", "COMMIT": commit, "BUILD_DATE": "2026-01-02T03:04:05Z"})
    yield delivery_project, tag
    remove_image(tag)


@pytest.fixture(scope="session")
def live_service(template_src: Path, workdir: Path) -> Iterator[Service]:
    """The default project (slug `shop`), rendered, synced, migrated and served for the browser tests,
    with the Datastar client of scripts/datastar_bundle.py served from its own origin (sse.datastar_path)."""
    require_chromium()
    project = render(template_src, workdir / "browser" / SLUG, project_slug=SLUG)
    git_init(project)
    run(["uv", "sync", "--frozen", "--quiet"], project)
    bundle = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "datastar_bundle.py")], capture_output=True, text=True, check=True
    ).stdout.strip()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with held_database(project) as database_url:
        service = Service(project, database_url, browser_settings(Path(bundle)), ARTIFACTS / "service.log")
        service.migrate()
        service.start()
        try:
            yield service
        finally:
            service.close()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """Debian's chromium, headless, once per session."""
    executable = require_chromium()
    expect.set_options(timeout=10_000)  # as actions (browser_context): a loaded CI machine is slow
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_context(chromium: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """Browser profiles (own cookies, own connections) made with `browser_context(**options)`, closed after the test."""
    contexts: list[BrowserContext] = []

    def make(**options: object) -> BrowserContext:
        context = chromium.new_context(**options)  # type: ignore[arg-type]
        context.set_default_timeout(10_000)
        # A confirm() (before a delete) is answered yes, as the user would; Playwright's default is no.
        context.on("page", lambda page: page.on("dialog", lambda dialog: dialog.accept()))
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
