"""The ledger's use cases against a fake unit of work (tests/fakes/ledger.py): every rule of
a handler (once per message, all or nothing, who may act, what a merge moves, work plans)
checked in milliseconds, no database. The same handlers on the real stores:
tests/integration/test_ledger_store.py."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from contracts.campaign import load_default_campaign
from contracts.events import (
    ClueAccepted, ClueFields, ContactOpened, ProblemTransitioned, WorkPlanFiled,
)
from kit.uow import apply_each, consumer_name
from services.ledger import bootstrap, custody, handlers
from services.ledger.adapters.repository import ProblemRepository
from services.ledger.adapters.uow import LedgerUnitOfWork
from services.ledger.adapters.orm import utcnow
from services.ledger.domain.access import DutiesNotSeparated, NotPermitted
from services.ledger.domain.actions import Actor, InvalidInput
from services.ledger.domain.lifecycle import IllegalTransition
from tests.fakes.ledger import FakeLedgerStore, FakeLedgerUnitOfWork

CAMPAIGN = load_default_campaign()
COUNTY = Actor("county", "county_office", "org_county_office")
COUNTY_2 = Actor("county-2", "county_office", "org_county_office")
EDU = Actor("supervisor-edu", "supervisor", "org_education_bureau")
GOV = Actor("supervisor-gov", "supervisor", "org_government_office")
SCHOOL = Actor("handler-school1", "unit_handler", "org_sch_yanshan_high")
OTHER_SCHOOL = Actor("handler-x", "unit_handler", "org_sch_no2_high")
UNIT = "org_sch_yanshan_high"
TODAY = date(2017, 6, 5)
PLAN = {"measures": "公开办事指南,设立一次性告知单", "target": "群众办事一次办结",
        "deadline": "2017-07-31", "lead_official": "李校长", "responsible_unit": UNIT,
        "responsible_person": "王老师", "handling": "time_limited"}
HANDLERS = Path(handlers.__file__).parent


@pytest.fixture
def store() -> FakeLedgerStore:
    return FakeLedgerStore()


@pytest.fixture
def uow(store):
    """A new fake unit of work on the one fake store, as the nameko Store hands them out."""
    return lambda: FakeLedgerUnitOfWork(store)


def accepted(n: int, unit=UNIT, title="学校乱收费", channel="letter",
             description="学校违规收取资料费,家长多次反映无人处理") -> ClueAccepted:
    return ClueAccepted(event_id=f"accepted-{n}", clue_id=f"clue-{n}",
                        clue=ClueFields(channel=channel, title=title, description=description,
                                        subject_unit=unit, category="c7_livelihood_services"),
                        submitted_at=utcnow())


def act(uow, problem_id, action, actor, **args) -> dict:
    return handlers.act(uow(), CAMPAIGN, problem_id=problem_id, action=action, actor=actor,
                        args=args, today=TODAY)


def registered(uow, n: int = 1, **fields) -> str:
    return handlers.register_problem(uow(), accepted(n, **fields), CAMPAIGN)


# registration ------------------------------------------------------------------------------
def test_a_clue_is_registered_once_however_often_its_message_comes(uow, store):
    pid = registered(uow)
    assert handlers.register_problem(uow(), accepted(1), CAMPAIGN) is None
    assert store.problems.count() == 1
    assert store.problems.get(pid).state.value == "registered"
    assert store.history.actions() == ["register"]
    assert [e.event_type for e in store.outbox] == ["problem_registered"]
    assert store.outbox[0].problem_id == pid and store.outbox[0].clue_id == "clue-1"
    assert [c["clue_id"] for c in store.problems.clues_of(pid)] == ["clue-1"]


def test_a_batch_of_registrations_commits_once_and_skips_what_it_applied_before(uow, store):
    consumer = consumer_name("ledger", "on_clue_accepted")
    register = lambda u, m: handlers.register_problem(u, m, CAMPAIGN)  # noqa: E731
    batch = [accepted(n, title=f"问题{n}", description=f"各不相同的描述{n}") for n in range(3)]
    assert apply_each(uow, batch, register, consumer) == [True] * 3
    assert store.commits == 1
    again = batch + [accepted(9, title="另一问题", description="另一个完全不同的描述")]
    assert apply_each(uow, again, register, consumer) == [True] * 4
    assert store.problems.count() == 4 and len(store.outbox) == 4
    assert store.history.actions() == ["register"] * 4


def test_a_similar_clue_of_the_same_unit_is_suggested_as_a_duplicate(uow, store):
    first = registered(uow, 1)
    second = registered(uow, 2, channel="phone_call")
    suggestions = store.problems.get(second).details["duplicate_suggestions"]
    assert [s["problem_id"] for s in suggestions] == [first]
    assert registered(uow, 3, unit="org_gd_public_security") is not None
    assert "duplicate_suggestions" not in store.problems.get(first).details


# lifecycle actions -------------------------------------------------------------------------
def test_an_action_moves_the_state_with_its_history_entry_and_its_event(uow, store):
    pid = registered(uow)
    view = act(uow, pid, "dispatch", EDU, respond_days=5)
    assert view["state"] == "dispatched" and store.problems.get(pid).state.value == "dispatched"
    assert store.problems.saved == [pid]
    entry = store.history.entries[-1].content
    assert (entry["action"], entry["actor"], entry["data"]["from"], entry["data"]["to"]) == (
        "dispatch", "supervisor-edu", "registered", "dispatched")
    event = store.outbox[-1]
    assert isinstance(event, ProblemTransitioned)
    assert (event.problem_id, event.action, event.from_state, event.to_state) == (
        pid, "dispatch", "registered", "dispatched")
    assert event.history_seq == store.history.head()["seq"] == 2
    assert event.supervisor == "org_education_bureau"


def test_an_action_moves_the_maintained_counts_the_rollups_read(uow, store):
    pid = registered(uow)
    assert handlers.rollup(uow(), CAMPAIGN, actor=EDU)["by"]["state"] == {"registered": 1}
    act(uow, pid, "dispatch", EDU)
    rollup = handlers.rollup(uow(), CAMPAIGN, actor=EDU)
    assert rollup["by"]["state"] == {"dispatched": 1} and rollup["total"] == 1
    assert handlers.rollup(uow(), CAMPAIGN, actor=GOV)["total"] == 0


def test_a_refused_action_changes_nothing(uow, store):
    pid = registered(uow)
    before = store.problems.get(pid)
    commits = store.commits
    with pytest.raises(IllegalTransition, match="registered"):
        act(uow, pid, "strike_off", EDU)
    with pytest.raises(NotPermitted):
        act(uow, pid, "dispatch", SCHOOL)
    with pytest.raises(handlers.ProblemNotFound):
        act(uow, pid, "dispatch", OTHER_SCHOOL)
    with pytest.raises(InvalidInput, match="action"):
        act(uow, pid, "no_such_action", EDU)
    assert store.problems.get(pid) == before
    assert store.problems.saved == []
    assert store.history.actions() == ["register"]
    assert [e.event_type for e in store.outbox] == ["problem_registered"]
    assert store.commits == commits


def test_a_unit_never_learns_that_another_units_problem_exists(uow):
    police = registered(uow, 1, unit="org_gd_public_security")
    with pytest.raises(handlers.ProblemNotFound):
        handlers.get_problem(uow(), CAMPAIGN, problem_id=police, actor=SCHOOL)
    mine = registered(uow, 2)
    listed = handlers.list_problems(uow(), CAMPAIGN, actor=SCHOOL, filters={}, limit=50,
                                    offset=0)
    assert [p["id"] for p in listed["items"]] == [mine] and listed["total"] == 1


def test_the_account_that_reported_a_step_may_not_approve_it(uow, store):
    pid = registered(uow)
    act(uow, pid, "dispatch", COUNTY)
    act(uow, pid, "verify", COUNTY, plan=PLAN, on_behalf_of=UNIT,
        reason="学校承办人调离,县委办公室代为办理")
    with pytest.raises(DutiesNotSeparated):
        act(uow, pid, "approve_plan", COUNTY)
    assert store.problems.get(pid).state.value == "verified"
    assert store.history.actions() == ["register", "dispatch", "verify"]
    act(uow, pid, "approve_plan", COUNTY_2)
    assert store.problems.get(pid).state.value == "rectifying"


def test_a_case_runs_to_strike_off_and_its_timeline_shows_every_step(uow):
    pid = registered(uow)
    act(uow, pid, "dispatch", EDU)
    act(uow, pid, "verify", SCHOOL, plan=PLAN, seriousness="ordinary")
    act(uow, pid, "approve_plan", EDU)
    act(uow, pid, "report_rectified", SCHOOL, evidence=[{"description": "公示照片"}])
    view = act(uow, pid, "strike_off", EDU, note="核查属实,准予销号")
    assert (view["state"], view["outcome"]) == ("closed", "rectified")
    full = handlers.get_problem(uow(), CAMPAIGN, problem_id=pid, actor=COUNTY)
    assert [e["action"] for e in full["timeline"]] == [
        "register", "dispatch", "verify", "approve_plan", "report_rectified", "strike_off"]


def test_a_problem_gives_the_reasons_of_its_severity_advice_once_verified(uow):
    pid = registered(uow)
    act(uow, pid, "dispatch", EDU)
    assert handlers.get_problem(uow(), CAMPAIGN, problem_id=pid,
                                actor=COUNTY)["severity_reasons"] is None
    act(uow, pid, "verify", SCHOOL, plan=PLAN, seriousness="serious")
    full = handlers.get_problem(uow(), CAMPAIGN, problem_id=pid, actor=EDU)
    why = full["severity_reasons"]
    assert why["level"] == full["severity_advice"] == "stricter"
    assert "比较严重的典型问题:严肃查处" in why["reasons_zh"]
    assert len(why["reasons"]) == len(why["reasons_zh"])


def test_every_step_binds_the_problems_row_and_an_edit_behind_its_back_is_named(uow, store):
    pid = registered(uow)
    act(uow, pid, "dispatch", EDU)
    head = handlers.chain_head(uow())
    assert handlers.verify_chain(uow())["ok"] is True
    row = store.problems.rows[pid]
    row.state, row.outcome = type(row.state)("closed"), None  # an UPDATE behind the ledger
    verdict = handlers.verify_chain(uow(), published={"seq": head["seq"], "hash": head["hash"]})
    assert verdict["ok"] is False and verdict["published"]["extended"] is True
    assert [d["problem_id"] for d in verdict["disagreeing"]] == [pid]


# merge and unmerge -------------------------------------------------------------------------
def test_a_merge_moves_every_clue_and_an_unmerge_takes_back_its_own(uow, store):
    first = registered(uow, 5)
    second = registered(uow, 6, channel="phone_call")
    act(uow, second, "merge", COUNTY, into=first)
    assert {(c["clue_id"], c["channel"], c["via"]) for c in store.problems.clues_of(first)} == {
        ("clue-5", "letter", "registered"), ("clue-6", "phone_call", "merged")}
    assert store.problems.clues_of(second) == []
    assert store.history.entries[-1].content["data"]["clues"] == ["clue-6"]
    assert store.problems.get(second).merged_into == first
    act(uow, second, "unmerge", COUNTY, reason="并非同一问题")
    assert [c["clue_id"] for c in store.problems.clues_of(first)] == ["clue-5"]
    assert [(c["clue_id"], c["via"]) for c in store.problems.clues_of(second)] == [
        ("clue-6", "registered")]
    assert store.problems.get(second).state.value == "registered"


def test_a_merge_into_a_problem_the_actor_cannot_see_is_refused_and_moves_nothing(uow, store):
    police = registered(uow, 7, unit="org_gd_public_security")
    mine = registered(uow, 8)
    with pytest.raises(InvalidInput, match="into"):
        act(uow, mine, "merge", EDU, into=police)
    assert [c["clue_id"] for c in store.problems.clues_of(mine)] == ["clue-8"]
    assert [c["clue_id"] for c in store.problems.clues_of(police)] == ["clue-7"]
    assert store.history.actions() == ["register", "register"]


# work plans --------------------------------------------------------------------------------
def test_a_work_plan_is_filed_announced_and_acknowledged_once(uow, store):
    filed = handlers.file_work_plan(uow(), CAMPAIGN, actor=SCHOOL, title="盐山中学清理工作方案",
                                    summary="成立领导小组,开展自查自纠")
    assert filed["supervisor"] == "org_education_bureau"
    assert isinstance(store.outbox[-1], WorkPlanFiled) and store.outbox[-1].plan_id == filed["id"]
    with pytest.raises(handlers.ProblemNotFound):
        handlers.acknowledge_work_plan(uow(), CAMPAIGN, actor=GOV, plan_id=filed["id"])
    handlers.acknowledge_work_plan(uow(), CAMPAIGN, actor=EDU, plan_id=filed["id"])
    with pytest.raises(InvalidInput, match="acknowledged already"):
        handlers.acknowledge_work_plan(uow(), CAMPAIGN, actor=COUNTY, plan_id=filed["id"])
    assert store.history.actions() == ["file_work_plan", "acknowledge_work_plan"]
    listed = handlers.list_work_plans(uow(), CAMPAIGN, actor=SCHOOL)["items"]
    assert [(p["id"], p["acknowledged_by"]) for p in listed] == [(filed["id"], "supervisor-edu")]
    missing = handlers.missing_work_plans(uow(), CAMPAIGN, actor=EDU)
    assert UNIT not in {m["unit"] for m in missing["missing"]}
    assert [m["unit"] for m in missing["late"]] == [UNIT]  # filed long after the 2017 phase


def test_only_a_units_handler_files_its_work_plan(uow, store):
    with pytest.raises(NotPermitted):
        handlers.file_work_plan(uow(), CAMPAIGN, actor=EDU, title="教育局方案",
                                summary="成立领导小组,开展自查自纠")
    assert store.work_plans.plans == {} and store.history.actions() == [] and not store.outbox


# custody -----------------------------------------------------------------------------------
def test_a_contact_opening_is_one_chain_entry_beside_every_timeline_once(uow, store):
    event = ContactOpened(event_id="opened-1", clue_id="clue-1", opened_by="custodian",
                          opened_by_role="custodian", reason="举报人要求反馈办理结果",
                          opened_at=utcnow())
    assert custody.record_contact_opened(uow(), event) == 1
    assert custody.record_contact_opened(uow(), event) is None
    entry = store.history.entries[0].content
    assert (entry["action"], entry["problem_id"], entry["data"]["reason"]) == (
        "contact_opened", None, "举报人要求反馈办理结果")
    assert len(store.history.entries) == 1


# the seam ----------------------------------------------------------------------------------
def test_handlers_reach_the_store_only_through_the_unit_of_works_repositories():
    for module in sorted(HANDLERS.glob("*.py")):
        source = module.read_text()
        assert re.search(r"\bsession\b|adapters import repository|import orm\b", source) \
            is None, module.name


def test_the_bootstrap_wires_ledger_units_of_work_whose_repositories_share_its_transaction(
        tmp_path):
    ledger = bootstrap.bootstrap(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        uow = ledger.new_uow()
        assert isinstance(uow, LedgerUnitOfWork) and ledger.campaign.organization(UNIT)
        with uow:
            assert isinstance(uow.problems, ProblemRepository)
            session = uow.session
            with uow:  # a batch's inner unit shares the outer one's repositories
                assert uow.problems.session is uow.history.session is session
            assert uow.views.session is uow.work_plans.session is session
        assert uow.problems is None and uow.session is None
    finally:
        ledger.engine.dispose()
    assert bootstrap.store().unit_of_work is LedgerUnitOfWork
