"""Errors on the privacy center are pages in the visitor's language; the API keeps problems."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from mamori.api.app import create_app
from mamori.runtime import Runtime


@pytest.fixture
def site(rt: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime=rt), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_an_unknown_privacy_path_is_a_page_with_the_request_id(site: TestClient, lang: str) -> None:
    answer = site.get("/privacy/nothing-here", params={"lang": lang})
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
