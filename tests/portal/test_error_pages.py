"""Errors on the privacy center are pages in the visitor's language; the API keeps problems.

That holds for a failure of the sign-in limiter too: with its Redis out of
reach a member reads a page saying to try again, while the API answers its
problem document as before.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from mamori.api.app import create_app
from mamori.auth.ratelimit import RedisRateLimiter
from mamori.runtime import Runtime
from tests.dsr.smtp import free_port


@pytest.fixture
def site(rt: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime=rt), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("path", ["/privacy/nothing-here", "/console/nothing-here"])
def test_an_unknown_page_path_is_a_page_with_the_request_id(
    site: TestClient, lang: str, path: str
) -> None:
    answer = site.get(path, params={"lang": lang})
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["content-language"] == lang
    assert answer.headers["x-request-id"] in answer.text
    assert "<script" not in answer.text.lower()


def test_an_unknown_api_path_is_still_a_problem(site: TestClient) -> None:
    answer = site.get("/nothing-here")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "no_such_route"


@pytest.fixture
def limiter_down(site: TestClient) -> TestClient:
    """The site with its sign-in counts in a Redis that does not answer."""
    site.app.state.limiter = RedisRateLimiter.from_url(f"redis://127.0.0.1:{free_port()}/0")  # type: ignore[attr-defined]
    return site


@pytest.mark.parametrize(
    ("lang", "heading"), [("ja", "エラーが発生しました"), ("en", "Something went wrong")]
)
@pytest.mark.parametrize(
    ("path", "form"),
    [("/privacy/signin", {"email": "member@example.jp"}), ("/privacy/signin/code", {"code": "1"})],
)
def test_with_the_limiter_out_of_reach_sign_in_is_a_503_page(
    limiter_down: TestClient, lang: str, heading: str, path: str, form: dict[str, str]
) -> None:
    answer = limiter_down.post(path, params={"lang": lang}, data=form)
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["content-language"] == lang
    assert heading in answer.text
    assert answer.headers["x-request-id"] in answer.text
    assert "member@example.jp" not in answer.text and "redis" not in answer.text.lower()


def test_with_the_limiter_out_of_reach_the_api_still_answers_a_problem(
    limiter_down: TestClient,
) -> None:
    answer = limiter_down.post("/auth/login", json={"handle": "someone", "password": "x"})
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "rate_limit_unavailable"
