"""The public pages of the privacy center: language, structure, the notice, errors.

Every page is checked for what a screen reader and the Content-Security-Policy
need (one h1, headings in order, labelled fields, no inline script or style)
in both languages; the notice page is checked against the matters of the
published version, so it shows what was announced and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient

from mamori.api.app import create_app
from mamori.ledger.notice import matters
from mamori.policy import service
from mamori.portal import public
from mamori.runtime import Runtime

PAGES = ["/privacy", "/privacy/notice", "/privacy/notice/versions", "/privacy/notice/1"]
MISSING = [
    "/privacy/notice/99",
    "/privacy/notice/abc",
    "/privacy/notice/0",
    "/privacy/notice/1" + "0" * 20,
]


class Page(HTMLParser):
    """What the checks need from a page: tags, headings, labels, links, the title."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[int] = []
        self.title = ""
        self.links: list[tuple[dict[str, str | None], str]] = []
        self._open: list[str] = []
        self._link: dict[str, str | None] | None = None
        self._text = ""
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append((tag, found))
        if tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            self.headings.append(int(tag[1]))
        if tag == "a":
            self._link, self._text = found, ""
        self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._open:
            del self._open[len(self._open) - 1 - self._open[::-1].index(tag) :]
        if tag == "a" and self._link is not None:
            self.links.append((self._link, self._text.strip()))
            self._link = None

    def handle_data(self, data: str) -> None:
        if self._open and self._open[-1] == "title":
            self.title += data
        if self._link is not None:
            self._text += data

    def attr(self, tag: str, name: str) -> list[str | None]:
        return [a.get(name) for t, a in self.tags if t == tag]


@pytest.fixture
def site(rt: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime=rt), raise_server_exceptions=False) as client:
        yield client


def expected(rt: Runtime, lang: str) -> dict[str, Any]:
    with rt.db.transaction() as tx:
        notice, snapshot = service.frozen(tx, rt, None)
    found: dict[str, Any] = matters(notice, snapshot, lang)
    return found


def test_pages_are_japanese_by_default(site: TestClient) -> None:
    response = site.get("/privacy")
    assert response.status_code == 200
    assert Page(response.text).attr("html", "lang") == ["ja"]
    assert response.headers["content-language"] == "ja"
    assert "会員ログイン" in response.text
    assert "mamori_lang" not in response.headers.get("set-cookie", "")


def test_english_by_the_query_is_remembered_by_cookie(site: TestClient) -> None:
    first = site.get("/privacy?lang=en")
    assert Page(first.text).attr("html", "lang") == ["en"]
    assert "mamori_lang=en" in first.headers["set-cookie"]
    later = site.get("/privacy/notice")
    assert Page(later.text).attr("html", "lang") == ["en"]
    assert "Public notice on the handling of personal information" in later.text
    back = site.get("/privacy/notice?lang=ja")
    assert Page(back.text).attr("html", "lang") == ["ja"]


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("path", PAGES + MISSING[:2])
def test_every_page_is_accessible_and_has_no_inline_code(
    site: TestClient, path: str, lang: str
) -> None:
    response = site.get(path, params={"lang": lang})
    page = Page(response.text)
    assert page.attr("html", "lang") == [lang]
    assert page.headings.count(1) == 1
    assert page.headings[0] == 1
    for before, after in zip(page.headings, page.headings[1:], strict=False):
        assert after <= before + 1, f"heading h{before} then h{after} on {path}"
    labelled = {a for a in page.attr("label", "for") if a}
    for tag, attrs in page.tags:
        if tag in {"input", "select", "textarea"} and attrs.get("type") != "hidden":
            assert attrs.get("id") in labelled, f"{tag} without a label on {path}"
        assert tag not in {"script", "style"}, f"<{tag}> on {path}"
        assert "style" not in attrs, f"style= on <{tag}> of {path}"


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_home_page_shows_requests_contact_and_the_way_in(
    site: TestClient, rt: Runtime, lang: str
) -> None:
    want = expected(rt, lang)
    page = site.get("/privacy", params={"lang": lang}).text
    hrefs = Page(page).attr("a", "href")
    assert "/privacy/notice" in hrefs and "/privacy/signin" in hrefs
    contact = want["requests"]["where"]
    for value in (contact["department"], contact["phone"], contact["hours"]):
        assert value in page
    for kind in want["requests"]["kinds"]:
        assert kind["title"] in page


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_notice_page_shows_what_the_version_announced(
    site: TestClient, rt: Runtime, lang: str
) -> None:
    want = expected(rt, lang)
    response = site.get("/privacy/notice", params={"lang": lang})
    assert response.status_code == 200
    page = response.text
    assert want["company"]["name"] in page
    for purpose in want["purposes"]:
        assert purpose["title"] in page
    for kind in want["requests"]["kinds"]:
        assert kind["fee_text"] in page
    assert want["security_measures"]
    for group in want["security_measures"]:
        assert group["heading"] in page
    singapore = [f for f in want["provision"]["foreign"] if f["country"] == "SG"]
    assert singapore and singapore[0]["name"] in page
    assert singapore[0]["country_name"] in page
    assert response.headers["cache-control"] == "no-cache"
    assert site.get("/privacy/notice/1").headers["cache-control"] == "public, max-age=86400"


