"""pydantic-settings against Forge's own settings loader: the same sections, the same inputs, in one process.

Run by library_choices.py with the rendered project's interpreter and the library added:

    uv run --frozen --no-dev --with pydantic-settings python <this> <slug>

The pydantic-settings model reuses Forge's section classes, reads `FORGE_*` variables split once on
`_` after the prefix (`env_nested_max_split=1`, the closest it comes to FORGE_<SECTION>_<KEY>) and a
forge.toml (TomlConfigSettingsSource). Each case is loaded by both; what each says (or that it loaded
in silence) is printed, with the time per load and the import time of pydantic_settings.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CASES: dict[str, tuple[dict[str, str], str]] = {
    "valid nested key": ({"FORGE_HTTP_SHUTDOWN_GRACE_SECONDS": "3"}, ""),
    "bad value in the environment": ({"FORGE_HTTP_PORT": "eighty"}, ""),
    "bad value in forge.toml": ({}, '[http]\nport = "eighty"\n'),
    "misspelled variable": ({"FORGE_HTTP_PROT": "8001"}, ""),
    "queue threads (three levels)": ({"FORGE_JOBS_QUEUES_DEFAULT_THREADS": "8"}, ""),
    "TOML true for a port": ({}, "[http]\nport = true\n"),
}


def _library_model(settings_module: Any, toml_file: Path) -> Any:
    from pydantic import create_model
    from pydantic_settings import (
        BaseSettings,
        PydanticBaseSettingsSource,
        SettingsConfigDict,
        TomlConfigSettingsSource,
    )

    class Sources(BaseSettings):
        model_config = SettingsConfigDict(
            env_prefix="FORGE_", env_nested_delimiter="_", env_nested_max_split=1, extra="forbid"
        )

        @classmethod
        def settings_customise_sources(
            cls, settings_cls: type[BaseSettings], *sources: PydanticBaseSettingsSource, **named: Any
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (named["env_settings"], TomlConfigSettingsSource(settings_cls, toml_file=toml_file))

    fields = {name: (field.annotation, field) for name, field in settings_module.Settings.model_fields.items()}
    LibrarySettings = create_model("LibrarySettings", __base__=Sources, **fields)
    return LibrarySettings


def _outcome(load: Any) -> str:
    try:
        loaded = load()
    except Exception as exc:  # noqa: BLE001  (each loader refuses with its own exception type)
        return f"refused: {' '.join(str(exc).split())[:300]}"
    return (
        f"loaded: http.port={loaded.http.port} "
        f"http.shutdown_grace_seconds={loaded.http.shutdown_grace_seconds} "
        f"jobs.queues.default.threads={loaded.jobs.queues['default'].threads}"
    )


def main(slug: str) -> dict[str, Any]:
    settings_module = importlib.import_module(f"{slug}.app.settings")
    started = time.perf_counter()
    importlib.import_module("pydantic_settings")
    result: dict[str, Any] = {"import_ms_pydantic_settings": round((time.perf_counter() - started) * 1000, 1)}
    cases: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        toml_file = Path(tmp) / "forge.toml"
        library = _library_model(settings_module, toml_file)
        for name, (environ, toml) in CASES.items():
            toml_file.write_text(toml)
            own = _outcome(lambda env=environ: settings_module.load_settings(toml_file, environ=env, sections={}))
            saved = dict(os.environ)
            os.environ.update(environ)  # pydantic-settings reads the process environment
            try:
                theirs = _outcome(library)
            finally:
                os.environ.clear()
                os.environ.update(saved)
            cases[name] = {"own": own, "pydantic-settings": theirs}
        toml_file.write_text("")
        timings: dict[str, float] = {}
        for label, load in (
            ("own", lambda: settings_module.load_settings(toml_file, environ={}, sections={})),
            ("pydantic-settings", library),
        ):
            load()
            samples = []
            for _ in range(5):
                begin = time.perf_counter()
                for _ in range(200):
                    load()
                samples.append((time.perf_counter() - begin) / 200 * 1e6)
            timings[label] = round(min(samples), 1)
    result["cases"] = cases
    result["load_us"] = timings
    return result


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1]), indent=1))
