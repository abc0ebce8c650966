"""The business calendar: known dates, hour edges, counting rules and their properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mamori.calendar import BusinessCalendar, ClosureKind, national_holidays
from mamori.calendar.national import COVERED_UNTIL, _mean_equinox_day
from mamori.errors import PolicyError
from mamori.policy.loader import load_policy

JST = ZoneInfo("Asia/Tokyo")
POLICY = Path(__file__).parents[2] / "examples" / "qualitysoft" / "policy.yaml"


@cache
def calendar() -> BusinessCalendar:
    return BusinessCalendar.from_company(load_policy(POLICY).company)


def jst(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=JST)


# --- known days ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (date(2026, 4, 29), "national holiday: Showa Day"),
        (date(2026, 5, 2), "Saturday"),
        (date(2026, 5, 3), "national holiday: Constitution Day"),  # a Sunday
        (date(2026, 5, 4), "national holiday: Greenery Day"),
        (date(2026, 5, 5), "national holiday: Children's Day"),
        (date(2026, 5, 6), "national holiday: Substitute Holiday"),  # for May 3
        (date(2025, 11, 24), "national holiday: Substitute Holiday"),  # for Sun Nov 23
        (date(2026, 9, 22), "national holiday: National Holiday"),  # between two holidays
        (date(2026, 11, 3), "national holiday: Culture Day"),
        (date(2026, 11, 23), "national holiday: Labor Thanksgiving Day"),
        (date(2026, 12, 29), "year-end and New Year closure"),
        (date(2026, 12, 31), "year-end and New Year closure"),
        (date(2027, 1, 1), "national holiday: New Year's Day"),
        (date(2027, 1, 3), "year-end and New Year closure"),
        (date(2026, 6, 1), "company holiday"),  # from the policy: foundation day
        (date(2026, 8, 14), "company holiday"),
    ],
)
def test_closed_days_and_their_reasons(day: date, reason: str) -> None:
    assert not calendar().is_business_day(day)
    assert calendar().closure_reason(day) == reason


@pytest.mark.parametrize(
    "day",
    [date(2026, 4, 30), date(2026, 5, 1), date(2026, 5, 7), date(2026, 12, 28), date(2027, 1, 4)],
)
def test_open_days(day: date) -> None:
    assert calendar().is_business_day(day)
    assert calendar().closure_reason(day) is None


def test_reasons_in_japanese() -> None:
    assert calendar().closure_reason(date(2026, 11, 3), "ja") == "祝日: 文化の日"
    assert calendar().closure_reason(date(2026, 5, 6), "ja") == "祝日: 振替休日"
    assert calendar().closure_reason(date(2026, 9, 22), "ja") == "祝日: 国民の休日"
    assert calendar().closure_reason(date(2026, 12, 30), "ja") == "年末年始休業"
    assert calendar().closure_reason(date(2026, 11, 8), "ja") == "日曜日"


def test_year_end_closure_can_be_switched_off() -> None:
    company = load_policy(POLICY).company
    hours = company.business_hours.model_copy(update={"year_end_closure": False})
    open_all_year = BusinessCalendar.from_company(
        company.model_copy(update={"business_hours": hours})
    )
    assert open_all_year.is_business_day(date(2026, 12, 29))
    assert not open_all_year.is_business_day(date(2027, 1, 1))  # still 元日


def test_far_years_are_projected_and_early_years_have_no_holidays() -> None:
    assert COVERED_UNTIL == 2099
    assert calendar().closure_reason(date(2100, 11, 3)) == "national holiday: Culture Day"
    assert calendar().closure_reason(date(2100, 3, 20)) == "national holiday: Vernal Equinox Day"
    assert len(national_holidays(2500)) >= 16
    assert calendar().add_business_days(date(2999, 12, 1), 10) > date(2999, 12, 1)
    assert national_holidays(1948) == {}


def test_the_projected_equinox_agrees_with_the_package_where_both_exist() -> None:
    for year in range(1949, COVERED_UNTIL + 1):
        names = {holiday.en: day for day, holiday in national_holidays(year).items()}
        assert names["Vernal Equinox Day"].day == _mean_equinox_day(year, september=False)
        assert names["Autumnal Equinox Day"].day == _mean_equinox_day(year, september=True)


def test_a_broken_company_section_is_a_policy_error() -> None:
    company = load_policy(POLICY).company
    with pytest.raises(PolicyError, match="timezone"):
        BusinessCalendar.from_company(company.model_copy(update={"timezone": "Mars/Olympus"}))
    hours = company.business_hours.model_copy(update={"open": "18:00", "close": "09:00"})
    with pytest.raises(PolicyError, match="open before"):
        BusinessCalendar.from_company(company.model_copy(update={"business_hours": hours}))


# --- hours ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        (jst(2026, 11, 4, 8, 59), False),
        (jst(2026, 11, 4, 9, 0), True),
        (jst(2026, 11, 4, 17, 59, 59), True),
        (jst(2026, 11, 4, 18, 0), False),
        (datetime(2026, 11, 4, 0, 0, tzinfo=UTC), True),  # 09:00 JST
        (datetime(2026, 11, 4, 9, 0, tzinfo=UTC), False),  # 18:00 JST
        (datetime(2026, 11, 3, 23, 59, tzinfo=UTC), False),  # 08:59 JST on the 4th
        (jst(2026, 11, 3, 12, 0), False),  # Culture Day
    ],
)
def test_business_hours_edges(moment: datetime, is_open: bool) -> None:
    assert calendar().is_open(moment) is is_open


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 11, 4, 10, 0)
    for call in (calendar().is_open, calendar().next_opening, calendar().receipt_day):
        with pytest.raises(ValueError, match="naive"):
            call(naive)


def test_outside_hours_has_a_reason() -> None:
    closed = calendar().closure_at(jst(2026, 11, 4, 19, 0))
    assert closed is not None
    assert closed.kind is ClosureKind.OUTSIDE_HOURS
    assert closed.describe() == "outside business hours (09:00–18:00)"


@pytest.mark.parametrize(
    ("moment", "opening"),
    [
        (jst(2026, 11, 6, 18, 0), jst(2026, 11, 9, 9, 0)),  # Friday evening → Monday
        (jst(2026, 11, 6, 12, 0), jst(2026, 11, 6, 12, 0)),  # open now: the same moment
        (jst(2026, 11, 4, 7, 30), jst(2026, 11, 4, 9, 0)),  # early morning → today
        (jst(2026, 11, 2, 18, 30), jst(2026, 11, 4, 9, 0)),  # over Culture Day
        (jst(2026, 12, 25, 19, 0), jst(2026, 12, 28, 9, 0)),
        (jst(2026, 12, 28, 18, 0), jst(2027, 1, 4, 9, 0)),  # over the year-end closure
        (datetime(2026, 11, 6, 9, 0, tzinfo=UTC), jst(2026, 11, 9, 9, 0)),  # 18:00 JST Friday
    ],
)
def test_next_opening(moment: datetime, opening: datetime) -> None:
    found = calendar().next_opening(moment)
    assert found == opening
    assert found.tzinfo == JST


# --- counting --------------------------------------------------------------------------


def test_ten_business_days_from_a_request_received_during_hours() -> None:
    received = jst(2026, 11, 9, 10, 0)  # Monday; Nov 23 is a holiday
    assert calendar().receipt_day(received) == date(2026, 11, 9)
    assert calendar().add_business_days(received, 10) == date(2026, 11, 24)
    assert calendar().due_date(received, 10) == jst(2026, 11, 24, 18, 0)


def test_a_request_received_after_closing_counts_from_the_next_business_day() -> None:
    received = jst(2026, 11, 9, 18, 0)
    assert calendar().receipt_day(received) == date(2026, 11, 10)
    assert calendar().add_business_days(received, 10) == date(2026, 11, 25)
    assert calendar().add_business_days(received, 0) == date(2026, 11, 10)


def test_a_request_received_on_a_closed_day_counts_from_the_next_opening() -> None:
    assert calendar().receipt_day(jst(2026, 12, 30, 11, 0)) == date(2027, 1, 4)
    assert calendar().add_business_days(date(2026, 12, 30), 1) == date(2027, 1, 5)


def test_counting_between_days() -> None:
    assert calendar().business_days_between(date(2026, 11, 9), date(2026, 11, 11)) == 2
    assert calendar().business_days_between(date(2026, 11, 11), date(2026, 11, 9)) == -2
    assert calendar().business_days_between(jst(2026, 11, 9, 19), jst(2026, 11, 10, 10)) == 0
    assert calendar().business_days_between(date(2026, 12, 25), date(2027, 1, 4)) == 2


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="0 or more"):
        calendar().add_business_days(date(2026, 11, 9), -1)
    with pytest.raises(ValueError, match="less than nothing"):
        calendar().extend_by(jst(2026, 11, 9, 18), timedelta(hours=-1))


# --- pauses ------------------------------------------------------------------------------


def test_a_pause_over_a_weekend_counts_only_open_hours() -> None:
    paused = calendar().business_time_between(jst(2026, 11, 6, 17, 0), jst(2026, 11, 9, 10, 0))
    assert paused == timedelta(hours=2)
    due = jst(2026, 11, 11, 18, 0)  # Wednesday close
    assert calendar().extend_by(due, paused) == jst(2026, 11, 12, 11, 0)


def test_a_whole_business_day_of_pause_moves_the_due_date_one_day() -> None:
    due = jst(2026, 11, 2, 18, 0)  # Monday close; Tuesday is Culture Day
    moved = calendar().extend_for_pause(due, jst(2026, 11, 5, 9, 0), jst(2026, 11, 5, 18, 0))
    assert moved == jst(2026, 11, 4, 18, 0)


def test_a_pause_while_closed_moves_nothing() -> None:
    due = jst(2026, 11, 11, 18, 0)
    moved = calendar().extend_for_pause(due, jst(2026, 11, 6, 18, 0), jst(2026, 11, 9, 9, 0))
    assert moved == due


# --- properties ---------------------------------------------------------------------------

zones = st.sampled_from([UTC, JST, ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin")])
moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2104, 12, 31), timezones=zones
)
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2104, 12, 31))
starts = st.one_of(moments, days)
counts = st.integers(min_value=0, max_value=60)


@given(start=starts, n=counts)
def test_adding_then_counting_round_trips(start: date | datetime, n: int) -> None:
    assert calendar().business_days_between(start, calendar().add_business_days(start, n)) == n


@given(start=starts, n=counts)
def test_adding_lands_on_a_business_day_and_is_monotone(start: date | datetime, n: int) -> None:
    day = calendar().add_business_days(start, n)
    assert calendar().is_business_day(day)
    assert calendar().add_business_days(start, n + 1) > day
    assert day >= calendar().receipt_day(start)


@given(moment=moments)
def test_next_opening_is_open_and_not_earlier(moment: datetime) -> None:
    opening = calendar().next_opening(moment)
    assert calendar().is_open(opening)
    assert opening >= moment
    assert (opening == moment) is calendar().is_open(moment)
    assert calendar().business_time_between(moment, opening) == timedelta(0)


@given(a=starts, b=starts)
def test_counting_is_antisymmetric(a: date | datetime, b: date | datetime) -> None:
    assert calendar().business_days_between(a, b) == -calendar().business_days_between(b, a)


@given(due=moments, minutes=st.integers(min_value=0, max_value=60 * 24 * 20))
def test_extending_adds_exactly_the_paused_business_time(due: datetime, minutes: int) -> None:
    paused = timedelta(minutes=minutes)
    moved = calendar().extend_by(due, paused)
    assert moved >= due
    assert calendar().business_time_between(due, moved) == paused
    if minutes:
        local = calendar().local(moved)
        assert calendar().is_business_day(local.date())
        assert calendar().opens < local.time() <= calendar().closes


@given(received=moments, n=counts)
def test_due_dates_are_closing_times_of_business_days(received: datetime, n: int) -> None:
    due = calendar().due_date(received, n)
    assert calendar().is_business_day(due.date())
    assert due.timetz() == time(18, 0, tzinfo=JST)
