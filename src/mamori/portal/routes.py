"""The privacy center's pages: public ones here, the rest mounted from their rooms.

Pages are thin edges like the API's routes: one unit of work, the caller,
one service, a template in the page's language.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from mamori.api.deps import WorkDep
from mamori.portal.web import render

router = APIRouter(tags=["privacy center"])


@router.get("/privacy", response_class=HTMLResponse)
def home(request: Request, work: WorkDep) -> HTMLResponse:
    """The privacy center's front page (public)."""
    return render(request, work.rt, "home.html")
