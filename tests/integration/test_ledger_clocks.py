"""Every open state's clock on a real store (SQLite and PostgreSQL): a problem waiting on the
county office or a supervising body past its working days is overdue in the lists, the
roll-ups and its own view, like a unit's."""
from __future__ import annotations

from datetime import date

from services.ledger import handlers
from tests.integration.test_ledger_store import (  # noqa: F401 (the ledger fixture)
    CAMPAIGN, COUNTY, EDU, PLAN, SCHOOL, TODAY, accepted, act, ledger,
)

EVIDENCE = [{"description": "现场照片"}]


def waiting_on_supervisors(ledger) -> dict[str, str]:
    """One problem in each state that waits on someone above the unit, all entered on TODAY
    (2017-06-05, five working days: due 06-12, long past)."""
    ids = {step: handlers.register_problem(
        ledger(), accepted(60 + n, title=f"等待{step}", description=f"互不相同的描述{n}号问题"),
        CAMPAIGN) for n, step in enumerate(("verified", "unfounded", "rectified", "reopened",
                                            "suspended", "fresh"))}
    for step in ("verified", "unfounded", "rectified", "reopened", "suspended"):
        act(ledger, ids[step], "dispatch", EDU)
    for step in ("verified", "rectified", "suspended"):
        act(ledger, ids[step], "verify", SCHOOL, plan=PLAN)
    act(ledger, ids["rectified"], "approve_plan", EDU)
    act(ledger, ids["rectified"], "report_rectified", SCHOOL, evidence=EVIDENCE)
    for step in ("unfounded", "reopened"):
        act(ledger, ids[step], "report_unfounded", SCHOOL, findings="经核查不属实",
            evidence=EVIDENCE)
    act(ledger, ids["reopened"], "accept_unfounded", EDU)
    act(ledger, ids["reopened"], "reopen", COUNTY, source="spot_check", reason="抽查发现属实")
    act(ledger, ids["suspended"], "suspend", EDU, reason="等待司法结论")
    return ids


def test_a_problem_waiting_on_a_supervisor_past_its_days_is_listed_overdue(ledger):
    ids = waiting_on_supervisors(ledger)
    late = {ids[s] for s in ("verified", "unfounded", "rectified", "reopened")}

    listed = handlers.list_problems(ledger(), CAMPAIGN, actor=COUNTY, filters={"overdue": True},
                                    limit=50, offset=0)
    assert {p["id"] for p in listed["items"]} == late and listed["total"] == 4
    assert all(p["light"] == "red" and p["overdue"] for p in listed["items"])

    for actor in (COUNTY, EDU):
        rollup = handlers.rollup(ledger(), CAMPAIGN, actor=actor)
        assert {p["id"] for p in rollup["overdue"]} == late
        school = next(u for u in rollup["units"] if u["unit"] == "org_sch_yanshan_high")
        assert school["overdue"] == 4 and school["open"] == 6

    view = handlers.get_problem(ledger(), CAMPAIGN, problem_id=ids["unfounded"], actor=COUNTY)
    assert (view["waiting_on"], view["decide_by"], view["due_on"]) == (
        "supervisor", "2017-06-12", "2017-06-12")
    assert (view["light"], view["light_zh"], view["overdue"]) == ("red", "红灯", True)
    assert view["timeline"][-1]["data"]["decide_by"] == "2017-06-12"
    assert handlers.verify_chain(ledger())["ok"]


def test_a_problem_just_registered_waits_on_dispatch_with_a_running_clock(ledger):
    pid = handlers.register_problem(ledger(), accepted(70), CAMPAIGN)
    view = handlers.get_problem(ledger(), CAMPAIGN, problem_id=pid, actor=COUNTY)
    assert view["waiting_on"] == "county_office" and view["light"] in ("green", "yellow")
    assert view["decide_by"] is not None and view["due_on"] == view["decide_by"]
    assert date.fromisoformat(view["decide_by"]) > date.fromisoformat(
        view["registered_at"][:10])
    assert view["timeline"][0]["data"]["decide_by"] == view["decide_by"]


def test_a_deadline_in_a_year_no_calendar_knows_is_flagged_in_the_problems_view(ledger):
    pid = handlers.register_problem(ledger(), accepted(71), CAMPAIGN)
    answer = handlers.act(ledger(), CAMPAIGN, problem_id=pid, action="dispatch", actor=EDU,
                          args={"respond_days": 22}, today=date(2026, 12, 2))
    assert answer["respond_by"] == "2027-01-01"             # New Year's Day, guessed Mon-Fri
    assert answer["calendar_unknown_years"] == [2027]
    view = handlers.get_problem(ledger(), CAMPAIGN, problem_id=pid, actor=COUNTY)
    assert view["calendar_unknown_years"] == [2027]
    assert view["details"]["calendar_unknown_years"] == [2027]
