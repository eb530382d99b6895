"""Live pages in Debian's chromium with the real Datastar v1 client: what reaches which tab, and the page's
connection state through a restart and an outage longer than Datastar's own 10 tries."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from .browser_harness import PAGE, StreamRequests, add_by_form, expect_state, form_row, open_signed_in, screenshot
from .browser_service import Service

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

Contexts = Callable[..., BrowserContext]
# A button the user can tell is unavailable: disabled, or styled so (forge-live.css marks them so).
UNAVAILABLE = "button => button.disabled || getComputedStyle(button).cursor === 'not-allowed'"


def test_two_tabs_of_a_tenant_see_api_writes_and_each_others_forms(
    live_service: Service, browser_context: Contexts
) -> None:
    token = live_service.token("alice", "tabs")
    context = browser_context()
    first, second = open_signed_in(context, live_service, token), open_signed_in(context, live_service, token)

    status, mug = live_service.api(
        "POST", "/api/products", token, {"title": "Mug", "sku": "TAB-API", "price": "9.50", "in_stock": True}
    )
    assert status == 201, mug
    for page in (first, second):
        expect(page.locator(f"#product-{mug['id']} [name='title']")).to_have_value("Mug")

    add_by_form(first, "Teapot", "TAB-FORM", "12.50")
    expect(second.locator(form_row("TAB-FORM"))).to_have_count(1)
    expect(first.locator("#product-new [name='title']")).to_have_value("")  # the form was sent again, empty

    row = second.locator(f"#product-{mug['id']}")
    row.locator("[name='title']").fill("Mug, large")
    row.get_by_role("button", name="Save").click()
    expect(first.locator(f"#product-{mug['id']} [name='title']")).to_have_value("Mug, large")

    first.locator(form_row("TAB-FORM")).get_by_role("button", name="Delete").click()
    expect(second.locator(form_row("TAB-FORM"))).to_have_count(0)
    screenshot(second, "two_tabs")
    assert live_service.listed(token) == [("TAB-API", "Mug, large")]


def test_another_tenant_sees_nothing(live_service: Service, browser_context: Contexts) -> None:
    ours, theirs = live_service.token("alice", "ours"), live_service.token("alice", "theirs")
    our_page = open_signed_in(browser_context(), live_service, ours)
    their_page = open_signed_in(browser_context(), live_service, theirs)

    status, created = live_service.api(
        "POST", "/api/products", ours, {"title": "Secret", "sku": "OURS-1", "price": "1.00", "in_stock": True}
    )
    assert status == 201, created
    add_by_form(our_page, "Also secret", "OURS-2", "2.00")
    expect(our_page.locator(form_row("OURS-2"))).to_have_count(1)
    their_page.wait_for_timeout(500)  # the other tenant's stream had every chance to receive something

    expect(their_page.locator("#product-rows tr[id^='product-']")).to_have_count(0)
    assert "OURS-" not in their_page.content()
    screenshot(their_page, "other_tenant")


def test_state_through_a_restart_and_an_outage_longer_than_datastars_tries(
    live_service: Service, browser_context: Contexts
) -> None:
    """Stop (the farewell says reconnecting), stay down for more than Datastar's 10 tries, change a row
    behind the server's back, start again: the page comes back by itself with the row as it is now.
    A form sent while down is refused on the page and not saved later."""
    token = live_service.token("alice", "outage")
    status, row = live_service.api(
        "POST", "/api/products", token, {"title": "Before", "sku": "OUT-1", "price": "3.00", "in_stock": True}
    )
    assert status == 201, row
    page = open_signed_in(browser_context(), live_service, token)
    tries = StreamRequests().watch(page)

    live_service.stop()
    expect_state(page, "reconnecting")
    down = time.monotonic()
    live_service.sql("UPDATE product SET title = %s WHERE id = %s", "Changed while down", row["id"])
    page.locator("#product-new [name='title']").fill("Sent while down")
    page.locator("#product-new [name='sku']").fill("OUT-DOWN")
    page.locator("#product-new [name='price']").fill("1.00")
    add = page.locator("#product-new").get_by_role("button", name="Add")
    assert add.evaluate(UNAVAILABLE), "the form's button looks usable while the page is not live"
    add.click(no_wait_after=True)
    expect(page.locator("#product-errors")).not_to_be_empty()  # and one sent anyway says it was not
    deadline = time.monotonic() + 30
    while len(tries.since(down)) <= 12:
        assert time.monotonic() < deadline, f"only {len(tries.since(down))} reconnect tries in 30 s"
        page.wait_for_timeout(200)
    expect_state(page, "reconnecting")  # still trying, never given up
    expect(page.locator("#live-status [data-countdown]")).to_be_visible()
    screenshot(page, "outage_reconnecting")

    live_service.start()
    expect_state(page, "live", timeout=15)
    expect(page.locator(f"#product-{row['id']} [name='title']")).to_have_value("Changed while down")
    screenshot(page, "outage_back_live")
    page.wait_for_timeout(1000)
    assert live_service.listed(token) == [("OUT-1", "Changed while down")], "a form sent while down was saved"
    assert page.url == f"{live_service.url}{PAGE}"
