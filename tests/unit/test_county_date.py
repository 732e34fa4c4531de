"""The county's date (kit.periods.county_today): from 16:00 UTC it is the UTC date's next
day, and the door's "not in the future" check on a clue's 发生日期 counts by it."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from fastapi import HTTPException

from contracts.campaign import load_default_campaign
from gateway.auth.principal import ANONYMOUS
from gateway.routes import clues
from kit.periods import county_today


def test_the_county_date_turns_at_16_utc():
    assert county_today(datetime(2026, 12, 2, 15, 59, tzinfo=timezone.utc)) == date(2026, 12, 2)
    assert county_today(datetime(2026, 12, 2, 16, 0, tzinfo=timezone.utc)) == date(2026, 12, 3)


def clue_on(day: date) -> clues.ClueIn:
    return clues.ClueIn(channel="online_survey", title="窗口推诿", description="办事窗口无人受理。",
                        occurred_on=day)


def test_a_clue_that_happened_today_in_the_county_is_not_refused_as_future(monkeypatch):
    """At 17:00 UTC a reporter in the county enters today's date, which is tomorrow in UTC:
    the door took the machine's date and refused it as 'in the future'."""
    evening = datetime(2026, 12, 2, 17, 0, tzinfo=timezone.utc)
    monkeypatch.setattr(clues, "county_today", lambda: county_today(evening))
    campaign = load_default_campaign()

    clues.refuse_unacceptable(clue_on(date(2026, 12, 3)), campaign, ANONYMOUS)  # no refusal
    with pytest.raises(HTTPException) as refused:
        clues.refuse_unacceptable(clue_on(date(2026, 12, 3) + timedelta(days=1)), campaign,
                                  ANONYMOUS)
    assert refused.value.status_code == 422 and "in_future" in str(refused.value.detail)
