"""Debian's Chromium under Playwright, and what a person does in it on Mamori's pages.

The browser is the system's (``/usr/bin/chromium``, or ``MAMORI_CHROMIUM``);
Playwright never downloads one. It runs headless with the background
networking that would reach for Google's services turned off: the machines
these tests run on may have no way out. The helpers act as a person would:
they follow links and press buttons, and check what the page says in its
language through the same catalogs the pages use.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, Playwright, ViewportSize, expect

from mamori.portal.web import translate
from tests.e2e.server import OFFICER, PASSWORD, Member, Server

DEFAULT_CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
LANGUAGE_NAMES = {"ja": "日本語", "en": "English"}


def wanted_chromium() -> str:
    return os.environ.get("MAMORI_CHROMIUM") or DEFAULT_CHROMIUM


def chromium_path() -> str | None:
    """Where the system's Chromium is, or None when this machine has none."""
    wanted = wanted_chromium()
    if Path(wanted).is_file() and os.access(wanted, os.X_OK):
        return wanted
    return None if "MAMORI_CHROMIUM" in os.environ else shutil.which("chromium")


def launch(playwright: Playwright, executable: str) -> Browser:
    return playwright.chromium.launch(executable_path=executable, headless=True, args=ARGS)


def new_context(
    browser: Browser, server: Server, headers: dict[str, str] | None = None
) -> BrowserContext:
    """A fresh browser profile (no cookies) pointed at ``server``, sending ``headers``."""
    context = browser.new_context(
        base_url=server.base, accept_downloads=True, viewport=DESKTOP, extra_http_headers=headers
    )
    context.set_default_timeout(10_000)
    return context


def t(lang: str, message: str) -> str:
    """``message`` as the page shows it in ``lang`` (and Japanese must really be Japanese)."""
    shown = str(translate(lang, message))
    assert lang == "en" or shown != message, f"no Japanese translation of {message!r}"
    return shown


def expect_language(page: Page, lang: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", lang)


def choose_language(page: Page, lang: str) -> None:
    """Use the header's switch when the page is in the other language; it is remembered."""
    if page.locator("html").get_attribute("lang") != lang:
        page.locator("nav.languages").get_by_role("link", name=LANGUAGE_NAMES[lang]).click()
    expect_language(page, lang)


def sign_in_member(page: Page, server: Server, member: Member, lang: str) -> None:
    """From the center's front page to "what we hold", with the code from the mail."""
    page.goto("/privacy")
    choose_language(page, lang)
    page.goto("/privacy/signin")
    expect(page.locator("h1")).to_have_text(t(lang, "Sign in as a member"))
    mails = len(server.mailbox.messages)
    page.get_by_label(t(lang, "Your e-mail address")).fill(member.email)
    page.get_by_role("button", name=t(lang, "Send me a code")).click()
    expect(page.locator("h1")).to_have_text(t(lang, "Enter your sign-in code"))
    code = server.code_for(member.email, after=mails)
    page.get_by_label(t(lang, "Six-digit code")).fill(code)
    page.get_by_role("button", name=t(lang, "Sign in"), exact=True).click()
    expect(page).to_have_url(re.compile(r"/privacy/me$"))
    expect(page.locator("h1")).to_have_text(t(lang, "What we hold about you"))
    expect_language(page, lang)


def sign_in_staff(page: Page, server: Server, lang: str) -> None:
    """The officer signs in to the console with password and second factor."""
    page.goto(f"/console/signin?lang={lang}")
    expect_language(page, lang)
    page.locator("input[name=handle]").fill(OFFICER)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[name=totp]").fill(server.codes.next())
    with page.expect_navigation():
        page.locator("#signin-submit").click()
    if "/console/signin" in page.url:
        said = " ".join(page.locator("main").inner_text().split())[:300]
        raise AssertionError(f"the console refused the sign-in: {said}")
    expect(page).to_have_url(re.compile(r"/console/?$"))
    expect_language(page, lang)
