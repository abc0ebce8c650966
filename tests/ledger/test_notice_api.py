"""The public notice over HTTP: no credentials, both languages, HTML and JSON, cacheable versions.

Runs on SQLite and PostgreSQL through the real app (``create_app``), with its
middleware, so the security headers are the ones a browser would get.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from mamori.api.app import create_app
from mamori.ledger.notice_routes import preferred_language
from mamori.runtime import Runtime
from tests.api.support import audit_count, problem
from tests.conftest import Clock
from tests.ledger.test_notice import _changed, body, outline, plain, publish, use_policy


@pytest.fixture
def client(rt: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime=rt), raise_server_exceptions=False) as test_client:
        yield test_client


def test_the_notice_is_public_and_japanese_by_default(client: TestClient, rt: Runtime) -> None:
    before = audit_count(rt)
    answer = client.get("/notice")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["content-language"] == "ja"
    assert outline(answer.text).tags[0] == ("html", {"lang": "ja"})
    assert rt.policy.source.company.name.ja in plain(answer.text)
    # The app's security headers stay; the page adds its own stricter policy.
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    policies = answer.headers.get_list("content-security-policy")
    assert any("default-src 'none'" in p and "'sha256-" in p for p in policies)
    assert "script-src 'unsafe" not in " ".join(policies)
    assert audit_count(rt) == before  # reading the public notice reads no one's data


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-US,en;q=0.9", "en"),
        ("fr-FR, en;q=0.5, ja;q=0.4", "en"),
        ("en;q=0.3, ja;q=0.8", "ja"),
        ("de, fr", "ja"),
        ("en;q=0", "ja"),
        ("en;q=abc", "ja"),
        ("en;q=nan, ja;q=0.1", "ja"),
        ("", "ja"),
    ],
)
def test_the_language_follows_accept_language(header: str, expected: str) -> None:
    assert preferred_language(header) == expected


def test_lang_and_accept_language(client: TestClient, rt: Runtime) -> None:
    english = client.get("/notice", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert english.headers["content-language"] == "en"
    assert rt.policy.source.company.name.en in plain(english.text)
    assert "accept-language" in english.headers["vary"].lower()
    chosen = client.get("/notice", params={"lang": "ja"}, headers={"Accept-Language": "en"})
    assert chosen.headers["content-language"] == "ja"
    assert outline(chosen.text).tags[0] == ("html", {"lang": "ja"})


def test_the_json_form_says_what_the_page_says(client: TestClient, rt: Runtime) -> None:
    answer = client.get("/notice/1", params={"format": "json", "lang": "en"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["content-language"] == "en"
    assert answer.json() == body(rt, "en", 1)
    partner = answer.json()["provision"]["foreign"][0]
    assert (partner["country"], partner["country_name"]) == ("SG", "Singapore")


def test_versions_are_listed_and_each_stays_cacheable(
    client: TestClient, rt: Runtime, clock: Clock
) -> None:
    use_policy(rt, _changed)
    clock.moment += timedelta(days=1)
    publish(rt)
    listed = client.get("/notice/versions")
    assert listed.status_code == 200
    assert [(v["version"], v["in_force"]) for v in listed.json()] == [(1, False), (2, True)]
    assert listed.json()[0]["effective_at"].startswith("2026-11-30T01:00")
    fixed = client.get("/notice/1", params={"lang": "en"})
    assert fixed.headers.get_list("cache-control") == ["public, max-age=86400"]
    assert len(fixed.headers.get_list("content-security-policy")) == 1
    assert "A renamed purpose" not in fixed.text
    current = client.get("/notice", params={"lang": "en"})
    assert "no-cache" in current.headers.get_list("cache-control")
    assert "A renamed purpose" in plain(current.text)
    assert "public" not in " ".join(current.headers.get_list("cache-control"))


def test_an_unknown_version_is_a_404_problem(client: TestClient) -> None:
    body_ = problem(client.get("/notice/99"), 404, "notice_not_found")
    assert "version 99" in body_["detail"]
    problem(client.get("/notice/99", params={"format": "json"}), 404, "notice_not_found")


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/notice", {"lang": "fr"}),
        ("/notice", {"format": "pdf"}),
        ("/notice/0", {}),
        ("/notice/abc", {}),
        ("/notice/1", {"lang": "<script>"}),
    ],
)
def test_bad_input_is_a_422_problem(client: TestClient, path: str, params: dict[str, str]) -> None:
    answer = client.get(path, params=params)
    problem(answer, 422, "request_invalid")
    assert "<script>" not in answer.text


def test_no_notice_yet_is_a_404_problem(bare_rt: Runtime) -> None:
    with TestClient(create_app(runtime=bare_rt), raise_server_exceptions=False) as bare:
        problem(bare.get("/notice"), 404, "notice_not_found")
        problem(bare.get("/notice/1"), 404, "notice_not_found")
        assert bare.get("/notice/versions").json() == []
