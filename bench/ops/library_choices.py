"""Libraries Forge could use instead of its own code, measured against it in one run.

    uv run python bench/ops/library_choices.py

Renders a default project (harness.py) and runs three probes with its interpreter, each library
added for the probe only (`uv run --with`), never to the project's dependencies:
- metrics_library_probe.py: prometheus-fastapi-instrumentator against Forge's HTTP metrics;
- sql_spans_probe.py: opentelemetry-instrumentation-sqlalchemy against Forge's own SQL
  spans, one process per side (the library patches SQLAlchemy globally), alternating, twice each;
- settings_probe.py: pydantic-settings against `load_settings`.
Prints one JSON object; docs/BENCHMARKS.md records the figures and what was decided.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness import SLUG, Project, project, run

HERE = Path(__file__).resolve().parent
INSTRUMENTATOR = "prometheus-fastapi-instrumentator==8.1.0"
OTEL_SQLALCHEMY = "opentelemetry-instrumentation-sqlalchemy==0.66b2"  # the OTel train the project pins
PYDANTIC_SETTINGS = "pydantic-settings==2.16.3"


def probe(bench: Project, package: str, script: str, *args: str) -> Any:
    command = ["uv", "run", "--frozen", "--no-dev", "--with", package, "python", str(HERE / script), *args]
    return json.loads(run(command, bench.path, {"FORGE_CONFIG": str(bench.path / "forge.toml")}))


def main() -> dict[str, Any]:
    with project() as bench:
        url = bench.database_url
        metrics = probe(bench, INSTRUMENTATOR, "metrics_library_probe.py", SLUG, url)
        runs = [
            probe(bench, OTEL_SQLALCHEMY, "sql_spans_probe.py", SLUG, url, mode)
            for mode in ("own", "library", "library", "own")
        ]
        settings = probe(bench, PYDANTIC_SETTINGS, "settings_probe.py", SLUG)
    sql: dict[str, Any] = {}
    for mode in ("own", "library"):
        mine = [r for r in runs if r["mode"] == mode]
        sql[mode] = {
            "calls_per_request": mine[0]["calls_per_request"],
            "cpu_us_not_exporting_min": min(r["cpu_us_not_exporting"] for r in mine),
            "cpu_us_exporting_min": min(r["cpu_us_exporting"] for r in mine),
            "spans_per_request": mine[0]["spans_per_request"],
            "sql_span_attributes": mine[0]["sql_span_attributes"],
        }
    result = {"metrics": metrics, "sql_spans": sql, "settings": settings}
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
