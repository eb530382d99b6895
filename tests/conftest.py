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
