"""Every main page, in both languages, at desktop and phone widths; pictures on request.

Each page is opened as the person who would see it (a visitor, a signed-in
member, the signed-in officer), at 1280×800 and at 390×844: it must answer,
be in the language chosen, and fit a phone's width without sideways
scrolling. With ``MAMORI_SCREENSHOTS=1`` each view is also saved as
``docs/screenshots/<page>-<lang>-<desktop|phone>.png``, from the top and at
most three screens long (a run in CI never rewrites the pictures in the
checkout). The data is synthetic: Faker ja_JP names, example.com and
example.jp addresses.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, FloatRect, Page, ViewportSize

from tests.e2e.browser import DESKTOP, PHONE, new_context, sign_in_member, sign_in_staff
from tests.e2e.server import Member, Server

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDTHS = {"desktop": DESKTOP, "phone": PHONE}
# The outermost element that sticks out to the right, to name in a failure.
WIDEST = """() => {
  const out = [...document.querySelectorAll("body *")].find(
    (e) => e.getBoundingClientRect().right > window.innerWidth + 0.5);
  if (!out) return "";
  const name = out.getAttribute("class") || out.id || "";
  return `${out.tagName.toLowerCase()}${name ? "." + name : ""} ends at ${
    Math.round(out.getBoundingClientRect().right)} px`;
}"""
SAVE = os.environ.get("MAMORI_SCREENSHOTS") == "1"


def stage(server: Server) -> tuple[Member, str]:
    """A member with a request, and a few more requests so the queue and dashboard have rows."""
    member = server.register_member(consents=("email_delivery", "personalization"))
    mine = server.api(
        "POST",
        "/requests",
        {"kind": "disclosure", "via": "phone", "subject": member.ref, "identity": "phone_callback"},
    )
    for kind, extra in (
        ("cessation_of_use", {"purposes": ["personalization"]}),
        ("disclosure", {}),
        ("erasure", {}),
    ):
        other = server.register_member(consents=("personalization",))
        body = {"kind": kind, "via": "email", "subject": other.ref, **extra}
        made = server.api("POST", "/requests", {**body, "identity": "document_seen"})
        if kind == "cessation_of_use":
            server.api("POST", f"/requests/{made['ref']}/complete", {})
    return member, str(mine["ref"])


def views(ref: str) -> list[tuple[str, str, str]]:
    """(picture name, path, who sees it)."""
    return [
        ("center-home", "/privacy", "visitor"),
        ("notice", "/privacy/notice", "visitor"),
        ("signin", "/privacy/signin", "visitor"),
        ("what-we-hold", "/privacy/me", "member"),
        ("contact", "/privacy/me/contact", "member"),
        ("requests", "/privacy/me/requests", "member"),
        ("request", f"/privacy/me/requests/{ref}", "member"),
        ("console-signin", "/console/signin", "visitor"),
        ("queue", "/console", "staff"),
        ("console-request", f"/console/requests/{ref}", "staff"),
        ("dashboard", "/console/dashboard", "staff"),
    ]


def look(page: Page, path: str, lang: str, picture: str) -> list[str]:
    """Open ``path`` at each width; what is wrong with it (saving the pictures if asked)."""
    wrong = []
    for width, size in WIDTHS.items():
        page.set_viewport_size(size)
        answer = page.goto(path)
        if answer is None or not answer.ok:
            return [f"{picture}: {path} answered {answer.status if answer else 'nothing'}"]
        if page.locator("html").get_attribute("lang") != lang:
            wrong.append(f"{picture}: not in {lang}")
        if page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth"):
            wider = page.evaluate(WIDEST)
            wrong.append(f"{picture}: wider than the {width} screen ({size['width']} px): {wider}")
        if SAVE:
            save(page, OUT / f"{picture}-{lang}-{width}.png", size)
    return wrong


def save(page: Page, path: Path, size: ViewportSize) -> None:
    """The page from its top, at most three screens long (the notice runs to dozens)."""
    tall = int(page.evaluate("() => document.documentElement.scrollHeight"))
    clip: FloatRect = {
        "x": 0,
        "y": 0,
        "width": size["width"],
        "height": min(tall, 3 * size["height"]),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=path, full_page=True, clip=clip)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_every_main_page_in_both_widths(browser: Browser, server: Server, lang: str) -> None:
    member, ref = stage(server)
    contexts = {who: new_context(browser, server) for who in ("visitor", "member", "staff")}
    try:
        pages = {who: context.new_page() for who, context in contexts.items()}
        pages["visitor"].goto(f"/privacy?lang={lang}")
        sign_in_member(pages["member"], server, member, lang)
        sign_in_staff(pages["staff"], server, lang)
        wrong: list[str] = []
        for picture, path, who in views(ref):
            wrong += look(pages[who], path, lang, picture)
    finally:
        for context in contexts.values():
            context.close()
    assert not wrong, "\n".join(wrong)
