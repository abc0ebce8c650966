"""The company's business calendar: which days and hours the privacy desk is open.

A day is closed when it is a national holiday (see ``national``), falls in the
customary year-end closure (Dec 29 – Jan 3, when the policy keeps it), is one of
the company holidays the policy lists, or is not one of the policy's weekdays.
On the other days the desk is open from ``opens`` (inclusive) to ``closes``
(exclusive), 9:00–18:00 in the company's zone (Asia/Tokyo) by default.

Counting "N business days from receipt" (受付から N 営業日) follows Civil Code
Art. 140 (初日不算入), as Japanese privacy desks count:

* the **receipt day** (受付日) is the day of receipt when a request arrives on a
  business day before closing (an arrival before opening counts as that day);
  one that arrives after closing or on a closed day is received on the next
  business day (翌営業日受付). A ``date`` is read as the start of that day;
* the receipt day itself is day 0; day 1 is the next business day after it;
* a deadline of N business days is the close of business on day N.

Requests are paused in business time: a pause moves the due date by the time the
desk was open during the pause, so a pause over a weekend or a night adds
nothing, and a pause of one whole business day adds exactly one.

Everything here is a pure function of the policy and its arguments. It never
reads the clock, never touches the database, and refuses naive datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mamori.calendar import closures
from mamori.calendar.closures import Closure, Language
from mamori.calendar.national import national_holiday
from mamori.errors import PolicyError
from mamori.policy.schemas import Company

_DAY = timedelta(days=1)
_NOTHING = timedelta(0)


def _in_year_end_closure(day: date) -> bool:
    return (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _clock(value: str, *, field: str) -> time:
    try:
        return time.fromisoformat(value)
    except ValueError as exc:
        raise PolicyError(f"company.business_hours.{field} '{value}' is not a time of day") from exc


@dataclass(frozen=True)
class BusinessCalendar:
    """Business days and hours of one company; build it once with ``from_company``."""

    zone: ZoneInfo
    opens: time = time(9)
    closes: time = time(18)
    weekdays: frozenset[int] = frozenset(range(5))
    year_end_closure: bool = True
    company_holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if not self.opens < self.closes:
            raise PolicyError("company.business_hours must open before they close")
        if not self.weekdays or not self.weekdays <= frozenset(range(7)):
            raise PolicyError("company.business_hours.weekdays must list days 0 (Mon) to 6 (Sun)")

    @classmethod
    def from_company(cls, company: Company) -> BusinessCalendar:
        """The calendar the policy's ``company`` section describes."""
        hours = company.business_hours
        try:
            zone = ZoneInfo(company.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise PolicyError(f"company.timezone '{company.timezone}' is not a known zone") from exc
        return cls(
            zone=zone,
            opens=_clock(hours.open, field="open"),
            closes=_clock(hours.close, field="close"),
            weekdays=frozenset(hours.weekdays),
            year_end_closure=hours.year_end_closure,
            company_holidays=frozenset(company.holidays),
        )

    # --- days ------------------------------------------------------------------

    def closure(self, day: date) -> Closure | None:
        """Why ``day`` is closed, or None on a business day.

        When several reasons apply the most specific wins: a national holiday,
        then the year-end closure, then a company holiday, then the day of week.
        """
        holiday = national_holiday(day)
        if holiday is not None:
            return closures.national_holiday(holiday)
        if self.year_end_closure and _in_year_end_closure(day):
            return closures.year_end()
        if day in self.company_holidays:
            return closures.company_holiday()
        if day.weekday() not in self.weekdays:
            return closures.weekly(day)
        return None

    def closure_reason(self, day: date, language: Language = "en") -> str | None:
        """Why ``day`` is closed in words (``national holiday: Culture Day``), or None."""
        found = self.closure(day)
        return None if found is None else found.describe(language)

    def is_business_day(self, day: date) -> bool:
        """True when the desk opens on ``day``."""
        return self.closure(day) is None

    def next_business_day(self, day: date) -> date:
        """The first business day strictly after ``day``."""
        day += _DAY
        while not self.is_business_day(day):
            day += _DAY
        return day

    # --- hours -----------------------------------------------------------------

    def local(self, moment: datetime) -> datetime:
        """``moment`` in the company's zone; a naive datetime is refused (ValueError)."""
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("a naive datetime has no zone; give an aware one (e.g. in UTC)")
        return moment.astimezone(self.zone)

    def opening_time(self, day: date) -> datetime:
        """When the desk opens on ``day`` (whether or not ``day`` is a business day)."""
        return datetime.combine(day, self.opens, tzinfo=self.zone)

    def closing_time(self, day: date) -> datetime:
        """When the desk closes on ``day`` (whether or not ``day`` is a business day)."""
        return datetime.combine(day, self.closes, tzinfo=self.zone)

    def closure_at(self, moment: datetime) -> Closure | None:
        """Why the desk is closed at ``moment`` (a closed day, or outside hours), or None."""
        here = self.local(moment)
        found = self.closure(here.date())
        if found is None and not self.opens <= here.time() < self.closes:
            return closures.outside_hours(self.opens, self.closes)
        return found

    def is_open(self, moment: datetime) -> bool:
        """True when the desk is open at ``moment`` (opening inclusive, closing exclusive)."""
        return self.closure_at(moment) is None

    def next_opening(self, moment: datetime) -> datetime:
        """The first moment at or after ``moment`` when the desk is open, in the company zone."""
        here = self.local(moment)
        if self.is_open(here):
            return here
        day = here.date()
        if self.is_business_day(day) and here.time() < self.opens:
            return self.opening_time(day)
        return self.opening_time(self.next_business_day(day))

    # --- counting business days ----------------------------------------------------

    def _start_of(self, start: date | datetime) -> datetime:
        if isinstance(start, datetime):
            return self.local(start)
        return datetime.combine(start, time.min, tzinfo=self.zone)

    def receipt_day(self, start: date | datetime) -> date:
        """The business day a request arriving at ``start`` counts as received (受付日)."""
        here = self._start_of(start)
        day = here.date()
        if self.is_business_day(day) and here.time() < self.closes:
            return day
        return self.next_business_day(day)

    def add_business_days(self, start: date | datetime, n: int) -> date:
        """Business day ``n`` counted from the receipt day of ``start`` (which is day 0).

        ``n`` = 0 gives the receipt day itself; the result is always a business day.
        """
        if n < 0:
            raise ValueError(f"cannot add {n} business days; n must be 0 or more")
        day = self.receipt_day(start)
        for _ in range(n):
            day = self.next_business_day(day)
        return day

    def business_days_between(self, a: date | datetime, b: date | datetime) -> int:
        """How many business days of a period starting at ``a`` have begun by ``b``.

        Counts the business days after the receipt day of ``a`` up to and including
        the day of ``b``, so ``business_days_between(a, add_business_days(a, n)) == n``.
        Negative when ``b`` comes before ``a``: ``between(a, b) == -between(b, a)``.
        """
        if self._start_of(b) < self._start_of(a):
            return -self.business_days_between(b, a)
        last = self._start_of(b).date()
        count, day = 0, self.receipt_day(a)
        while (day := self.next_business_day(day)) <= last:
            count += 1
        return count

    def due_date(self, received_at: datetime, business_days: int) -> datetime:
        """The close of business on business day ``business_days`` after receipt."""
        return self.closing_time(self.add_business_days(received_at, business_days))

    # --- business time (pauses) ---------------------------------------------------

    def business_time_between(self, start: datetime, end: datetime) -> timedelta:
        """How long the desk was open from ``start`` to ``end`` (nothing if ``end`` is earlier)."""
        begin, finish = _utc(self.local(start)), _utc(self.local(end))
        total = _NOTHING
        day, last = self.local(start).date(), self.local(end).date()
        while day <= last:
            if self.is_business_day(day):
                low = max(begin, _utc(self.opening_time(day)))
                high = min(finish, _utc(self.closing_time(day)))
                total += max(high - low, _NOTHING)
            day += _DAY
        return total

    def extend_by(self, due: datetime, paused: timedelta) -> datetime:
        """``due`` moved later by ``paused`` of business time (open hours only).

        The result is the earliest moment with exactly ``paused`` of open time since
        ``due``; it can be a closing time (a whole day's pause moves 18:00 to 18:00).
        """
        if paused < _NOTHING:
            raise ValueError("a pause cannot last less than nothing")
        here = self.local(due)
        if paused == _NOTHING:
            return here
        remaining, day = paused, here.date()
        while True:
            if self.is_business_day(day):
                low = max(_utc(here), _utc(self.opening_time(day)))
                window = _utc(self.closing_time(day)) - low
                if remaining <= window:
                    return (low + remaining).astimezone(self.zone)
                remaining -= max(window, _NOTHING)
            day += _DAY

    def extend_for_pause(
        self, due: datetime, paused_from: datetime, paused_until: datetime
    ) -> datetime:
        """``due`` moved by the business time between ``paused_from`` and ``paused_until``."""
        return self.extend_by(due, self.business_time_between(paused_from, paused_until))
