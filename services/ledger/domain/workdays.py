"""Working days by the Chinese official calendar (法定节假日与调休).

``chinesecalendar`` knows the years the State Council has published (it is updated year by
year); a campaign file may list further years, or correct one, with their holidays and make-up
working days (调休上班). A ``WorkCalendar`` answers from the campaign's years first, then from the
library; for a year neither knows it takes Monday to Friday as working days, and
``unknown_years`` names such years so that a deadline counted across one is flagged, never
silently trusted. The module-level functions use the library alone (``LIBRARY``).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar


@lru_cache(maxsize=None)
def _library_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
        return True
    except NotImplementedError:
        return False


class WorkCalendar:
    """Working days: the campaign's listed years (holidays, make-up workdays), else the library's
    calendar, else Monday to Friday. Answers are memoized (they never change for one object)."""

    def __init__(self, years: Mapping[int, tuple[Iterable[date], Iterable[date]]] | None = None):
        years = dict(years or {})
        self.listed_years = frozenset(years)
        self._days_off = frozenset(day for off, _ in years.values() for day in off)
        self._days_on = frozenset(day for _, on in years.values() for day in on)
        self._memo: dict[date, bool] = {}

    @classmethod
    def listing(cls, section: Mapping) -> WorkCalendar:
        """From a campaign's ``calendar`` section: ``{year: entry with .holidays, .workdays}``."""
        return cls({year: (entry.holidays, entry.workdays) for year, entry in section.items()})

    def knows(self, year: int) -> bool:
        return year in self.listed_years or _library_knows(year)

    def unknown_years(self, start: date, end: date) -> tuple[int, ...]:
        """The years from ``start`` to ``end`` (either order) that no calendar covers."""
        low, high = sorted((start.year, end.year))
        return tuple(year for year in range(low, high + 1) if not self.knows(year))

    def is_workday(self, day: date) -> bool:
        answer = self._memo.get(day)
        if answer is None:
            answer = self._memo[day] = self._decide(day)
        return answer

    def _decide(self, day: date) -> bool:
        if day.year in self.listed_years:
            return day in self._days_on or (day.weekday() < 5 and day not in self._days_off)
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            return day.weekday() < 5

    def add_workdays(self, start: date, days: int) -> date:
        """The date ``days`` working days after ``start`` (start itself not counted)."""
        if days < 0:
            raise ValueError("days must not be negative")
        current, remaining = start, days
        while remaining:
            current += timedelta(days=1)
            if self.is_workday(current):
                remaining -= 1
        return current

    def workdays_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative when end lies before start."""
        if end < start:
            return -self.workdays_between(end, start)
        count, current = 0, start
        while current < end:
            current += timedelta(days=1)
            if self.is_workday(current):
                count += 1
        return count

    def subtract_workdays(self, end: date, days: int) -> date:
        """The date ``days`` working days before ``end``."""
        if days < 0:
            raise ValueError("days must not be negative")
        current, remaining = end, days
        while remaining:
            current -= timedelta(days=1)
            if self.is_workday(current):
                remaining -= 1
        return current

    def latest_start_with(self, end: date, days: int) -> date:
        """The latest date ``d`` with at least ``days`` working days in (d, end]."""
        if days < 0:
            raise ValueError("days must not be negative")
        current, counted = end, 0
        while counted < days:
            if self.is_workday(current):
                counted += 1
            current -= timedelta(days=1)
        return current


LIBRARY = WorkCalendar()


def calendar_known(day: date) -> bool:
    return LIBRARY.knows(day.year)


def is_workday(day: date) -> bool:
    return LIBRARY.is_workday(day)


def add_workdays(start: date, days: int) -> date:
    return LIBRARY.add_workdays(start, days)


def workdays_between(start: date, end: date) -> int:
    return LIBRARY.workdays_between(start, end)


def subtract_workdays(end: date, days: int) -> date:
    return LIBRARY.subtract_workdays(end, days)


def latest_start_with(end: date, days: int) -> date:
    return LIBRARY.latest_start_with(end, days)
