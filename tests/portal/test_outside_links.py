"""Links to other sites are marked as such, open no window onto ours, and carry the disclaimer.

Every page of the privacy center a visitor can reach (public pages, the
error page, and a signed-in member's pages) is parsed in both languages.
Each absolute link (``http(s)://`` or ``//``) to another host must end with
"(external site)" in the page's language, carry ``rel="noopener
noreferrer"``, and its page must show the policy's sentence that the company
is not responsible for other sites.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.portal.test_public import Page

PUBLIC = [
    "/privacy",
    "/privacy/notice",
    "/privacy/notice/versions",
    "/privacy/notice/1",
    "/privacy/signin",
    "/privacy/no-such-page",
]
MEMBER = ["/privacy/me", "/privacy/me/contact"]
MARK = {"ja": "（外部サイト）", "en": "(external site)"}
DISCLAIMER = {
    "ja": "当社は責任を負いません",
    "en": "We are not responsible for the protection of personal information on those sites",
}


def outside_links(page: Page, base: str) -> list[tuple[dict[str, str | None], str]]:
    """The page's links that lead to another host."""
    own = urlsplit(base).netloc
    found = []
    for attrs, text in page.links:
        target = urlsplit(urljoin(base, attrs.get("href") or ""))
        if target.scheme in {"http", "https"} and target.netloc != own:
            found.append((attrs, text))
    return found


def check(client: TestClient, path: str, lang: str) -> int:
    """Check one page's outside links; how many it has."""
    answer = client.get(path, params={"lang": lang})
    assert answer.headers["content-type"].startswith("text/html"), path
    page = Page(answer.text)
    links = outside_links(page, str(answer.url))
    for attrs, text in links:
        assert text.endswith(MARK[lang]), (path, attrs.get("href"), text)
        assert {"noopener", "noreferrer"} <= set((attrs.get("rel") or "").split()), path
        assert "external" in (attrs.get("class") or "").split(), path
    if links:
        assert 'id="outside-links"' in answer.text, path
        footer = answer.text.split('id="outside-links"', 1)[1].split("</p>", 1)[0]
        assert DISCLAIMER[lang] in footer, path
    return len(links)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_every_outside_link_of_the_public_pages_is_marked(
    member_client: TestClient, lang: str
) -> None:
    counts = {path: check(member_client, path, lang) for path in PUBLIC}
    assert counts["/privacy"] >= 1, "the home page links the supervisory authority"


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_every_outside_link_of_the_member_pages_is_marked(
    member_client: TestClient,
    sign_in: Callable[[str], None],
    member: tuple[str, dict[str, str]],
    lang: str,
) -> None:
    sign_in(member[1]["user.contact.email"])
    for path in MEMBER:
        check(member_client, path, lang)


def test_the_check_finds_links_to_other_hosts_only() -> None:
    page = Page(
        '<a href="/privacy">in</a><a href="https://testserver/x">own</a>'
        '<a href="https://www.ppc.go.jp/">out</a><a href="//example.com/">out2</a>'
    )
    found = [text for _, text in outside_links(page, "http://testserver/privacy")]
    assert found == ["out", "out2"]
