"""Global Privacy Control from a real browser: ``Sec-GPC: 1`` on every request of a member.

The browser sends the header on every page, as one with GPC switched on
does; the member sees the banner saying it was honoured, and the consent to
provision to partners is withdrawn once, as an event with channel ``gpc``,
however many pages follow. A consent that is not a provision to third
parties stays as it was.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.browser import expect_language, new_context, sign_in_member, t
from tests.e2e.server import Server

PARTNERS = "partner_information"
OWN = "personalization"
BANNER = (
    "Your browser sent a Global Privacy Control signal. We have honoured it:"
    " you no longer consent to our providing your data to third parties."
)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_a_gpc_browser_is_opted_out_of_partners_once(
    browser: Browser, server: Server, lang: str
) -> None:
    member = server.register_member(consents=(PARTNERS, OWN))
    context = new_context(browser, server, headers={"Sec-GPC": "1"})
    try:
        page = context.new_page()
        sign_in_member(page, server, member, lang)
        expect(page.get_by_text(t(lang, BANNER))).to_be_visible()
        switch = page.locator(f'form[action="/privacy/me/consents/{PARTNERS}"]')
        expect(switch.get_by_role("button", name=t(lang, "Give my consent"))).to_be_visible()
        for path in ("/privacy/me", "/privacy/me/contact", "/privacy/me"):
            page.goto(path)
            expect_language(page, lang)
        expect(page.get_by_text(t(lang, BANNER))).to_be_visible()
    finally:
        context.close()
    events = server.consent_events(member.ref)
    by_gpc = [(e["purpose"], e["state"]) for e in events if e["channel"] == "gpc"]
    assert by_gpc == [(PARTNERS, "withdrawn")]
    latest = {e["purpose"]: e["state"] for e in events}
    assert latest == {PARTNERS: "withdrawn", OWN: "granted"}


def test_without_the_signal_nothing_is_withdrawn_and_no_banner(
    browser: Browser, server: Server
) -> None:
    member = server.register_member(consents=(PARTNERS,))
    context = new_context(browser, server)
    try:
        page = context.new_page()
        sign_in_member(page, server, member, "en")
        expect(page.get_by_text(t("en", BANNER))).to_have_count(0)
    finally:
        context.close()
    assert [e["channel"] for e in server.consent_events(member.ref)] == ["staff"]
