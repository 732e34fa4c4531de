"""Periods of scheduled work (``kit.schedule``), pure: ISO weeks and working days.

Periods are strings that sort in time order (``2017-10-09``, ``2017-W40``). A schedule says
which periods are due at a moment; after a restart, the periods missed while down are caught
up once each, in order from the last one claimed, never once per missed tick. Working days
come from any calendar object with ``is_workday(day)`` (the ledger's ``WorkCalendar``: the
Chinese official calendar and the campaign's listed years)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo

COUNTY_TZ = ZoneInfo("Asia/Shanghai")
"""The county's own clock (北京时间): days, weeks, months and deadlines are counted in it.
Its one home; modules that name it otherwise import it under their name."""


def county_today(now: datetime | None = None) -> date:
    """The county's date now, or at the aware moment ``now`` (from 16:00 UTC a day ahead
    of the UTC date)."""
    return (now or datetime.now(COUNTY_TZ)).astimezone(COUNTY_TZ).date()


class Workdays(Protocol):
    def is_workday(self, day: date) -> bool: ...


def iso_week(day: date) -> str:
    """The ISO week of a day, e.g. ``2017-W40`` (weeks run Monday to Sunday)."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_bounds(key: str) -> tuple[date, date]:
    """Monday and Sunday of an ISO week key (``2017-W40``); ValueError if malformed."""
    year, _, week = key.partition("-W")
    if not (year.isdigit() and week.isdigit() and len(week) == 2):
        raise ValueError(f"not an ISO week: {key!r}")
    monday = date.fromisocalendar(int(year), int(week), 1)
    return monday, monday + timedelta(days=6)


def weeks_between(first: date, last: date) -> list[str]:
    """Every ISO week touching [first, last], in order."""
    keys, day = [], first - timedelta(days=first.weekday())
    while day <= last:
        keys.append(iso_week(day))
        day += timedelta(days=7)
    return keys


@dataclass(frozen=True)
class WorkingDaily:
    """One period per working day (法定工作日), due at ``at`` local time: a holiday or a
    weekend off has no period, so nothing scheduled on it ever fires (it waits for the next
    working day). ``start``: no period before it (a fresh store does not backfill history);
    ``catch_up``: the most missed periods a restart makes up (the latest ones)."""

    calendar: Workdays
    tz: tzinfo
    at: time = time(8, 30)
    start: date | None = None
    catch_up: int = 62

    def latest(self, now: datetime) -> date | None:
        """The latest working day whose firing time has come by ``now``."""
        local = now.astimezone(self.tz)
        day = local.date() if local.timetz().replace(tzinfo=None) >= self.at \
            else local.date() - timedelta(days=1)
        for _ in range(400):
            if self.start is not None and day < self.start:
                return None
            if self.calendar.is_workday(day):
                return day
            day -= timedelta(days=1)
        return None

    def due(self, now: datetime, since: str | None) -> list[str]:
        """The periods to run at ``now``, oldest first: each working day after ``since`` (the
        last one claimed) up to the latest due one; only the latest one when nothing was
        claimed yet."""
        latest = self.latest(now)
        if latest is None:
            return []
        if since is None:
            return [latest.isoformat()]
        last = date.fromisoformat(since)
        days, day = [], latest
        while day > last and len(days) < self.catch_up:
            if self.calendar.is_workday(day) and (self.start is None or day >= self.start):
                days.append(day.isoformat())
            day -= timedelta(days=1)
        return days[::-1]


