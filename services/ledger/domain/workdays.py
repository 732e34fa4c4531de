"""Working days by the Chinese official calendar (法定节假日与调休), via ``chinesecalendar``.

Where the library has no data for a year yet (it is published year by year), Monday to
Friday are taken as working days and ``calendar_known`` says so.
"""
from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar


def calendar_known(day: date) -> bool:
    try:
        chinese_calendar.is_workday(day)
        return True
    except NotImplementedError:
        return False


def is_workday(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def add_workdays(start: date, days: int) -> date:
    """The date ``days`` working days after ``start`` (start itself not counted)."""
    if days < 0:
        raise ValueError("days must not be negative")
    current = start
    remaining = days
    while remaining:
        current += timedelta(days=1)
        if is_workday(current):
            remaining -= 1
    return current


def workdays_between(start: date, end: date) -> int:
    """Working days in (start, end]; negative when end lies before start."""
    if end < start:
        return -workdays_between(end, start)
    count = 0
    current = start
    while current < end:
        current += timedelta(days=1)
        if is_workday(current):
            count += 1
    return count


def subtract_workdays(end: date, days: int) -> date:
    """The date ``days`` working days before ``end``."""
    if days < 0:
        raise ValueError("days must not be negative")
    current = end
    remaining = days
    while remaining:
        current -= timedelta(days=1)
        if is_workday(current):
            remaining -= 1
    return current


def latest_start_with(end: date, days: int) -> date:
    """The latest date ``d`` with at least ``days`` working days in (d, end]."""
    if days < 0:
        raise ValueError("days must not be negative")
    current, counted = end, 0
    while counted < days:
        if is_workday(current):
            counted += 1
        current -= timedelta(days=1)
    return current
