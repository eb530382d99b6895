"""Cold start: from a new process to /healthz answering 200, the service against a bare FastAPI app.

    uv run python bench/ops/cold_start.py [runs] [baseline-git-ref]

Goals: the service (`<slug> serve`, its admin /healthz) < 0.5 s and <= 1.1x the bare app (bare_app.py:
one route, served by `python -m uvicorn` from the project's virtualenv). Both run from that virtualenv
(what the container's CMD does); the service with its default configuration (metrics and tracing on,
no OTLP endpoint) against a real PostgreSQL. With a git ref, the service rendered from the template at
that ref starts too (`baseline`): before and after a change, measured in the same run.

Runs alternate (service, bare app, baseline; then the reverse order), so all see the same machine load;
the first round warms the OS file cache and is not counted. Besides wall time, each start's CPU time
until /healthz answered (user + system, /proc): on a shared machine it moves less with the load.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack

from harness import Project, Server, project, serving, serving_bare

Start = Callable[[], AbstractContextManager[Server]]


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def _starts(bench: Project, baseline: Project | None) -> Iterator[tuple[str, Start]]:
    yield "service", lambda: serving(bench)
    yield "bare", lambda: serving_bare(bench)
    if baseline is not None:
        yield "baseline", lambda: serving(baseline)


def main(runs: int = 10, baseline_ref: str | None = None) -> dict[str, object]:
    load_before = os.getloadavg()[0]
    with ExitStack() as stack:
        bench = stack.enter_context(project())
        baseline = stack.enter_context(project(baseline_ref)) if baseline_ref else None
        starts = dict(_starts(bench, baseline))
        wall: dict[str, list[float]] = {name: [] for name in starts}
        cpu: dict[str, list[float]] = {name: [] for name in starts}
        for attempt in range(runs + 1):
            order = list(starts) if attempt % 2 else list(starts)[::-1]
            for name in order:
                with starts[name]() as server:
                    seconds = server.wait_healthy()
                    cpu_seconds = server.cpu_seconds()
                if attempt:
                    wall[name].append(seconds)
                    cpu[name].append(cpu_seconds)
    medians = {name: statistics.median(times) for name, times in wall.items()}
    cpu_medians = {name: statistics.median(times) for name, times in cpu.items()}
    result: dict[str, object] = {
        "runs": runs,
        "wall_s": {name: _summary(times) for name, times in wall.items()},
        "cpu_s": {name: _summary(times) for name, times in cpu.items()},
        "service_to_bare": round(medians["service"] / medians["bare"], 2),
        "service_to_bare_cpu": round(cpu_medians["service"] / cpu_medians["bare"], 2),
        "load_average_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    if baseline_ref:
        result["baseline"] = baseline_ref
        result["baseline_to_bare"] = round(medians["baseline"] / medians["bare"], 2)
        result["baseline_to_bare_cpu"] = round(cpu_medians["baseline"] / cpu_medians["bare"], 2)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10, sys.argv[2] if len(sys.argv) > 2 else None)
