from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .forge_harness import copy_template


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
    so each matrix entry is rendered and installed once while two entries run side by side."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "project" in callspec.params:
            item.add_marker(pytest.mark.xdist_group(f"render-{callspec.params['project']}"))
