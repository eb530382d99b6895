"""CPU time of one access-log line, as production writes it (JSON sink, here to /dev/null).

    <project>/.venv/bin/python bench/ops/access_log_line.py <slug>

Calls `log_request` for a matched route with a known caller, 7 rounds of 5000; prints the minimum
microseconds per line, and the Python calls per line (cProfile, exact whatever the machine's load).
observability_cost.py measures the same line inside whole requests.
"""

from __future__ import annotations

import contextlib
import cProfile
import importlib
import io
import os
import pstats
import sys
import time

ROUTE = "/api/products/{row_id}"


def main(slug: str) -> tuple[float, float]:
    importlib.import_module(f"{slug}.app.observe.logs").setup_logging(production=True, level="INFO")
    log_request = importlib.import_module(f"{slug}.app.observe.access").log_request
    caller = importlib.import_module(f"{slug}.app.auth").Caller("alice", "acme")
    scope = {"type": "http", "method": "GET", "forge.caller": caller}
    samples = []
    with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
        for _ in range(7):
            started = time.process_time()
            for _ in range(5000):
                log_request(scope, "GET", ROUTE, 200, 0.0031, streaming=False)
            samples.append((time.process_time() - started) / 5000 * 1e6)
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(1000):
            log_request(scope, "GET", ROUTE, 200, 0.0031, streaming=False)
        profile.disable()
    calls = pstats.Stats(profile, stream=io.StringIO()).total_calls / 1000  # type: ignore[attr-defined]
    return round(min(samples), 1), calls


if __name__ == "__main__":
    micros, calls = main(sys.argv[1])
    print(f"{micros} us and {calls:g} Python calls per access-log line")
