"""Period arithmetic of ``kit.schedule``: working days by the Chinese calendar (国庆 2017:
1–8 October off, Saturday 30 September worked), the latest due period, catching up once."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest

from kit.schedule import (
    FileClock, ManualClock, WorkingDaily, clock_from, iso_week, week_bounds, weeks_between,
)
from services.ledger.domain import LOCAL_TZ
from services.ledger.domain.workdays import LIBRARY


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LOCAL_TZ)


DAILY = WorkingDaily(calendar=LIBRARY, tz=LOCAL_TZ, at=time(8, 30), start=date(2017, 5, 1))


def test_iso_weeks_sort_in_time_order_and_know_their_monday_and_sunday():
    assert iso_week(date(2017, 10, 1)) == "2017-W39"
    assert week_bounds("2017-W40") == (date(2017, 10, 2), date(2017, 10, 8))
    assert weeks_between(date(2017, 9, 27), date(2017, 10, 9)) == [
        "2017-W39", "2017-W40", "2017-W41"]
    assert sorted(["2017-W10", "2017-W09", "2018-W01"]) == ["2017-W09", "2017-W10", "2018-W01"]
    for bad in ("2017-40", "2017-W4", "W40", "2017-W99"):
        with pytest.raises(ValueError):
            week_bounds(bad)


def test_a_working_day_is_due_from_its_firing_time_not_before():
    assert DAILY.due(at(date(2017, 9, 29), 8, 29), None) == ["2017-09-28"]
    assert DAILY.due(at(date(2017, 9, 29), 8, 30), None) == ["2017-09-29"]


def test_no_period_falls_on_a_holiday_and_the_make_up_saturday_has_one():
    # Saturday 30 September 2017 was worked (调休); 1 to 8 October were off (国庆, 中秋).
    assert DAILY.due(at(date(2017, 9, 30)), "2017-09-29") == ["2017-09-30"]
    for off in range(1, 9):
        assert DAILY.due(at(date(2017, 10, off), 23), "2017-09-30") == []
    assert DAILY.due(at(date(2017, 10, 9)), "2017-09-30") == ["2017-10-09"]


def test_a_restart_catches_up_each_missed_period_once_in_order():
    # down from Wednesday 27 September to Tuesday 10 October, the holiday in between
    assert DAILY.due(at(date(2017, 10, 10)), "2017-09-26") == [
        "2017-09-27", "2017-09-28", "2017-09-29", "2017-09-30", "2017-10-09", "2017-10-10"]
    assert DAILY.due(at(date(2017, 10, 10)), "2017-10-10") == []


def test_a_fresh_store_starts_with_the_latest_period_and_nothing_before_the_start():
    assert DAILY.due(at(date(2017, 6, 7)), None) == ["2017-06-07"]
    assert DAILY.due(at(date(2017, 4, 28)), None) == []
    assert DAILY.due(at(date(2017, 5, 3)), "2017-04-01") == ["2017-05-02", "2017-05-03"]


def test_catch_up_is_bounded_to_the_latest_periods():
    short = WorkingDaily(calendar=LIBRARY, tz=LOCAL_TZ, catch_up=3)
    assert short.due(at(date(2017, 6, 9)), "2017-06-01") == [
        "2017-06-07", "2017-06-08", "2017-06-09"]


def test_the_local_day_counts_not_the_utc_day():
    # 00:30 UTC on Monday 9 October is 08:30 in the county: Monday's period is due
    utc = datetime(2017, 10, 9, 0, 30, tzinfo=timezone.utc)
    assert DAILY.due(utc, "2017-09-30") == ["2017-10-09"]


def test_clocks_are_injectable(tmp_path):
    clock = ManualClock(at(date(2017, 6, 1)))
    assert clock.advance(days=30) == at(date(2017, 7, 1))
    path = tmp_path / "now"
    file_clock = clock_from({"SCHEDULE_CLOCK_FILE": str(path), "ENVIRONMENT": "development"})
    assert isinstance(file_clock, FileClock)
    assert abs(file_clock.now() - datetime.now(timezone.utc)) < timedelta(minutes=1)
    path.write_text("2017-10-09T08:31:00+08:00")
    assert file_clock.now() == at(date(2017, 10, 9), 8, 31)
    with pytest.raises(RuntimeError):
        clock_from({"SCHEDULE_CLOCK_FILE": str(path), "ENVIRONMENT": "production"})


def test_the_county_clock_has_one_home():
    """``kit.periods.COUNTY_TZ`` is the only place that makes the county's time zone (a
    migration keeps its own copy: migrations never change with the code)."""
    from pathlib import Path

    from kit.periods import COUNTY_TZ

    root = Path(__file__).resolve().parents[2]
    spelled = [str(path.relative_to(root)) for top in ("contracts", "gateway", "kit", "services")
               for path in (root / top).rglob("*.py")
               if '"Asia/Shanghai"' in path.read_text(encoding="utf-8")
               and "migrations" not in path.parts]
    assert spelled == ["kit/periods.py"]
    assert str(COUNTY_TZ) == "Asia/Shanghai"
