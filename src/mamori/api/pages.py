"""HTML pages the API serves itself (the public notice, the management ledger).

Each page carries its style inline and no script, so its Content-Security-Policy
allows exactly that style by its hash and nothing else; the app's default
policy (``style-src 'self'``) would leave such a page unstyled.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi.responses import HTMLResponse

_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)


def style_hash(page: str) -> str:
    """The CSP source of the page's inline style (``'sha256-...'``)."""
    match = _STYLE.search(page)
    body = match.group(1) if match else ""
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    return f"'sha256-{digest}'"


def page_policy(page: str) -> str:
    return (
        f"default-src 'none'; style-src {style_hash(page)}; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


def html_page(page: str, headers: dict[str, str] | None = None) -> HTMLResponse:
    """``page`` with a Content-Security-Policy that allows its own style and nothing else."""
    return HTMLResponse(
        page, headers={**(headers or {}), "Content-Security-Policy": page_policy(page)}
    )
