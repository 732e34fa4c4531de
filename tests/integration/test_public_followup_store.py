"""The reporter's steps on a real store (SQLite and PostgreSQL): a supplement and an answer
to the return visit (回访满意度) are links of the chain, the answers are counted in the
maintained table the roll-up reads, and a refused second answer leaves nothing behind."""
from __future__ import annotations

import pytest

from services.ledger import handlers
from services.ledger.domain.public import AlreadyRated
from services.ledger.domain.actions import Actor
from tests.integration.test_ledger_store import (  # noqa: F401 - the ledger fixture
    CAMPAIGN, COUNTY, EDU, PLAN, SCHOOL, accepted, act, ledger,
)

ME = Actor("reporter:0123456789", "reporter")
OTHER = Actor("reporter:9876543210", "reporter")


def rectified(ledger, n: int) -> str:
    pid = handlers.register_problem(ledger(), accepted(n, title=f"问题{n}",
                                                       description=f"各不相同的描述{n}"), CAMPAIGN)
    act(ledger, pid, "dispatch", EDU, respond_days=5)
    act(ledger, pid, "reporter_supplement", ME, text="补充:收据照片", photos=["ab" * 32])
    act(ledger, pid, "verify", SCHOOL, plan=PLAN)
    act(ledger, pid, "approve_plan", COUNTY)
    act(ledger, pid, "report_rectified", SCHOOL, evidence=[{"description": "公示照片"}],
        public_findings="已退还资料费")
    return pid


def test_answers_are_chained_counted_once_and_shown_back_to_their_reporter(ledger):
    first, second = rectified(ledger, 1), rectified(ledger, 2)
    act(ledger, first, "rate_satisfaction", ME, satisfaction="satisfied")
    act(ledger, second, "rate_satisfaction", ME, satisfaction="not_satisfied", reason="未退全")
    act(ledger, second, "rate_satisfaction", OTHER, satisfaction="not_satisfied", reason="同上")
    with pytest.raises(AlreadyRated):
        act(ledger, first, "rate_satisfaction", ME, satisfaction="not_satisfied", reason="x")
    rollup = handlers.rollup(ledger(), CAMPAIGN, actor=COUNTY)
    assert rollup["by"]["satisfaction"] == {"satisfied": 1, "not_satisfied": 2}
    school = next(u for u in rollup["units"] if u["unit"] == "org_sch_yanshan_high")
    assert school["satisfaction"] == {"satisfied": 1, "not_satisfied": 2}
    mine = handlers.public_progress(ledger(), problem_id=second, reporter=ME.username)
    assert [s["stage"] for s in mine["stages"]] == [
        "registered", "dispatched", "supplemented", "verified", "rectified"]
    assert mine["rating"]["satisfaction"] == "not_satisfied" and mine["may_rate"] is False
    assert handlers.verify_chain(ledger())["ok"] is True
