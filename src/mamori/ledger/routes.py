"""HTTP routes of the management ledger, records of processing and data map.

For privileged and auditor roles; each reading and each refusal is audited.
Recording a review of the ledger is for privileged roles.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from mamori.api.deps import CredentialsDep, WorkDep
from mamori.api.pages import html_page
from mamori.api.problems import responses
from mamori.ledger import datamap, ledger, ledger_html, reviews, ropa
from mamori.ledger.schemas import (
    Language,
    LedgerFormat,
    ReviewCreate,
    ReviewRead,
    ReviewsPage,
    RopaFormat,
)

router = APIRouter(tags=["ledger"])
ERRORS = responses(401, 403, 422, 429)
HTML = "text/html; charset=utf-8"
JSON = "application/json"
CSV = "text/csv; charset=utf-8"


def _content(*media: str) -> dict[int | str, dict[str, object]]:
    return {**ERRORS, 200: {"content": {m.split(";")[0]: {} for m in media}}}


@router.get("/ledger", responses=_content(CSV, HTML, JSON))
def read_ledger(
    creds: CredentialsDep,
    work: WorkDep,
    format: Annotated[LedgerFormat, Query(description="csv, html or json")] = LedgerFormat.JSON,
) -> Response:
    """The management ledger: one row per purpose, with live counts (JIS Q 15001)."""
    with work.begin() as tx:
        caller = work.actor(tx, creds)
        ledger.require_reader(tx, work.rt, caller, "ledger")
        built = ledger.build(tx, work.rt)
        ledger.record_read(tx, work.rt, caller, "ledger", {"format": format.value})
    if format is LedgerFormat.CSV:
        body = ledger.to_csv(built)
        disposition = {"Content-Disposition": 'attachment; filename="ledger.csv"'}
        return Response(body, media_type=CSV, headers=disposition)
    data = ledger.to_json(built)
    if format is LedgerFormat.HTML:
        return html_page(ledger_html.render_ledger(data))
    return Response(json.dumps(data, ensure_ascii=False), media_type=JSON)


@router.post("/ledger/reviews", status_code=status.HTTP_201_CREATED, responses=ERRORS)
def record_review(body: ReviewCreate, creds: CredentialsDep, work: WorkDep) -> ReviewRead:
    """Record the annual review of the ledger (privileged roles)."""
    with work.begin() as tx:
        caller = work.actor(tx, creds)
        review = reviews.record(
            tx,
            work.rt,
            actor=caller,
            reviewed_on=body.reviewed_on,
            findings=body.findings,
            ledger_digest=body.ledger_digest,
        )
    return ReviewRead(**reviews.as_dict(review))


@router.get("/ledger/reviews", responses=ERRORS)
def list_reviews(creds: CredentialsDep, work: WorkDep) -> ReviewsPage:
    """The reviews so far, newest first, and when the next is due."""
    with work.begin() as tx:
        caller = work.actor(tx, creds)
        ledger.require_reader(tx, work.rt, caller, "reviews")
        found = reviews.list_reviews(tx)
        ledger.record_read(tx, work.rt, caller, "reviews", {"reviews": len(found)})
    state = reviews.status(work.rt, found)
    return ReviewsPage(
        reviews=[ReviewRead(**reviews.as_dict(r)) for r in found],
        **reviews.as_dict(state),
    )


@router.get("/records-of-processing", responses=_content(JSON, HTML))
def records_of_processing(
    creds: CredentialsDep,
    work: WorkDep,
    format: Annotated[RopaFormat, Query(description="json or html")] = RopaFormat.JSON,
    lang: Annotated[Language, Query(description="The page's language (html)")] = Language.EN,
) -> Response:
    """Records of processing activities (GDPR Art. 30(1))."""
    with work.begin() as tx:
        caller = work.actor(tx, creds)
        ledger.require_reader(tx, work.rt, caller, "ropa")
        records = ropa.build(work.rt)
        ledger.record_read(tx, work.rt, caller, "ropa", {"format": format.value})
    if format is RopaFormat.HTML:
        return html_page(ledger_html.render_ropa(records, lang.value))
    return Response(json.dumps(records, ensure_ascii=False), media_type=JSON)


@router.get("/datamap", responses=_content(datamap.MEDIA_TYPE))
def data_map(creds: CredentialsDep, work: WorkDep) -> Response:
    """The data map as a fideslang manifest (YAML) that Fides can load."""
    with work.begin() as tx:
        caller = work.actor(tx, creds)
        ledger.require_reader(tx, work.rt, caller, "datamap")
        manifest = datamap.build(work.rt)
        ledger.record_read(tx, work.rt, caller, "datamap", {})
    return Response(datamap.to_yaml(manifest), media_type=datamap.MEDIA_TYPE)
