"""The ledger's read of a partner's page of requests (``problem_states``, Open311) on a real
store (SQLite and PostgreSQL, where it is one query with the ids as one array): every
registered clue named, once, in its narrow state; clues not registered yet left out; the
description only when asked; and a partner's own request keeps its partner on the problem."""
from __future__ import annotations

import pytest

from contracts.campaign import load_default_campaign
from services.ledger import handlers
from services.ledger.handlers.views import problem_states
from tests.integration.test_ledger_store import accepted, ledger  # noqa: F401 (fixture)

CAMPAIGN = load_default_campaign()


def test_a_page_of_states_is_read_at_once_and_unregistered_clues_are_left_out(ledger):  # noqa: F811
    for n in range(1, 511):  # more than SQLite's chunk of 500
        handlers.register_problem(ledger(), accepted(n), CAMPAIGN)
    asked = [f"clue-{n}" for n in range(510, 0, -1)] + ["clue-missing", "clue-7"]
    found = problem_states(ledger(), clue_ids=asked)
    assert found["columns"] == ["clue_id", "state", "outcome", "unit", "category",
                                "updated_at"]
    rows = {row[0]: row for row in found["rows"]}
    assert len(found["rows"]) == 510 and set(rows) == {f"clue-{n}" for n in range(1, 511)}
    assert rows["clue-7"][1:5] == ["registered", None, "org_sch_yanshan_high",
                                   "c7_livelihood_services"]
    assert rows["clue-7"][5].endswith("+08:00")
    one = problem_states(ledger(), clue_ids=["clue-3"], with_text=True)
    assert one["columns"][-1] == "description"
    assert one["rows"][0][-1] == "学校违规收取资料费,家长多次反映无人处理"
    assert problem_states(ledger(), clue_ids=[])["rows"] == []


def test_more_than_a_page_is_refused(ledger):  # noqa: F811
    with pytest.raises(Exception, match="1000"):
        problem_states(ledger(), clue_ids=[f"c{n}" for n in range(1001)])


def test_the_server_writes_the_county_time_as_python_would(pg_databases):
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import DateTime, literal, select

    from kit.db import make_engine, w3c_text

    engine = make_engine(pg_databases.create("w3c"))
    utc = timezone.utc
    times = [datetime(2017, 6, 5, 1, 30, 0, tzinfo=utc),
             datetime(2017, 6, 5, 16, 0, 0, 999_999, tzinfo=utc),       # the next day, here
             datetime(2026, 12, 31, 23, 59, 59, 500_000, tzinfo=utc),   # the next year, here
             datetime(2017, 6, 5, 12, 0, tzinfo=timezone(timedelta(hours=-5)))]
    with engine.connect() as conn:
        for at in times:
            written = conn.execute(select(w3c_text(literal(at, DateTime(timezone=True)),
                                                   8))).scalar_one()
            expected = at.astimezone(timezone(timedelta(hours=8))).isoformat(
                timespec="seconds")
            assert written == expected, (at, written)
    engine.dispose()
