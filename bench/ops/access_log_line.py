"""CPU time of one access-log line, as production writes it (JSON sink, here to /dev/null).

    <project>/.venv/bin/python bench/ops/access_log_line.py <slug>

Calls `log_request` for a matched route with a known caller, 7 rounds of 5000; prints the minimum
microseconds per line. observability_cost.py measures the same line inside whole requests.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import time
from dataclasses import dataclass


@dataclass
class _Route:
    path_format: str = "/api/products/{row_id}"


def main(slug: str) -> float:
    importlib.import_module(f"{slug}.app.observe.logs").setup_logging(production=True, level="INFO")
    log_request = importlib.import_module(f"{slug}.app.observe.access").log_request
    caller = importlib.import_module(f"{slug}.app.auth").Caller("alice", "acme")
    scope = {"type": "http", "method": "GET", "route": _Route(), "forge.caller": caller}
    samples = []
    with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
        for _ in range(7):
            started = time.process_time()
            for _ in range(5000):
                log_request(scope, 200, 0.0031, streaming=False)
            samples.append((time.process_time() - started) / 5000 * 1e6)
    return round(min(samples), 1)


if __name__ == "__main__":
    print(f"{main(sys.argv[1])} us per access-log line")
