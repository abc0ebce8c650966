"""Issue 6's story in a real browser, once in Japanese and once in English.

A web member signs in with the code the test mail server caught, corrects
their address (the page fills prefecture and municipality from the postal
code), withdraws the newsletter consent and files a disclosure request; the
privacy officer signs in to the console with password and second factor and
completes it; the member downloads the report and finds the corrected address
in it. What the pages say is checked in the page's language, and what was
recorded through the HTTP API: one withdrawal, one completed request.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.browser import (
    choose_language,
    expect_language,
    new_context,
    sign_in_member,
    sign_in_staff,
    t,
)
from tests.e2e.flows import (
    complete_request,
    correct_address,
    download_report,
    file_disclosure,
    step,
    withdraw_consent,
)
from tests.e2e.server import Server

NEWSLETTER = "email_delivery"


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_member_corrects_withdraws_files_and_downloads_the_report(
    browser: Browser, server: Server, lang: str, tmp_path: Path
) -> None:
    member = server.register_member(consents=(NEWSLETTER,))
    member_context = new_context(browser, server)
    staff_context = new_context(browser, server)
    try:
        page = member_context.new_page()
        with step("a. the member signs in with the mailed code"):
            sign_in_member(page, server, member, lang)
        with step("a. the member corrects the address (contact page, postal-code script)"):
            place = correct_address(page, member, lang)
        with step("a. the member withdraws the newsletter consent"):
            withdraw_consent(page, NEWSLETTER, lang)
        with step("a. the member files a disclosure request"):
            ref = file_disclosure(page, lang)
        with step("b. the officer signs in to the console"):
            console = staff_context.new_page()
            sign_in_staff(console, server, lang)
        with step("b. the officer completes the request from the queue"):
            complete_request(console, ref, lang)
        with step("c. the member downloads the report"):
            report = download_report(page, ref, lang, tmp_path)
    finally:
        member_context.close()
        staff_context.close()
    assert place.postal_code in report and place.municipality in report
    assert f'lang="{lang}"' in report
    assert server.request(ref)["state"] == "completed"
    withdrawn = [
        (e["state"], e["channel"])
        for e in server.consent_events(member.ref)
        if e["purpose"] == NEWSLETTER and e["state"] == "withdrawn"
    ]
    assert withdrawn == [("withdrawn", "privacy_center")]


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_language_chosen_is_remembered_across_pages(
    browser: Browser, server: Server, lang: str
) -> None:
    """The header's switch sets the language; later pages keep it without asking again."""
    context = new_context(browser, server)
    try:
        page = context.new_page()
        page.goto("/privacy")
        expect_language(page, "ja")  # Japanese unless chosen otherwise
        for wanted in ("en", "ja", lang):  # there and back, then the one under test
            choose_language(page, wanted)
        page.goto("/privacy/signin")
        expect_language(page, lang)
        expect(page.locator("h1")).to_have_text(t(lang, "Sign in as a member"))
        if lang == "ja":
            assert t("ja", "Sign in as a member") != "Sign in as a member"
    finally:
        context.close()


def test_a_switch_pressed_twice_quickly_records_one_event(browser: Browser, server: Server) -> None:
    """A double click on a consent switch: the saved page, and one withdrawal recorded."""
    member = server.register_member(consents=(NEWSLETTER,))
    context = new_context(browser, server)
    try:
        page = context.new_page()
        sign_in_member(page, server, member, "en")
        switch = page.locator(f'form[action="/privacy/me/consents/{NEWSLETTER}"]')
        switch.get_by_role("button", name=t("en", "Withdraw my consent")).dblclick()
        expect(page.get_by_text(t("en", "Your choice has been saved."))).to_be_visible()
    finally:
        context.close()
    states = [e["state"] for e in server.consent_events(member.ref) if e["purpose"] == NEWSLETTER]
    assert states == ["granted", "withdrawn"]
