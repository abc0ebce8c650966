"""The steps of issue 6's story, as a member and a staff member take them in the browser.

Each step starts on the page a person would be on, follows the links and
buttons they would, and ends by checking what the page then says, in the
page's language. ``step`` names the step in a failure, so a red test says
which page let the story down.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from playwright.sync_api import Page, expect

from mamori.subjects import postal
from tests.e2e.browser import expect_language, t
from tests.e2e.server import Member

POSTAL = "user.contact.address.postal_code"
NEW_ADDRESSES = ("530-0001", "060-0001", "980-0001")  # real codes: Osaka, Sapporo, Sendai
_REF = re.compile(r"/privacy/me/requests/(r[0-9A-Za-z_-]+)$")


@contextmanager
def step(name: str) -> Iterator[None]:
    """Say which step of the story failed."""
    try:
        yield
    except Exception as error:
        error.add_note(f"in step: {name}")
        raise


class Place(NamedTuple):
    postal_code: str
    prefecture: str
    municipality: str


def new_postal_code(member: Member) -> Place:
    """A real postal code other than the member's, with the place it names."""
    for code in NEW_ADDRESSES:
        found = postal.address_for_postal_code(code)
        if found and found.prefecture and found.municipality and code != member.values[POSTAL]:
            return Place(code, found.prefecture, found.municipality)
    raise AssertionError("no postal code to move to")


def correct_address(page: Page, member: Member, lang: str) -> Place:
    """Type a new postal code; the page's script fills prefecture and municipality."""
    place = new_postal_code(member)
    page.get_by_role("link", name=t(lang, "Correct your contact details")).click()
    expect(page.locator("h1")).to_have_text(t(lang, "Correct your contact details"))
    prefecture = page.locator("#f-address_prefecture")
    municipality = page.locator("#f-address_municipality")
    prefecture.fill("")
    municipality.fill("")
    page.locator("#f-address_postal_code").fill("")
    page.locator("#f-address_postal_code").press_sequentially(place.postal_code, delay=20)
    expect(prefecture).to_have_value(place.prefecture)
    expect(municipality).to_have_value(place.municipality)
    page.get_by_role("button", name=t(lang, "Save changes")).click()
    expect(page).to_have_url(re.compile(r"/privacy/me\?saved=contact"))
    expect(page.get_by_text(t(lang, "Your contact details have been updated."))).to_be_visible()
    expect(page.get_by_role("cell", name=place.postal_code, exact=True)).to_be_visible()
    return place


def withdraw_consent(page: Page, purpose: str, lang: str) -> None:
    """Press the switch of ``purpose`` on "what we hold" to withdraw the consent."""
    switch = page.locator(f'form[action="/privacy/me/consents/{purpose}"]')
    expect(switch.get_by_text(t(lang, "You have given your consent."))).to_be_visible()
    switch.get_by_role("button", name=t(lang, "Withdraw my consent")).click()
    expect(page).to_have_url(re.compile(r"/privacy/me\?saved=consent"))
    expect(page.get_by_text(t(lang, "Your choice has been saved."))).to_be_visible()
    after = page.locator(f'form[action="/privacy/me/consents/{purpose}"]')
    expect(after.get_by_role("button", name=t(lang, "Give my consent"))).to_be_visible()


def file_disclosure(page: Page, lang: str) -> str:
    """From "what we hold" to the requests, file a disclosure request; its reference."""
    page.locator("#my-requests-link").click()
    expect(page).to_have_url(re.compile(r"/privacy/me/requests$"))
    expect_language(page, lang)
    page.locator('a[href*="kind=disclosure"]').first.click()
    form = page.locator("form#request-form")
    expect(form).to_be_visible()
    form.locator("#request-submit").click()
    expect(page).to_have_url(_REF)
    match = _REF.search(page.url)
    assert match is not None
    expect(page.locator("dd#request-state")).not_to_be_empty()
    expect(page.locator("dd#request-due")).not_to_be_empty()
    expect_language(page, lang)
    return match.group(1)


def complete_request(page: Page, ref: str, lang: str) -> None:
    """From the queue, open the request and complete it (recording the fee when one is due)."""
    page.goto("/console")
    page.locator(f'a[href="/console/requests/{ref}"]').first.click()
    expect(page).to_have_url(re.compile(f"/console/requests/{ref}$"))
    expect_language(page, lang)
    for _ in range(3):  # complete; if it waits for the fee: record the payment, complete again
        button = next(
            (
                b
                for b in ("#step-payment-submit", "#step-complete-submit")
                if page.locator(b).count()
            ),
            None,
        )
        if button is None:
            break
        with page.expect_navigation():
            page.locator(button).click()
        expect(page).to_have_url(re.compile(f"/console/requests/{ref}"))
    expect(page.locator("dd#request-state")).to_have_text(t(lang, "Completed"))
    expect(page.locator("form#step-complete")).to_have_count(0)


def download_report(page: Page, ref: str, lang: str, into: Path) -> str:
    """The member reloads the request page and downloads the report; its text."""
    page.goto(f"/privacy/me/requests/{ref}")
    expect_language(page, lang)
    expect(page.locator("dd#request-state")).to_have_text(t(lang, "Completed"))
    with page.expect_download() as download:
        page.locator("#report-download").click()
    saved = into / f"report-{ref}.html"
    download.value.save_as(saved)
    return saved.read_text(encoding="utf-8")
