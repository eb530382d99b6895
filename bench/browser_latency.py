"""Commit -> row visible: how long an API write takes to show in open live pages of Debian's chromium,
for 1 and for 50 open tabs, against the same event's arrival at a raw SSE reader in the same run.

    uv run python bench/browser_latency.py [writes] [tabs ...]      # default: 30 writes; 1 and 50 tabs

The default project is rendered from this checkout and served by `<slug> serve` on a throwaway database
(bench/ops/harness.py; FORGE_BENCH_DATABASE_URL names the server), with the real Datastar v1 client of
scripts/datastar_bundle.py served from its own origin. Every tab is a browser profile of its own (a
profile opens at most 6 connections to one host), signed in by cookie as a user would be.

Each write is one POST /api/products (its commit sends the NOTIFY). Its clock starts just before the POST
is sent and stops, in each page, when a MutationObserver sees the new row's <tr> inserted (the page's
`performance.timeOrigin + performance.now()`: the same wall clock), and at the baseline, an httpx client in
a process of its own holding the same stream, when the event that carries the row has been read. Writes
are sequential: the next starts once every tab shows the last. The ratio page / raw is of the medians.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from ops.chromium import CHROMIUM, LAUNCH_ARGS
from ops.harness import Project, project, serving
from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
PAGE = "/live/products"
# Notes when each row (by its sku) first appears in the page, in wall-clock milliseconds.
OBSERVE = """() => {
    window.forgeSeen = {};
    new MutationObserver((mutations) => {
        const now = performance.timeOrigin + performance.now();
        for (const mutation of mutations) for (const node of mutation.addedNodes) {
            const sku = node.querySelector?.('input[name="sku"]')?.value;
            if (sku && !(sku in window.forgeSeen)) window.forgeSeen[sku] = now;
        }
    }).observe(document.body, {childList: true, subtree: true});
}"""


# The baseline's reader, in a process of its own so that its clock does not wait for this one's threads:
# prints "connected" once the stream's first line is read, then `<sku> <wall ms>` as rows arrive.
READ_STREAM = """
import sys, time
import httpx

url, token = sys.argv[1], sys.argv[2]
marker = 'name="sku"'
with httpx.stream("GET", url, headers={"authorization": f"Bearer {token}"}, timeout=None) as response:
    for number, line in enumerate(response.iter_lines()):
        now = time.time() * 1000
        if not number:
            print("connected", flush=True)
        if line.startswith("data: elements") and marker in line:
            for part in line.split(marker)[1:]:
                if 'value="' in part:
                    print(part.split('value="', 1)[1].split('"', 1)[0], now, flush=True)
"""


class RawReader:
    """The baseline: the page's stream read by httpx in another process; when each sku first arrived."""

    def __init__(self, url: str, token: str) -> None:
        self.seen: dict[str, float] = {}
        self._process = subprocess.Popen(
            [sys.executable, "-c", READ_STREAM, url, token], stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        if self._process.stdout.readline().strip() != "connected":
            raise RuntimeError("the raw reader could not open the stream")
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            sku, at = line.split()
            self.seen.setdefault(sku, float(at))

    def close(self) -> None:
        self._process.terminate()
        self._process.wait(10)


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(statistics.median(values), 1),
        "p95": round(statistics.quantiles(values, n=100, method="inclusive")[94], 1),
        "max": round(max(values), 1),
    }


def _open_tabs(browser: Browser, url: str, token: str, count: int) -> list[Page]:
    pages = []
    for _ in range(count):
        page = browser.new_context().new_page()
        page.goto(f"{url}{PAGE}?token={token}")
        page.locator('#live-status[data-state="live"]').wait_for(timeout=60_000)
        page.evaluate(OBSERVE)
        pages.append(page)
    return pages


def _wait_seen(pages: list[Page], reader: RawReader, sku: str, timeout: float = 30) -> list[float]:
    deadline = time.monotonic() + timeout
    seen: list[float] = []
    for page in pages:
        while (at := page.evaluate("(sku) => window.forgeSeen[sku] ?? null", sku)) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{sku} did not show in every tab within {timeout} s")
            time.sleep(0.005)
        seen.append(at)
    while sku not in reader.seen:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{sku} did not reach the raw reader within {timeout} s")
        time.sleep(0.005)
    return seen


def measure(bench: Project, browser: Browser, url: str, tabs: int, writes: int) -> dict[str, object]:
    token = bench.cli("token", "--user", "bench", "--tenant", f"tabs-{tabs}").strip()
    pages = _open_tabs(browser, url, token, tabs)
    reader = RawReader(f"{url}{PAGE}/stream", token)
    page_ms: list[float] = []
    raw_ms: list[float] = []
    post_ms: list[float] = []
    load_before = os.getloadavg()[0]
    try:
        with httpx.Client(base_url=url, headers={"authorization": f"Bearer {token}"}) as api:
            for number in range(writes + 1):
                sku = f"LAT-{tabs}-{number}"
                started = time.time() * 1000
                response = api.post("/api/products", json={"title": "t", "sku": sku, "price": "1.00", "in_stock": True})
                answered = time.time() * 1000
                response.raise_for_status()
                seen = _wait_seen(pages, reader, sku)
                if number:  # the first write warms every path; not counted
                    page_ms += [at - started for at in seen]
                    raw_ms.append(reader.seen[sku] - started)
                    post_ms.append(answered - started)
    finally:
        reader.close()
        for page in pages:
            page.context.close()
    return {
        "tabs": tabs,
        "writes": writes,
        "page_ms": _summary(page_ms),
        "raw_sse_ms": _summary(raw_ms),
        "post_ms": _summary(post_ms),
        "page_to_raw_p50": round(statistics.median(page_ms) / statistics.median(raw_ms), 2),
        "load_average_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


@contextmanager
def _chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def main(writes: int = 30, tab_counts: tuple[int, ...] = (1, 50)) -> list[dict[str, object]]:
    print("command: uv run python bench/browser_latency.py " + " ".join(map(str, (writes, *tab_counts))))
    script = ROOT / "scripts" / "datastar_bundle.py"
    bundle = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True).stdout.strip()
    settings = {
        "FORGE_SSE_DATASTAR_PATH": bundle,
        "FORGE_SSE_MAX_PER_USER": str(max(tab_counts) + 1),  # every tab and the raw reader are one user
        "FORGE_OBSERVE_ACCESS_LOG": "false",
    }
    results = []
    with project() as bench, serving(bench, **settings) as server, _chromium() as browser:
        server.wait_serving()
        url = f"http://127.0.0.1:{server.http_port}"
        for tabs in tab_counts:
            result = measure(bench, browser, url, tabs, writes)
            print(json.dumps(result))
            results.append(result)
    return results


if __name__ == "__main__":
    counts = tuple(int(arg) for arg in sys.argv[2:]) or (1, 50)
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30, counts)