def test_the_notice_in_both_languages_names_the_singapore_partner(site: TestClient) -> None:
    assert "QS アジア・パシフィック社" in site.get("/privacy/notice?lang=ja").text
    assert "QS Asia Pacific Pte. Ltd." in site.get("/privacy/notice?lang=en").text


def test_the_versions_page_links_each_version(site: TestClient) -> None:
    page = site.get("/privacy/notice/versions?lang=en")
    assert page.status_code == 200
    assert "/privacy/notice/1" in Page(page.text).attr("a", "href")
    assert "In force" in page.text


@pytest.mark.parametrize("path", MISSING)
def test_an_unknown_version_is_the_not_found_page_in_the_page_language(
    site: TestClient, path: str
) -> None:
    japanese = site.get(path)
    assert japanese.status_code == 404
    assert japanese.headers["content-type"].startswith("text/html")
    assert "ページが見つかりません" in japanese.text
    english = site.get(path, params={"lang": "en"})
    assert english.status_code == 404
    assert "Page not found" in english.text
    assert Page(english.text).attr("html", "lang") == ["en"]


def test_without_a_published_notice_the_pages_say_so(bare_rt: Runtime) -> None:
    with TestClient(create_app(runtime=bare_rt), raise_server_exceptions=False) as client:
        notice = client.get("/privacy/notice?lang=en")
        assert notice.status_code == 404
        assert "No privacy notice yet" in notice.text
        home = client.get("/privacy?lang=en")
        assert home.status_code == 200
        assert "No privacy notice has been published yet." in home.text
        assert bare_rt.policy.source.company.contact.phone in home.text
        versions = client.get("/privacy/notice/versions?lang=en")
        assert versions.status_code == 200
        assert "No privacy notice has been published yet." in versions.text


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_outside_links_are_marked(site: TestClient, lang: str) -> None:
    mark = {"ja": "（外部サイト）", "en": "(external site)"}[lang]
    for path in PAGES:
        page = Page(site.get(path, params={"lang": lang}).text)
        outside = [(a, text) for a, text in page.links if (a.get("href") or "").startswith("http")]
        if path == "/privacy":
            assert outside, "the home page links the supervisory authority"
        for attrs, text in outside:
            assert "external" in (attrs.get("class") or "").split()
            assert text.endswith(mark)


def test_titles_carry_page_names_and_the_company_only(site: TestClient, rt: Runtime) -> None:
    company = rt.policy.source.company.name.en
    for path in PAGES + MISSING[:1]:
        response = site.get(path, params={"lang": "en", "q": "yamada@example.com"})
        title = Page(response.text).title
        assert title.endswith(f" — {company}")
        assert "yamada" not in response.text  # nothing from the query is echoed anywhere


def test_an_unexpected_error_is_a_page_with_the_request_id(rt: Runtime) -> None:
    """The page ``api/app.py`` answers with for a failure on a ``/privacy`` path."""
    app = FastAPI()
    app.state.rt = rt

    @app.middleware("http")
    async def tag(request: Request, call_next):  # type: ignore[no-untyped-def]
        request.scope.setdefault("state", {})["request_id"] = "req-test-42"
        return await call_next(request)

    @app.get("/privacy/boom")
    def boom() -> None:
        raise RuntimeError("a failure quoting 山田太郎")

    @app.exception_handler(Exception)
    async def failed(request: Request, error: Exception) -> HTMLResponse:
        assert public.wants_page(request)
        page: HTMLResponse = public.page_for_status(request, 500)
        return page

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/privacy/boom?lang=en")
    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert "req-test-42" in response.text
    assert "山田" not in response.text and "Traceback" not in response.text
    assert Page(response.text).attr("html", "lang") == ["en"]


def test_the_language_switch_keeps_the_pages_query(rt: Runtime) -> None:
    app = create_app(runtime=rt)
    with TestClient(app) as client:
        page = client.get("/privacy/notice/versions?lang=ja&kind=erasure&kind=A@b&x=1")
    assert 'href="/privacy/notice/versions?kind=erasure&amp;lang=en"' in page.text
