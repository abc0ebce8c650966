"""The HTML pages the API serves itself carry their style, allowed by hash, and nothing else."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from mamori.api.pages import style_hash
from tests.api.conftest import client, token_for

__all__ = ["client", "token_for"]  # the API fixtures, shared


@pytest.mark.parametrize(
    ("path", "params", "role"),
    [
        ("/notice", {"format": "html"}, None),
        ("/ledger", {"format": "html"}, "auditor"),
        ("/records-of-processing", {"format": "html"}, "auditor"),
    ],
)
def test_a_page_allows_its_own_style_and_no_script(
    client: TestClient,
    token_for: Callable[[str], dict[str, str]],
    path: str,
    params: dict[str, str],
    role: str | None,
) -> None:
    headers = token_for(role) if role else {}
    response = client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    (policy,) = response.headers.get_list("content-security-policy")
    assert f"style-src {style_hash(response.text)};" in policy
    assert policy.startswith("default-src 'none';") and "script-src" not in policy
    assert "frame-ancestors 'none'" in policy
    assert "<script" not in response.text.lower()
