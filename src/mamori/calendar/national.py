"""Japan's national holidays (国民の祝日・休日), one year at a time, in Japanese and English.

The source is the ``holidays`` package's ``Japan``: the holidays of the National
Holidays Act including substitute holidays (振替休日) and the in-between citizens'
holiday (国民の休日), for 1949 to ``COVERED_UNTIL`` (2099 in holidays 0.108).

Later years are projected: the same rules of today's Act, with the two equinox
days computed from the mean equinox (Meeus, *Astronomical Algorithms*, table 27.B)
instead of the package's table, which is only valid until 2099. The mean formula
gives the same day as the package for every year from 1949 to 2099. Even inside
the covered range, the equinox days after next year are predictions: the
Cabinet Office fixes them each February for the following year. Before 1949 the
Act did not exist and no day is a national holiday.

This room only names days. It never decides what is a business day (see
``service``) and never reads the clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType

from holidays.countries.japan import Japan

COVERED_FROM: int = Japan.start_year
COVERED_UNTIL: int = Japan.end_year

_J2000 = datetime(2000, 1, 1, 12, tzinfo=UTC)  # Julian day 2451545.0
_JST = timedelta(hours=9)  # the Act's days are Japan's days; Japan keeps no summer time


@dataclass(frozen=True)
class HolidayName:
    """A holiday's name in both languages, e.g. 文化の日 / Culture Day."""

    ja: str
    en: str


def _mean_equinox_day(year: int, *, september: bool) -> int:
    """The day of March or September on which the mean equinox falls in Japan."""
    y = (year - 2000) / 1000
    if september:
        jde = 2451810.21715 + 365242.01767 * y - 0.11575 * y**2 + 0.00337 * y**3 + 0.00078 * y**4
    else:
        jde = 2451623.80984 + 365242.37404 * y + 0.05169 * y**2 - 0.00411 * y**3 - 0.00057 * y**4
    return (_J2000 + timedelta(days=jde - 2451545.0) + _JST).day


class _ProjectedJapan(Japan):
    """Today's Act carried past the package's last year, with computed equinoxes."""

    end_year = 9998

    @property
    def _vernal_equinox_date(self) -> tuple[int, int]:
        return 3, _mean_equinox_day(self._year, september=False)

    @property
    def _autumnal_equinox_date(self) -> tuple[int, int]:
        return 9, _mean_equinox_day(self._year, september=True)


def is_projected(year: int) -> bool:
    """True when ``year``'s holidays are projected past what the package covers."""
    return year > COVERED_UNTIL


@lru_cache(maxsize=512)
def national_holidays(year: int) -> Mapping[date, HolidayName]:
    """Every national holiday of ``year`` with its names; empty before 1949."""
    if year < COVERED_FROM:
        return MappingProxyType({})
    source = _ProjectedJapan if is_projected(year) else Japan
    in_japanese = source(years=year, language="ja")
    in_english = source(years=year, language="en_US")
    names = {
        day: HolidayName(ja=str(name), en=str(in_english[day]))
        for day, name in sorted(in_japanese.items())
    }
    return MappingProxyType(names)


def national_holiday(day: date) -> HolidayName | None:
    """The national holiday on ``day``, if there is one."""
    return national_holidays(day.year).get(day)
