"""The member sign-in with the keyboard alone: Tab and Enter, no mouse.

The first Tab on a page reaches the skip link, which shows itself when
focused; Enter on it moves on to the main content, so the next Tab is the
form's field; Enter in a field sends its form.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser import new_context, t
from tests.e2e.server import Server


def focused(page: Page) -> str:
    """The focused element, as ``tag#id.class``."""
    return str(
        page.evaluate(
            "() => { const e = document.activeElement;"
            " return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')"
            " + (e.className ? '.' + e.className : ''); }"
        )
    )


def skip_to_main(page: Page, lang: str) -> None:
    """Tab to the skip link (the first focus, visible once focused) and follow it."""
    page.keyboard.press("Tab")
    skip = page.locator("a.skip")
    expect(skip).to_be_focused()
    expect(skip).to_have_text(t(lang, "Skip to the main content"))
    box = skip.bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0, "the focused skip link is hidden"
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_signin_with_tab_and_enter_only(browser: Browser, server: Server, lang: str) -> None:
    member = server.register_member()
    context = new_context(browser, server)
    try:
        page = context.new_page()
        page.goto(f"/privacy/signin?lang={lang}")
        skip_to_main(page, lang)
        page.keyboard.press("Tab")
        assert focused(page) == "input#email", focused(page)
        mails = len(server.mailbox.messages)
        page.keyboard.type(member.email)
        page.keyboard.press("Enter")
        expect(page.locator("h1")).to_have_text(t(lang, "Enter your sign-in code"))
        skip_to_main(page, lang)
        page.keyboard.press("Tab")
        assert focused(page) == "input#code", focused(page)
        page.keyboard.type(server.code_for(member.email, after=mails))
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"/privacy/me$"))
        expect(page.locator("h1")).to_have_text(t(lang, "What we hold about you"))
    finally:
        context.close()
