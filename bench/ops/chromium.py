"""How Forge starts Debian's chromium, for the browser tests (tests/browser_harness.py) and the browser
latency benchmark (bench/browser_latency.py): Playwright's own browser download cannot work here."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags chromium keeps trying Google's hosts, which a closed network
# refuses; as root it needs --no-sandbox.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
