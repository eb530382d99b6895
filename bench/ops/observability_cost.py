"""Cost of observability: requests per second of a read route with metrics and tracing on vs off.

    uv run python bench/ops/observability_cost.py [seconds-per-round (2)] [rounds (15)]

Two servers of the same project run side by side in production mode (JSON logs), one with the
defaults (Prometheus HTTP and database metrics, an OpenTelemetry span per request and per query, no
exporter, as without a collector; an access-log line per request) and one with
FORGE_OBSERVE_METRICS=false FORGE_OBSERVE_TRACING=false FORGE_OBSERVE_ACCESS_LOG=false. Rounds alternate
between them (on-off, off-on, ...) so machine noise hits both alike; the ratio is the median of
per-round on/off ratios. The route is GET /api/products?limit=20 over 20 seeded rows, authenticated,
one tenant-scoped SELECT per request. The load is keep-alive HTTP/1.1 from raw asyncio streams in
this process (much cheaper per request than the server), 16 connections. Goal: ratio >= 0.9.
inprocess_cost.py then measures the same route's Python calls and CPU per request in one process,
which a busy machine cannot blur.
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import sys
import time
import urllib.request
from pathlib import Path

from harness import SLUG, Server, project, run, serving

HERE = Path(__file__).resolve().parent

CONNECTIONS = 16
# Logs as deployed: JSON lines (the access log's included), here to /dev/null.
PRODUCTION = {"FORGE_ENV": "production", "FORGE_APP_SECRET_KEY": "bench-" + "k7" * 20}
PATH = "/api/products?limit=20"
_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)


async def _connection(port: int, request: bytes, deadline: float) -> tuple[int, int]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    ok = failed = 0
    try:
        while time.perf_counter() < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = _LENGTH.search(head)
            await reader.readexactly(int(length.group(1)) if length else 0)
            if head[9:12] == b"200":
                ok += 1
            else:
                failed += 1
    finally:
        writer.close()
    return ok, failed


async def _load(port: int, token: str, seconds: float) -> float:
    request = f"GET {PATH} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
    deadline = time.perf_counter() + seconds
    results = await asyncio.gather(*(_connection(port, request, deadline) for _ in range(CONNECTIONS)))
    ok, failed = sum(r[0] for r in results), sum(r[1] for r in results)
    if failed:
        raise RuntimeError(f"{failed} non-200 responses")
    return ok / seconds


def _seed(server: Server, token: str) -> None:
    for n in range(20):
        body = {"title": f"item {n}", "sku": f"sku-{n}", "price": "9.99", "in_stock": True}
        request = urllib.request.Request(
            f"http://127.0.0.1:{server.http_port}/api/products",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request) as response:
            assert response.status == 201


def main(seconds: float = 2.0, rounds: int = 15) -> dict[str, object]:
    with project() as bench:
        token = bench.cli("token", "--user", "bench", "--tenant", "bench", "--ttl", "36000", **PRODUCTION).strip()
        off_env = {
            "FORGE_OBSERVE_METRICS": "false",
            "FORGE_OBSERVE_TRACING": "false",
            "FORGE_OBSERVE_ACCESS_LOG": "false",
        }
        with serving(bench, **PRODUCTION) as on, serving(bench, **PRODUCTION, **off_env) as off:
            on.wait_serving()
            off.wait_serving()
            _seed(on, token)
            for server in (on, off):  # warm up both: imports, pools, caches
                asyncio.run(_load(server.http_port, token, 2.0))
            rps: dict[str, list[float]] = {"on": [], "off": []}
            for n in range(rounds):  # on-off, off-on, ...: drift in the machine's load cancels out
                order = [("on", on), ("off", off)][:: 1 if n % 2 == 0 else -1]
                for mode, server in order:
                    rps[mode].append(asyncio.run(_load(server.http_port, token, seconds)))
        probe = [bench.python, str(HERE / "inprocess_cost.py"), SLUG, bench.database_url]
        inprocess = json.loads(run(probe, bench.path, {"FORGE_CONFIG": str(bench.path / "forge.toml")}))
    ratios = [a / b for a, b in zip(rps["on"], rps["off"], strict=True)]
    result: dict[str, object] = {
        "rounds": rounds,
        "seconds_per_round": seconds,
        "rps_on_median": round(statistics.median(rps["on"]), 1),
        "rps_off_median": round(statistics.median(rps["off"]), 1),
        "ratio_median": round(statistics.median(ratios), 3),
        "ratio_min": round(min(ratios), 3),
        "ratio_max": round(max(ratios), 3),
        **inprocess,
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    args = sys.argv[1:]
    main(float(args[0]) if args else 2.0, int(args[1]) if len(args) > 1 else 15)
