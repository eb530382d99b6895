"""Cold start: from `<slug> serve` (a new process) to the admin /healthz answering 200. Goal: < 1.5 s.

    uv run python bench/ops/cold_start.py [runs]

The process is started from the project's virtualenv (what the container's CMD does), with metrics
and tracing on, against a real PostgreSQL; the first run warms the OS file cache and is not counted.
"""

from __future__ import annotations

import json
import statistics
import sys

from harness import project, serving


def main(runs: int = 10) -> dict[str, float]:
    times: list[float] = []
    with project() as bench:
        for attempt in range(runs + 1):
            with serving(bench) as server:
                seconds = server.wait_healthy()
            if attempt:
                times.append(seconds)
    result = {
        "runs": runs,
        "median_s": round(statistics.median(times), 3),
        "min_s": round(min(times), 3),
        "max_s": round(max(times), 3),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
