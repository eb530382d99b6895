"""The live page's forms and layout as a browser user meets them: validation messages beside the form or
row they belong to, typing that another tab's change does not overwrite, a phone-width layout, and a
page load in which no request fails."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Response, expect

from .browser_harness import PAGE, add_by_form, form_row, open_signed_in, screenshot
from .browser_service import Service

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

Contexts = Callable[..., BrowserContext]
# A duplicate names the field: "sku already exists", or as a form's line "Sku: already exists".
ALREADY_EXISTS = re.compile(r"^sku:? already exists$", re.IGNORECASE)


def test_validation_messages_beside_the_form_and_the_row(live_service: Service, browser_context: Contexts) -> None:
    token = live_service.token("frank", "validation")
    status, taken = live_service.api(
        "POST", "/api/products", token, {"title": "Taken", "sku": "DUP-1", "price": "5.00", "in_stock": True}
    )
    assert status == 201, taken
    status, other = live_service.api(
        "POST", "/api/products", token, {"title": "Other", "sku": "DUP-2", "price": "5.00", "in_stock": True}
    )
    assert status == 201, other
    page = open_signed_in(browser_context(), live_service, token)
    form, form_errors = page.locator("#product-new"), page.locator("#product-errors")

    # The browser checks the answers' constraints before sending: an empty title, a negative price.
    add_by_form(page, "", "BLANK-1", "1.00")
    assert form.locator("[name='title']").evaluate("input => input.validity.valueMissing") is True
    add_by_form(page, "Negative", "NEG-1", "-1")
    assert form.locator("[name='price']").evaluate("input => input.validity.rangeUnderflow") is True
    expect(form_errors).to_be_empty()

    # The server checks them too, for a client that does not (and spaces pass the browser's `required`).
    form.evaluate("form => { form.noValidate = true }")
    add_by_form(page, "   ", "BLANK-1", "1.00")
    expect(form_errors).to_have_text(re.compile(r"^Title: .+"))
    add_by_form(page, "Negative", "NEG-1", "-1")
    expect(form_errors).to_have_text(re.compile(r"^Price: .+"))
    add_by_form(page, "Copy", "DUP-1", "1.00")
    expect(form_errors).to_have_text(ALREADY_EXISTS)
    screenshot(page, "validation_form")

    row = page.locator(f"#product-{other['id']}")
    row.locator("[name='sku']").fill("DUP-1")
    row.get_by_role("button", name="Save").click()
    row_errors = page.locator(f"#product-{other['id']}-errors")
    expect(row_errors).to_have_text(ALREADY_EXISTS)
    screenshot(page, "validation_row")

    shown = form_errors.inner_text() + row_errors.inner_text()
    assert "validation" not in shown and "Key (" not in shown and "tenant" not in shown.lower(), shown
    assert sorted(sku for sku, _title in live_service.listed(token)) == ["DUP-1", "DUP-2"]


def test_a_field_being_edited_keeps_the_typing_when_another_tab_changes_it(
    live_service: Service, browser_context: Contexts
) -> None:
    token = live_service.token("grace", "typing")
    status, product = live_service.api(
        "POST", "/api/products", token, {"title": "Lamp", "sku": "TYPE-1", "price": "20.00", "in_stock": True}
    )
    assert status == 201, product
    context = browser_context()
    typing, saving = open_signed_in(context, live_service, token), open_signed_in(context, live_service, token)
    title = typing.locator(f"#product-{product['id']} [name='title']")
    title.fill("Lamp, brass (my typing)")

    other_row = saving.locator(f"#product-{product['id']}")
    other_row.locator("[name='title']").fill("Lamp, steel")
    other_row.locator("[name='price']").fill("25.00")
    other_row.get_by_role("button", name="Save").click()

    # The field not being edited follows the change; the one being typed in keeps the typing and shows
    # what the other tab saved beside it.
    expect(typing.locator(f"#product-{product['id']} [name='price']")).to_have_value("25.00")
    expect(title).to_have_value("Lamp, brass (my typing)")
    expect(typing.locator(f"#product-{product['id']}")).to_contain_text("Lamp, steel")
    screenshot(typing, "typing_kept")


def test_phone_width_favicon_and_no_failed_request(live_service: Service, browser_context: Contexts) -> None:
    token = live_service.token("heidi", "phone")
    long_title = "A rather long product title that would push a wide table off a phone screen"
    for number in range(3):
        body = {"title": long_title, "sku": f"PHONE-{number}", "price": "1234567.50", "in_stock": True}
        assert live_service.api("POST", "/api/products", token, body)[0] == 201
    context = browser_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    failed: list[str] = []

    def record(response: Response) -> None:
        if response.status >= 400:
            failed.append(f"{response.status} {response.url}")

    context.on("response", record)
    page = open_signed_in(context, live_service, token)
    add_by_form(page, "Added on a phone", "PHONE-FORM", "1.00")
    expect(page.locator(form_row("PHONE-FORM"))).to_have_count(1)

    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px at 390 px"
    screenshot(page, "phone_390px")

    favicon = page.request.get(f"{live_service.url}/favicon.ico")
    assert favicon.status == 200 and favicon.body(), favicon.status
    icon = page.locator("link[rel~='icon']").get_attribute("href")
    assert icon and page.request.get(live_service.url + icon).status == 200
    page.reload()
    page.goto(f"{live_service.url}/live/signin?next={PAGE}")
    assert failed == []


def test_without_the_bundle_the_page_says_live_updates_are_off_and_its_forms_still_work(
    live_service: Service, browser_context: Contexts
) -> None:
    """The Datastar bundle cannot be loaded (a CDN out of reach): the page says so, and its add form is a
    plain form post authenticated by the session cookie and its CSRF field."""
    token = live_service.token("ivan", "static")
    context = browser_context()
    context.route("**/datastar.js", lambda route: route.abort())
    page = context.new_page()
    page.goto(f"{live_service.url}{PAGE}?token={token}")
    page.wait_for_timeout(500)  # time for a script that did load to change the state
    expect(page.locator("#live-status")).to_have_attribute("data-state", "static")
    expect(page.locator("#live-status")).to_contain_text("live updates are off")

    add_by_form(page, "Sent without scripts", "PLAIN-1", "1.00")
    expect(page.locator(form_row("PLAIN-1"))).to_have_count(1)
    assert page.url == f"{live_service.url}{PAGE}"
    page.wait_for_timeout(1600)  # "static" shows once the scripts have had 1.5 s to run (forge-live.css)
    expect(page.locator("#live-status")).to_be_visible()
    screenshot(page, "without_bundle")
