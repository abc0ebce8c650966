"""Rendering a page: the language, the translated template, the headers.

Each language has its own Jinja2 environment with its translations
installed, so a page never borrows another request's language. Pages carry
no inline script or style (the app's Content-Security-Policy allows only its
own files), no personal value in their title or URL, and say which language
they are in. A language chosen by the query is remembered in a cookie.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment
from starlette.requests import Request

from mamori.portal import i18n
from mamori.runtime import Runtime
from mamori.templating import make_environment

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
REMEMBER_S = 365 * 24 * 3600
ResponseT = TypeVar("ResponseT", bound=Response)
KEPT_QUERY = frozenset({"kind", "state", "mine", "overdue"})
_WORD = re.compile(r"[a-z_]{1,40}")


@cache
def page_environment(language: str) -> Environment:
    """One environment per language, its translations installed once."""
    env = make_environment(TEMPLATES, extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(i18n.translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


def translate(language: str, message: str) -> str:
    """``message`` (an English message id) in ``language``, for text built in Python."""
    return i18n.translations(language).gettext(message)


def language_links(request: Request, language: str) -> dict[str, str]:
    """The same page in each other language: the path and its query, with ``lang`` replaced.

    Only choices of a page's own (``?kind=``, the queue's filters) are kept,
    and only when they look like one of its words: a link made elsewhere may
    carry anything in its query, and a page must not echo it.
    """
    kept = [
        (k, v)
        for k, v in request.query_params.multi_items()
        if k in KEPT_QUERY and _WORD.fullmatch(v)
    ]
    return {
        code: f"{request.url.path}?{urlencode([*kept, ('lang', code)])}"
        for code in i18n.LANGUAGES
        if code != language
    }


def render(
    request: Request,
    rt: Runtime,
    template: str,
    *,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """``template`` in the page's language; remembers a language the query chose."""
    language = i18n.chosen(request)
    company = rt.policy.source.company
    context.setdefault("signout_csrf", getattr(request.state, "signout_csrf", ""))
    page = (
        page_environment(language)
        .get_template(template)
        .render(
            lang=language,
            other_languages=[code for code in i18n.LANGUAGES if code != language],
            language_links=language_links(request, language),
            path=request.url.path,
            company_name=getattr(company.name, language),
            **context,
        )
    )
    response = HTMLResponse(page, status_code=status)
    response.headers["Content-Language"] = language
    # A page's own forms must carry their Origin (under no-referrer a browser sends
    # "null" with every POST), and no URL of ours is told to another site.
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Vary"] = "Cookie"
    if i18n.asked(request):
        response.set_cookie(
            i18n.COOKIE,
            language,
            max_age=REMEMBER_S,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    return response


def no_store(response: ResponseT) -> ResponseT:
    """Pages with a person's values or work state are never kept by a cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


def page_response(description: str) -> dict[str, Any]:
    """An HTML answer of a page route, as its OpenAPI entry documents it."""
    return {"description": description, "content": {"text/html": {}}}
