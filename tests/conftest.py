from __future__ import annotations

from pathlib import Path

import pytest

from .forge_harness import copy_template


@pytest.fixture(scope="session")
def template_src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_template(tmp_path_factory.mktemp("template"))
