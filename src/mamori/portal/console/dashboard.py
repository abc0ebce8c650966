"""The console's dashboard: how the desk is doing, as charts with their numbers beside them.

Who may see it is who may read the request metrics through the API: staff
whose roles work at least one kind of request (``dsr.queue.metrics`` refuses
anyone else, audited). The numbers are counts and medians over plain columns
(``console.figures``); no sealed value is opened. Each chart is an SVG drawn
on the server (``portal.charts``) with a table of the same numbers, so the
page needs no script and reads the same to a screen reader and on paper.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from mamori.api.deps import WorkDep
from mamori.db.engine import Tx
from mamori.dsr import queue
from mamori.errors import MamoriError
from mamori.guard.rules import Actor
from mamori.portal import charts, i18n
from mamori.portal.console import figures
from mamori.portal.console.common import PAGE_RESPONSES, no_store, refused, signed_in
from mamori.portal.console.labels import KINDS
from mamori.portal.web import render, translate
from mamori.runtime import Runtime

router = APIRouter(tags=["staff console"])


def N_(message: str) -> str:  # noqa: N802 - the name gettext's extractors look for
    """Mark a message for translation where it is defined; ``translate`` words it later."""
    return message


@dataclass(frozen=True)
class Panel:
    """One chart as the page shows it: the drawing, its legend and its table."""

    key: str
    title: str
    svg: Markup
    legend: list[tuple[str, str]]
    head: str
    columns: list[str]
    rows: list[tuple[str, list[str]]]


def month_labels(span: figures.Window) -> tuple[list[str], list[str]]:
    """Months as the table names them (2026-01) and as the chart does (01, with the year
    beneath the first month and each January)."""
    names = [f"{y}-{m:02d}" for y, m in span.months]
    marks = [
        f"{m:02d}\n{y}" if i == 0 or m == 1 else f"{m:02d}" for i, (y, m) in enumerate(span.months)
    ]
    return names, marks


def panel(
    chart: charts.Chart,
    head: str,
    rows: list[tuple[str, list[str]]] | None = None,
    names: list[str] | None = None,
) -> Panel:
    """A chart with its table; the cells are the chart's numbers, the rows its labels,
    unless given."""
    if rows is None:
        rows = [
            (label, [charts.number(s.values[i]) for s in chart.series])
            for i, label in enumerate(names or chart.labels)
        ]
    return Panel(
        chart.key,
        chart.title,
        charts.bar_chart(chart),
        charts.legend(chart),
        head,
        [s.name for s in chart.series],
        rows,
    )


def _requests_panel(lang: str, span: figures.Window, counts: dict[str, list[int]]) -> Panel:
    names, labels = month_labels(span)
    shown = [k for k, values in counts.items() if any(values)]
    series = [charts.Series(translate(lang, KINDS[k]), counts[k]) for k in shown]
    chart = charts.Chart(
        key="chart-requests",
        title=translate(lang, N_("Requests received per month, by kind")),
        description=translate(
            lang, N_("Stacked bars: for each of the last twelve months, the requests received.")
        ),
        labels=labels,
        series=series,
        stacked=True,
        empty=translate(lang, N_("No requests in these months.")),
    )
    return panel(chart, translate(lang, N_("Month")), names=names)


def _median_panel(lang: str, span: figures.Window, medians: list[float | None]) -> Panel:
    names, labels = month_labels(span)
    name = translate(lang, N_("Median business days"))
    chart = charts.Chart(
        key="chart-median",
        title=translate(lang, N_("Median business days to close, per month")),
        description=translate(
            lang, N_("Bars: for the requests completed each month, the median business days taken.")
        ),
        labels=labels,
        series=[charts.Series(name, [m or 0.0 for m in medians])],
        empty=translate(lang, N_("No request was completed in these months.")),
    )
    rows = [
        (label, ["—" if m is None else charts.number(m)])
        for label, m in zip(names, medians, strict=True)
    ]
    return panel(chart, translate(lang, N_("Month")), rows)


def _open_panel(lang: str, metrics: dict[str, Any]) -> Panel:
    chart = charts.Chart(
        key="chart-open",
        title=translate(lang, N_("Open and overdue requests now")),
        description=translate(lang, N_("Two bars: the requests open now, and those overdue.")),
        labels=[translate(lang, N_("Open")), translate(lang, N_("Overdue"))],
        series=[
            charts.Series(translate(lang, N_("Requests")), [metrics["open"], metrics["overdue"]])
        ],
        empty=translate(lang, N_("No request is open.")),
    )
    return panel(chart, translate(lang, N_("State")))


def _consent_panel(rt: Runtime, lang: str, changes: dict[str, tuple[int, int]]) -> Panel:
    purposes = rt.policy.purposes
    labels = [str(getattr(purposes[p].title, lang)) if p in purposes else p for p in changes]
    chart = charts.Chart(
        key="chart-consents",
        title=translate(lang, N_("Consents granted and withdrawn per purpose, last twelve months")),
        description=translate(
            lang, N_("Grouped bars: for each purpose, the consents granted and withdrawn.")
        ),
        labels=labels,
        series=[
            charts.Series(
                translate(lang, N_("Consents granted")), [g for g, _ in changes.values()]
            ),
            charts.Series(
                translate(lang, N_("Consents withdrawn")), [w for _, w in changes.values()]
            ),
        ],
        empty=translate(lang, N_("No consent was given or withdrawn in these months.")),
    )
    return panel(chart, translate(lang, N_("Purpose")))


def gather(tx: Tx, rt: Runtime, actor: Actor, lang: str) -> list[Panel]:
    """The dashboard's four charts; ``Denied`` (audited) for a role that works no requests."""
    metrics = queue.metrics(tx, rt, actor=actor)
    kinds = [k.value for k in queue.workable_kinds(rt, actor)]
    span = figures.window(rt, rt.now())
    return [
        _requests_panel(lang, span, figures.requests_by_month(tx, rt, kinds, span)),
        _median_panel(lang, span, figures.median_days_to_close(tx, rt, kinds, span)),
        _open_panel(lang, metrics),
        _consent_panel(rt, lang, figures.consent_changes(tx, span)),
    ]


@router.get("/console/dashboard", response_class=HTMLResponse, responses=PAGE_RESPONSES)
def dashboard(request: Request, work: WorkDep) -> Response:
    """Requests per month, time to close, open and overdue, consent changes (staff who work requests)."""
    rt = work.rt
    lang = i18n.chosen(request)
    try:
        with work.begin() as tx:
            actor = signed_in(tx, rt, request)
            if isinstance(actor, Response):
                return actor
            panels = gather(tx, rt, actor, lang)
    except MamoriError as error:
        return refused(request, rt, error)
    return no_store(
        render(
            request, rt, "console/dashboard.html", staff=actor, section="dashboard", panels=panels
        )
    )
