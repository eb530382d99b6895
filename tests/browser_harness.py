"""Debian's chromium driven by Playwright, and what the browser tests read off a live page.

Playwright's own browser download cannot work here: the tests launch the distribution's build
(scripts/install_chromium.sh installs it; `make test` runs that first). Every scenario leaves a
screenshot in the artifacts directory ($BROWSER_TEST_ARTIFACTS, else tests/.artifacts) to be looked at.
The variable has no FORGE_ prefix: the service under test refuses FORGE_* variables it does not know.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Request, expect

from bench.ops.chromium import CHROMIUM

from .browser_service import Service
from .forge_harness import ROOT

ARTIFACTS = Path(os.environ.get("BROWSER_TEST_ARTIFACTS") or ROOT / "tests" / ".artifacts") / "browser"
PAGE = "/live/products"
STATUS = "#live-status"


def require_chromium() -> Path:
    """The browser, or a skip on a developer's machine without it; never a skip under CI."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: run scripts/install_chromium.sh (root) or apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the browser tests", pytrace=False)
        pytest.skip(reason)
    return CHROMIUM


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def open_signed_in(context: BrowserContext, service: Service, token: str) -> Page:
    """A tab of the live page, signed in by `?token=` (the server sets the cookie and drops the token)."""
    page = context.new_page()
    page.goto(f"{service.url}{PAGE}?token={token}")
    expect_state(page, "live")
    return page


def expect_state(page: Page, state: str, timeout: float = 10) -> None:
    expect(page.locator(STATUS)).to_have_attribute("data-state", state, timeout=timeout * 1000)


def form_row(sku: str) -> str:
    """The row showing `sku` as the server rendered it (the value attribute, not what a user typed)."""
    return f'#product-rows tr:has(input[name="sku"][value="{sku}"])'


def add_by_form(page: Page, title: str, sku: str, price: str) -> None:
    form = page.locator("#product-new")
    form.locator('[name="title"]').fill(title)
    form.locator('[name="sku"]').fill(sku)
    form.locator('[name="price"]').fill(price)
    form.get_by_role("button", name="Add").click()


@dataclass
class StreamRequests:
    """When the page asked for its stream: how often it retries, whatever the answer."""

    times: list[float] = field(default_factory=list)

    def watch(self, page: Page) -> StreamRequests:
        page.on("request", self._seen)
        return self

    def _seen(self, request: Request) -> None:
        if request.url.split("?")[0].endswith(f"{PAGE}/stream"):
            self.times.append(time.monotonic())

    def since(self, moment: float) -> list[float]:
        return [t for t in self.times if t >= moment]
