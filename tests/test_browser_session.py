"""Signing a browser in without leaving the token anywhere a page or its history shows, CSRF refusals,
and what an open page shows and how often it asks again when signed out (401) or over the stream limit
(429), in Debian's chromium with the real Datastar v1 client."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from .browser_harness import PAGE, StreamRequests, add_by_form, expect_state, form_row, open_signed_in, screenshot
from .browser_service import MAX_PER_USER, RETRY_AFTER_SECONDS, SIGNED_OUT_RETRY_MS, Service
from .forge_harness import free_ports

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

Contexts = Callable[..., BrowserContext]
COOKIE = "forge_session"


def assert_no_token_left(page: Page, token: str, service: Service) -> None:
    """Not in the address, the HTML, script-readable cookies or any history entry of the tab."""
    assert page.url == f"{service.url}{PAGE}"
    assert token not in page.content()
    assert "Bearer" not in page.content()
    assert page.evaluate("document.cookie") == ""  # HttpOnly
    while page.go_back() is not None:
        assert token not in page.url


def session_cookie(context: BrowserContext) -> dict[str, object]:
    (cookie,) = [dict(c) for c in context.cookies() if c["name"] == COOKIE]
    return cookie


def test_sign_in_by_cookie_leaves_no_token_in_the_url_history_or_html(
    live_service: Service, browser_context: Contexts
) -> None:
    token = live_service.token("carol", "signin")

    # A link that carries the token: the server sets the cookie and sends the browser on without it.
    linked = browser_context()
    page = open_signed_in(linked, live_service, token)
    assert_no_token_left(page, token, live_service)
    cookie = session_cookie(linked)
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Lax", "/")

    # An address with #token= (never sent to any server): the sign-in page posts it and replaces the address.
    fragment = browser_context().new_page()
    fragment.goto(f"{live_service.url}/live/signin?next={PAGE}#token={token}")
    expect_state(fragment, "live")
    assert_no_token_left(fragment, token, live_service)

    # The sign-in form, as a person pastes a token.
    typed = browser_context().new_page()
    typed.goto(f"{live_service.url}{PAGE}")  # not signed in: the page sends the browser to sign in
    expect(typed.locator("input[name='token']")).to_be_visible()
    screenshot(typed, "signin_form")
    typed.locator("input[name='token']").fill(token)
    typed.get_by_role("button", name="Sign in").click()
    expect_state(typed, "live")
    screenshot(typed, "signed_in")
    assert_no_token_left(typed, token, live_service)


def test_csrf_refusals(live_service: Service, browser_context: Contexts) -> None:
    """A script of the page without the CSRF header, and a form on another origin of the same site
    (which the SameSite=Lax cookie does not stop), get 403; nothing is saved."""
    token = live_service.token("carol", "csrf")
    context = browser_context()
    page = open_signed_in(context, live_service, token)
    fetch = """async (url) => {
        const body = new URLSearchParams({title: 'Forged', sku: 'CSRF-FETCH', price: '1.00'});
        const response = await fetch(url, {method: 'POST', body});
        return [response.status, await response.text()];
    }"""
    status, text = page.evaluate(fetch, f"{live_service.url}{PAGE}")
    assert status == 403, text
    assert "CSRF" in text

    (other_port,) = free_ports(1)
    forged = f"http://127.0.0.1:{other_port}/prize"
    form = (
        f'<form method="post" action="{live_service.url}{PAGE}">'
        '<input name="title" value="Forged"><input name="sku" value="CSRF-FORM"><input name="price" value="1.00">'
        "</form><script>document.forms[0].submit()</script>"
    )
    context.route(forged, lambda route: route.fulfill(content_type="text/html", body=form))
    attacker = context.new_page()
    with attacker.expect_navigation(url=f"{live_service.url}{PAGE}") as navigation:
        attacker.goto(forged)
    response = navigation.value
    assert response is not None and response.status == 403
    screenshot(attacker, "csrf_refused")

    # Signing the browser in as someone else from another origin (login CSRF) is refused too.
    login = (
        f'<form method="post" action="{live_service.url}/live/session">'
        f'<input name="token" value="{live_service.token("mallory", "csrf")}"><input name="next" value="{PAGE}">'
        "</form><script>document.forms[0].submit()</script>"
    )
    context.route(forged + "-login", lambda route: route.fulfill(content_type="text/html", body=login))
    with attacker.expect_navigation(url=f"{live_service.url}/live/session") as navigation:
        attacker.goto(forged + "-login")
    response = navigation.value
    assert response is not None and response.status == 403
    assert session_cookie(context)["value"] == token

    assert live_service.listed(token) == []
    expect(page.locator(form_row("CSRF-FORM"))).to_have_count(0)


def test_signed_out_when_the_session_expires(live_service: Service, browser_context: Contexts) -> None:
    """The session's token expires while the page is open: a form sent then says it was not saved and
    the page shows it is signed out; after a restart the stream is told the same and asks again only as
    often as the server says (live.signed_out_retry_ms), not in a loop; the link leads back in."""
    lifetime = 8  # long enough to open the page on a loaded machine
    issued = time.monotonic()
    page = open_signed_in(browser_context(), live_service, live_service.token("dave", "expiry", ttl=lifetime))
    page.wait_for_timeout((lifetime + 0.5 - (time.monotonic() - issued)) * 1000)
    add_by_form(page, "Sent signed out", "EXPIRED-1", "1.00")
    expect(page.locator("#product-errors")).to_contain_text("signed out")
    expect_state(page, "signed_out")

    tries = StreamRequests().watch(page)
    live_service.restart()
    expect_state(page, "signed_out", timeout=15)
    page.wait_for_timeout(500)
    signed_out = time.monotonic()
    page.wait_for_timeout(2 * SIGNED_OUT_RETRY_MS)
    asked = len(tries.since(signed_out))
    assert 1 <= asked <= 3, f"{asked} stream requests in {2 * SIGNED_OUT_RETRY_MS} ms while signed out"
    expect_state(page, "signed_out")
    screenshot(page, "signed_out")

    page.locator("#live-status").get_by_role("link").click()
    page.locator("input[name='token']").fill(live_service.token("dave", "expiry"))
    page.get_by_role("button", name="Sign in").click()
    expect_state(page, "live")
    assert page.url == f"{live_service.url}{PAGE}"
    assert live_service.listed(live_service.token("dave", "expiry")) == [], "a form sent signed out was saved"


def test_busy_when_too_many_tabs_waits_as_the_server_asks(live_service: Service, browser_context: Contexts) -> None:
    """One tab more than sse.max_per_user: it says it waits, asks again every sse.retry_after_seconds
    (not every second), and goes live by itself once a tab is closed."""
    token = live_service.token("erin", "busy")
    context = browser_context()
    tabs = [open_signed_in(context, live_service, token) for _ in range(MAX_PER_USER)]
    extra = context.new_page()
    tries = StreamRequests().watch(extra)
    extra.goto(f"{live_service.url}{PAGE}")
    expect_state(extra, "busy")
    busy = time.monotonic()
    window = 2 * RETRY_AFTER_SECONDS + 1
    extra.wait_for_timeout(window * 1000)
    asked = len(tries.since(busy))
    assert 1 <= asked <= 3, f"{asked} stream requests in {window} s while busy (retry after {RETRY_AFTER_SECONDS} s)"
    expect_state(extra, "busy")
    screenshot(extra, "busy")

    tabs[0].close()
    expect_state(extra, "live", timeout=RETRY_AFTER_SECONDS * 2 + 2)
