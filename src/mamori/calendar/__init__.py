"""Business days and hours: when the privacy desk is open and when a request is due.

``BusinessCalendar.from_company(policy.company)`` builds the calendar once; its
methods are pure functions of the policy and their arguments. See ``service`` for
how receipt days and "N business days" are counted, and ``national`` for where
Japan's national holidays come from and which years are projected.
"""

from mamori.calendar.closures import Closure, ClosureKind, Language
from mamori.calendar.national import HolidayName, national_holiday, national_holidays
from mamori.calendar.service import BusinessCalendar

__all__ = [
    "BusinessCalendar",
    "Closure",
    "ClosureKind",
    "HolidayName",
    "Language",
    "national_holiday",
    "national_holidays",
]
