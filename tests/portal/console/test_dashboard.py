"""The dashboard: four charts with their numbers beside them, for staff who work requests only.

Requests are received through the request desk at chosen times; one is
completed by setting its closing time (the workflow's own tests cover how a
request gets there). Consents are the ones people gave on registration and
withdrew through the consent service.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from mamori.consents import service as consents
from mamori.db.base import to_utc_text
from mamori.dsr.arrival import NewRequest, create
from mamori.dsr.states import Via
from mamori.dsr.workflow import calendar
from mamori.policy.schemas import RequestKind
from mamori.portal.console import figures
from mamori.runtime import Runtime
from tests.conftest import actor
from tests.factories import register_customer
from tests.portal.console.conftest import sign_in_staff

OFFICER = actor("officer")


def receive(rt: Runtime, kind: RequestKind, at: datetime) -> str:
    ref, _ = register_customer(rt, by=OFFICER)
    with rt.db.transaction() as tx:
        row = create(tx, rt, actor=OFFICER, new=NewRequest(kind, Via.API, ref, received_at=at))
    return row.ref


def close(rt: Runtime, ref: str, at: datetime) -> None:
    with rt.db.transaction() as tx:
        tx.execute(
            "UPDATE dsr_requests SET state = 'completed', closed_at = ? WHERE ref = ?",
            (to_utc_text(at), ref),
        )


def table_of(page: str, key: str) -> str:
    """The numbers table that sits beside the chart ``key``."""
    start = page.index(f'id="{key}-heading"')
    return page[start : page.index("</table>", start)]


def cells(table: str) -> list[list[str]]:
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    return [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S) for r in rows]


def test_requests_per_month_are_counted_by_kind(rt: Runtime, staff_client: TestClient) -> None:
    now = rt.now()
    receive(rt, RequestKind.DISCLOSURE, now - timedelta(days=1))
    receive(rt, RequestKind.DISCLOSURE, now - timedelta(days=2))
    receive(rt, RequestKind.ERASURE, now - timedelta(days=40))
    page = staff_client.get("/console/dashboard?lang=en")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    rows = cells(table_of(page.text, "chart-requests"))
    assert rows[0] == ["Month", "Disclosure", "Erasure"]
    assert rows[-1] == ["2026-11", "2", "0"]
    assert rows[-2] == ["2026-10", "0", "1"]
    assert len(rows) == 13  # the header and twelve months
    svg = page.text[page.text.index("<svg") : page.text.index("</svg>")]
    assert (
        'role="img"' in svg and 'aria-labelledby="chart-requests-title chart-requests-desc"' in svg
    )
    assert "style=" not in page.text and "<script" not in page.text


def test_median_days_and_open_against_overdue(rt: Runtime, staff_client: TestClient) -> None:
    now = rt.now()
    received, closed = now - timedelta(days=30), now - timedelta(days=16)
    close(rt, receive(rt, RequestKind.DISCLOSURE, received), closed)
    taken = calendar(rt).business_days_between(received, closed)
    receive(rt, RequestKind.ERASURE, now - timedelta(days=40))  # past its ten business days
    receive(rt, RequestKind.ERASURE, now - timedelta(hours=2))
    page = staff_client.get("/console/dashboard?lang=en").text
    medians = cells(table_of(page, "chart-median"))
    assert medians[-1] == ["2026-11", str(taken)] and taken > 5
    assert medians[-2] == ["2026-10", "—"]
    assert cells(table_of(page, "chart-open"))[1:] == [["Open", "2"], ["Overdue", "1"]]


def test_consents_granted_and_withdrawn_per_purpose(rt: Runtime, staff_client: TestClient) -> None:
    ref, _ = register_customer(
        rt, by=OFFICER, channel="email_subscription", purpose="email_delivery",
        consents=["email_delivery"],
    )  # fmt: skip
    with rt.db.transaction() as tx:
        consents.record(
            tx, rt, actor=OFFICER, ref=ref, purpose="email_delivery", state="withdrawn",
            channel="privacy_center",
        )  # fmt: skip
    page = staff_client.get("/console/dashboard?lang=en").text
    title = rt.policy.purposes["email_delivery"].title.en
    rows = cells(table_of(page, "chart-consents"))
    assert rows[0] == ["Purpose", "Consents granted", "Consents withdrawn"]
    assert [title, "1", "1"] in rows


def test_an_empty_dashboard_says_there_is_nothing(staff_client: TestClient) -> None:
    page = staff_client.get("/console/dashboard?lang=en").text
    assert "No requests in these months." in page
    assert "No consent was given or withdrawn in these months." in page
    assert page.count("<svg") == 4


def test_the_dashboard_speaks_japanese(staff_client: TestClient) -> None:
    page = staff_client.get("/console/dashboard?lang=ja").text
    assert "月別・種類別の受付件数" in page and "このグラフの数値" in page
    assert '<html lang="ja">' in page


@pytest.mark.parametrize("handle", ["auditor", "marketing"])
def test_a_role_that_works_no_requests_is_refused_and_audited(
    rt: Runtime, console_client: TestClient, handle: str
) -> None:
    sign_in_staff(console_client, handle)
    page = console_client.get("/console/dashboard?lang=en")
    assert page.status_code == 403
    assert "role_not_permitted" in page.text and "<svg" not in page.text
    with rt.db.transaction() as tx:
        row = tx.fetchone(
            "SELECT actor, outcome, rule FROM audit_entries ORDER BY seq DESC LIMIT 1"
        )
    assert tuple(row) == (handle, "denied", "role_not_permitted")


def test_without_a_session_the_dashboard_sends_to_sign_in(console_client: TestClient) -> None:
    answer = console_client.get("/console/dashboard", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/console/signin"


def test_an_expired_session_says_so_on_the_sign_in_page(
    rt: Runtime, staff_client: TestClient
) -> None:
    rt.clock.moment += timedelta(hours=13)  # type: ignore[attr-defined]
    answer = staff_client.get("/console/dashboard", follow_redirects=False)
    assert answer.headers["location"] == "/console/signin?ended=1"


def test_months_are_the_company_calendar_months(rt: Runtime) -> None:
    # 2026-10-31 16:00 UTC is already 1 November in Tokyo.
    span = figures.window(rt, datetime(2026, 10, 31, 16, 0, tzinfo=UTC), count=2)
    assert span.months == [(2026, 10), (2026, 11)]
    assert span.since == "2026-09-30T15:00:00.000000Z"
    assert figures.month_of(rt, "2026-10-31T15:30:00.000000Z") == (2026, 11)
    january = figures.window(rt, datetime(2026, 1, 10, tzinfo=UTC), count=3)
    assert january.months == [(2025, 11), (2025, 12), (2026, 1)]
