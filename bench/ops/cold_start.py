"""Cold start: from a new process to /healthz answering 200, the service against a bare FastAPI app.

    uv run python bench/ops/cold_start.py [runs]

Goals: the service (`<slug> serve`, its admin /healthz) < 0.5 s and <= 1.1x the bare app (bare_app.py:
one route, served by `python -m uvicorn` from the project's virtualenv). Both run from that virtualenv
(what the container's CMD does); the service with its default configuration (metrics and tracing on,
no OTLP endpoint) against a real PostgreSQL. Runs alternate, service then bare app, so both see the
same machine load; the first pair warms the OS file cache and is not counted.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager

from harness import Project, Server, project, serving, serving_bare

Start = Callable[[Project], AbstractContextManager[Server]]


def _summary(times: list[float]) -> dict[str, float]:
    return {
        "median_s": round(statistics.median(times), 3),
        "min_s": round(min(times), 3),
        "max_s": round(max(times), 3),
    }


def main(runs: int = 10) -> dict[str, object]:
    starts: dict[str, Start] = {"service": serving, "bare": serving_bare}
    times: dict[str, list[float]] = {name: [] for name in starts}
    load_before = os.getloadavg()
    with project() as bench:
        for attempt in range(runs + 1):
            for name, start in starts.items():
                with start(bench) as server:
                    seconds = server.wait_healthy()
                if attempt:
                    times[name].append(seconds)
    service, bare = (_summary(times[name]) for name in starts)
    result: dict[str, object] = {
        "runs": runs,
        "service": service,
        "bare": bare,
        "ratio_of_medians": round(service["median_s"] / bare["median_s"], 2),
        "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
