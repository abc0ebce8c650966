"""Why the desk is closed: a day's closure, or a moment outside business hours.

Each closure carries its words in Japanese and English so that a notice to a
requester ("we are closed today: 文化の日 / Culture Day") needs no lookup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from enum import StrEnum
from typing import Literal

from mamori.calendar.national import HolidayName

Language = Literal["ja", "en"]

_WEEKDAYS_JA = ("月曜日", "火曜日", "水曜日", "木曜日", "金曜日", "土曜日", "日曜日")
_WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class ClosureKind(StrEnum):
    """The kinds of closure, in the order one is preferred when several apply."""

    NATIONAL_HOLIDAY = "national_holiday"
    YEAR_END = "year_end_closure"
    COMPANY_HOLIDAY = "company_holiday"
    WEEKLY = "weekly_closure"
    OUTSIDE_HOURS = "outside_hours"


_LABELS: dict[ClosureKind, tuple[str, str]] = {
    ClosureKind.NATIONAL_HOLIDAY: ("祝日", "national holiday"),
    ClosureKind.YEAR_END: ("年末年始休業", "year-end and New Year closure"),
    ClosureKind.COMPANY_HOLIDAY: ("会社休業日", "company holiday"),
    ClosureKind.WEEKLY: ("定休日", "weekly closing day"),
    ClosureKind.OUTSIDE_HOURS: ("営業時間外", "outside business hours"),
}


@dataclass(frozen=True)
class Closure:
    """One reason the desk is closed, worded in Japanese (``ja``) and English (``en``)."""

    kind: ClosureKind
    ja: str
    en: str

    def describe(self, language: Language = "en") -> str:
        """The reason in one language, e.g. ``national holiday: Culture Day``."""
        return self.ja if language == "ja" else self.en


def national_holiday(name: HolidayName) -> Closure:
    label_ja, label_en = _LABELS[ClosureKind.NATIONAL_HOLIDAY]
    return Closure(ClosureKind.NATIONAL_HOLIDAY, f"{label_ja}: {name.ja}", f"{label_en}: {name.en}")


def year_end() -> Closure:
    return Closure(ClosureKind.YEAR_END, *_LABELS[ClosureKind.YEAR_END])


def company_holiday() -> Closure:
    return Closure(ClosureKind.COMPANY_HOLIDAY, *_LABELS[ClosureKind.COMPANY_HOLIDAY])


def weekly(day: date) -> Closure:
    """A closing day of the week; named by the day alone (``Saturday``, ``土曜日``)."""
    return Closure(ClosureKind.WEEKLY, _WEEKDAYS_JA[day.weekday()], _WEEKDAYS_EN[day.weekday()])


def outside_hours(opens: time, closes: time) -> Closure:
    """A business day, but before opening or after closing."""
    label_ja, label_en = _LABELS[ClosureKind.OUTSIDE_HOURS]
    hours = f"{opens:%H:%M}–{closes:%H:%M}"
    return Closure(ClosureKind.OUTSIDE_HOURS, f"{label_ja}（{hours}）", f"{label_en} ({hours})")
