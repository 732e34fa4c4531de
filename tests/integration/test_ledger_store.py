"""The ledger's use cases on a real store (SQLite and PostgreSQL): lifecycle, provenance,
roll-ups, work plans, and a history that catches a row edited behind its back."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text, update
from sqlalchemy.orm import sessionmaker

from contracts.campaign import load_default_campaign
from contracts.events import ClueAccepted, ClueFields
from kit.db import make_engine
from kit.migrate import upgrade
from kit.store import Inbox, Outbox
from services.ledger import handlers
from services.ledger.adapters import orm
from services.ledger.adapters.uow import LedgerUnitOfWork
from services.ledger.domain.actions import Actor
from services.ledger.domain.lifecycle import IllegalTransition
from tests.integration.test_stores import ROOT

CAMPAIGN = load_default_campaign()
COUNTY = Actor("county", "county_office", "org_county_office")
EDU = Actor("supervisor-edu", "supervisor", "org_education_bureau")
SCHOOL = Actor("handler-school1", "unit_handler", "org_sch_yanshan_high")
OTHER_SCHOOL = Actor("handler-x", "unit_handler", "org_sch_no2_high")
TODAY = date(2017, 6, 5)
PLAN = {"measures": "公开办事指南,设立一次性告知单", "target": "群众办事一次办结",
        "deadline": "2017-07-31", "lead_official": "李校长",
        "responsible_unit": "org_sch_yanshan_high", "responsible_person": "王老师",
        "handling": "time_limited"}


@pytest.fixture
def ledger(new_database):
    url = new_database("ledger")
    upgrade(ROOT / "services" / "ledger", url)
    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    return lambda: LedgerUnitOfWork(factory, Outbox(orm.outbox_table), Inbox(orm.inbox_table),
                                    consumer="tests.direct_call")


def accepted(n: int, unit="org_sch_yanshan_high", title="学校乱收费", channel="letter",
             description="学校违规收取资料费,家长多次反映无人处理") -> ClueAccepted:
    return ClueAccepted(event_id=f"accepted-{n}", clue_id=f"clue-{n}",
                        clue=ClueFields(channel=channel, title=title, description=description,
                                        subject_unit=unit, category="c7_livelihood_services"),
                        submitted_at=orm.utcnow())


def act(ledger, problem_id, action, actor, **args):
    return handlers.act(ledger(), CAMPAIGN, problem_id=problem_id, action=action, actor=actor,
                        args=args, today=TODAY)


def test_a_problem_goes_from_registration_to_strike_off_with_its_history(ledger):
    pid = handlers.register_problem(ledger(), accepted(1), CAMPAIGN)
    assert handlers.register_problem(ledger(), accepted(1), CAMPAIGN) is None
    act(ledger, pid, "dispatch", EDU, respond_days=5)
    act(ledger, pid, "verify", SCHOOL, plan=PLAN, seriousness="ordinary")
    act(ledger, pid, "approve_plan", EDU)
    act(ledger, pid, "check_progress", EDU, flags=[{"flag": "slow_progress",
                                                      "reason": "告知单尚未公示"}],
        new_deadline="2017-07-15")
    act(ledger, pid, "report_rectified", SCHOOL, evidence=[{"description": "公示照片"}])
    view = act(ledger, pid, "strike_off", EDU, note="核查属实,准予销号")
    assert (view["state"], view["outcome"], view["decided_by"]) == (
        "closed", "rectified", "supervisor-edu")
    full = handlers.get_problem(ledger(), CAMPAIGN, problem_id=pid, actor=COUNTY)
    assert [e["action"] for e in full["timeline"]] == [
        "register", "dispatch", "verify", "approve_plan", "check_progress",
        "report_rectified", "strike_off"]
    assert full["timeline"][4]["data"]["flags"][0]["flag_zh"] == "整改进度慢"
    assert handlers.verify_chain(ledger())["ok"] is True
    with ledger() as uow:
        kinds = [r["event_type"] for r in Outbox(orm.outbox_table).pending(uow.session)]
    assert kinds[0] == "problem_registered" and "problem.struck_off" in kinds


def test_refusals_change_nothing(ledger):
    pid = handlers.register_problem(ledger(), accepted(2), CAMPAIGN)
    with pytest.raises(IllegalTransition, match="registered"):
        act(ledger, pid, "strike_off", EDU)
    act(ledger, pid, "dispatch", EDU)
    from services.ledger.domain.access import NotPermitted
    with pytest.raises(handlers.ProblemNotFound):
        act(ledger, pid, "verify", OTHER_SCHOOL, plan=PLAN)
    with pytest.raises(NotPermitted):
        act(ledger, pid, "verify", Actor("spotcheck", "spot_check"), plan=PLAN)
    from services.ledger.domain.plan import PlanInvalid
    with pytest.raises(PlanInvalid, match="lead_official"):
        act(ledger, pid, "verify", SCHOOL, plan={**PLAN, "lead_official": ""})
    view = handlers.get_problem(ledger(), CAMPAIGN, problem_id=pid, actor=COUNTY)
    assert view["state"] == "dispatched" and view["version"] == 1
    assert len(view["timeline"]) == 2


def test_a_unit_sees_only_its_own_and_a_supervisor_only_its_system(ledger):
    mine = handlers.register_problem(ledger(), accepted(3), CAMPAIGN)
    police = handlers.register_problem(ledger(), accepted(4, unit="org_gd_public_security"),
                                       CAMPAIGN)
    listed = handlers.list_problems(ledger(), CAMPAIGN, actor=SCHOOL, filters={}, limit=50,
                                    offset=0)
    assert [p["id"] for p in listed["items"]] == [mine]
    edu = handlers.list_problems(ledger(), CAMPAIGN, actor=EDU, filters={}, limit=50, offset=0)
    assert police not in [p["id"] for p in edu["items"]]
    with pytest.raises(handlers.ProblemNotFound):
        handlers.get_problem(ledger(), CAMPAIGN, problem_id=police, actor=SCHOOL)


def test_duplicates_are_suggested_and_a_merge_keeps_every_clue_and_can_be_undone(ledger):
    first = handlers.register_problem(ledger(), accepted(5), CAMPAIGN)
    second = handlers.register_problem(ledger(), accepted(6, channel="phone_call"), CAMPAIGN)
    view = handlers.get_problem(ledger(), CAMPAIGN, problem_id=second, actor=COUNTY)
    assert view["details"]["duplicate_suggestions"][0]["problem_id"] == first
    act(ledger, second, "merge", COUNTY, into=first)
    merged = handlers.get_problem(ledger(), CAMPAIGN, problem_id=first, actor=COUNTY)
    assert {(c["clue_id"], c["channel"]) for c in merged["clues"]} == {
        ("clue-5", "letter"), ("clue-6", "phone_call")}
    act(ledger, second, "unmerge", COUNTY, reason="并非同一问题")
    after = handlers.get_problem(ledger(), CAMPAIGN, problem_id=first, actor=COUNTY)
    assert [c["clue_id"] for c in after["clues"]] == ["clue-5"]
    back = handlers.get_problem(ledger(), CAMPAIGN, problem_id=second, actor=COUNTY)
    assert back["state"] == "registered" and back["clues"][0]["clue_id"] == "clue-6"


def test_rollups_count_and_rate_per_unit_for_the_supervising_body(ledger):
    for n in range(3):
        pid = handlers.register_problem(ledger(), accepted(10 + n, title=f"问题{n}",
                                                           description=f"不同的描述内容{n}号"),
                                        CAMPAIGN)
        act(ledger, pid, "dispatch", EDU)
    handlers.register_problem(ledger(), accepted(20, unit="org_gd_public_security"), CAMPAIGN)
    edu = handlers.rollup(ledger(), CAMPAIGN, actor=EDU)
    assert edu["total"] == 3 and edu["by"]["state"] == {"dispatched": 3}
    assert edu["units"][0]["unit"] == "org_sch_yanshan_high"
    assert edu["units"][0]["closure_rate"] == 0.0
    # Dispatched in June 2017 and never answered: overdue and stalled today, all three.
    assert (edu["units"][0]["overdue"], edu["units"][0]["stalled"]) == (3, 3)
    assert edu["units"][0]["overdue_rate"] == 1.0
    assert len(edu["overdue"]) == len(edu["stalled"]) == 3
    county = handlers.rollup(ledger(), CAMPAIGN, actor=COUNTY)
    assert county["total"] == 4 and county["by"]["unit"]["org_gd_public_security"] == 1


def test_work_plans_are_filed_acknowledged_and_missing_units_listed(ledger):
    filed = handlers.file_work_plan(ledger(), CAMPAIGN, actor=SCHOOL, title="盐山中学清理工作方案",
                                    summary="成立领导小组,开展自查自纠")
    assert filed["supervisor"] == "org_education_bureau"
    handlers.acknowledge_work_plan(ledger(), CAMPAIGN, actor=EDU, plan_id=filed["id"])
    missing = handlers.missing_work_plans(ledger(), CAMPAIGN, actor=EDU)
    codes = {m["unit"] for m in missing["missing"]}
    assert "org_sch_yanshan_high" not in codes and "org_sch_no2_high" in codes
    assert all(m["supervisor"] == "org_education_bureau" for m in missing["missing"])
    # Filed today, long after the 2017 phase ended: on file, but late.
    assert [m["unit"] for m in missing["late"]] == ["org_sch_yanshan_high"]
    assert missing["units"] == 6 and missing["on_time"] == 0
    listed = handlers.list_work_plans(ledger(), CAMPAIGN, actor=SCHOOL)["items"]
    assert listed[0]["acknowledged_by"] == "supervisor-edu"


def test_editing_a_history_row_in_the_database_is_caught(ledger):
    pid = handlers.register_problem(ledger(), accepted(30), CAMPAIGN)
    act(ledger, pid, "dispatch", EDU)
    act(ledger, pid, "report_unfounded", SCHOOL, findings="经核查,未收取任何费用",
        evidence=[{"description": "收费台账"}])
    assert handlers.verify_chain(ledger())["ok"]
    with ledger() as uow:
        row = uow.session.execute(text("SELECT content FROM history WHERE seq = 2")).scalar_one()
        uow.session.execute(update(orm.history).where(orm.history.c.seq == 2).values(
            content=row.replace("supervisor-edu", "county")))
        uow.session.commit()
    verdict = handlers.verify_chain(ledger())
    assert verdict["ok"] is False and verdict["first_broken_seq"] == 2
    assert "edited" in verdict["problem"]


def test_maintained_counts_always_equal_a_fresh_count_of_the_ledger(ledger):
    ids = [handlers.register_problem(ledger(), accepted(40 + n, title=f"题{n}",
                                                       description=f"互不相同的描述{n}号问题"),
                                     CAMPAIGN) for n in range(4)]
    act(ledger, ids[0], "dispatch", EDU)
    act(ledger, ids[0], "verify", SCHOOL, plan=PLAN)
    act(ledger, ids[1], "dispatch", COUNTY, unit="org_gd_public_security")
    act(ledger, ids[2], "merge", COUNTY, into=ids[3])
    act(ledger, ids[2], "unmerge", COUNTY, reason="不是同一问题")
    act(ledger, ids[3], "transfer_out", COUNTY, to="县纪委", reason="涉嫌违纪")
    county = handlers.rollup(ledger(), CAMPAIGN, actor=COUNTY)
    with ledger() as uow:
        for column in ("state", "unit", "outcome", "channel"):
            fresh = dict(uow.session.execute(text(
                f"SELECT coalesce({column}, 'none'), count(*) FROM problems GROUP BY 1")).all())
            assert county["by"][column] == fresh, column
    edu = handlers.rollup(ledger(), CAMPAIGN, actor=EDU)
    assert edu["total"] == 3  # the problem dispatched to the police left the education system
