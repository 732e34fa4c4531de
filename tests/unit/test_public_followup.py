"""The reporter's follow-up (举报人进度查询与回访) in milliseconds: the stages derived from the
history, the words about findings meant for the public, the supplement and the return-visit
rules, and the roll-up's count of answers, against the fake ledger unit of work."""
from __future__ import annotations

import json
from datetime import date

import pytest

from contracts.campaign import load_default_campaign
from contracts.events import ClueAccepted, ClueFields
from contracts.vocabulary import Outcome, Satisfaction, State
from services.ledger import handlers
from services.ledger.adapters.orm import utcnow
from services.ledger.domain import public
from services.ledger.domain.actions import Actor, InvalidInput
from services.ledger.domain.lifecycle import IllegalTransition
from services.ledger.domain.public import AlreadyRated, ReasonRequired, public_stages
from tests.fakes.ledger import FakeLedgerStore, FakeLedgerUnitOfWork

CAMPAIGN = load_default_campaign()
TODAY = date(2017, 6, 5)
UNIT = "org_sch_yanshan_high"
EDU = Actor("supervisor-edu", "supervisor", "org_education_bureau")
EDU_2 = Actor("supervisor-edu-2", "supervisor", "org_education_bureau")
SCHOOL = Actor("handler-school1", "unit_handler", UNIT)
COUNTY = Actor("county", "county_office", "org_county_office")
ME = Actor("reporter:0123456789", "reporter")
SOMEONE_ELSE = Actor("reporter:abcdefabcd", "reporter")
PLAN = {"measures": "公开办事指南,设立一次性告知单", "target": "群众办事一次办结",
        "deadline": "2017-07-31", "lead_official": "李校长", "responsible_unit": UNIT,
        "responsible_person": "王老师", "handling": "time_limited"}
EVIDENCE = [{"description": "整改后的公示照片"}]
SECRET_NOTE = "内部说明:举报人疑似本校教师张某"


@pytest.fixture
def store() -> FakeLedgerStore:
    return FakeLedgerStore()


@pytest.fixture
def uow(store):
    return lambda: FakeLedgerUnitOfWork(store)


def act(uow, pid, action, actor, **args) -> dict:
    return handlers.act(uow(), CAMPAIGN, problem_id=pid, action=action, actor=actor,
                        args=args, today=TODAY)


def registered(uow, n=1) -> str:
    return handlers.register_problem(uow(), ClueAccepted(
        event_id=f"accepted-{n}", clue_id=f"clue-{n}", submitted_at=utcnow(),
        clue=ClueFields(channel="letter", title="学校乱收费", description="学校违规收取资料费",
                        subject_unit=UNIT, category="c7_livelihood_services")), CAMPAIGN)


def rectified(uow, pid, **words) -> None:
    act(uow, pid, "dispatch", EDU, respond_days=5, note=SECRET_NOTE)
    act(uow, pid, "verify", SCHOOL, plan=PLAN, note=SECRET_NOTE)
    act(uow, pid, "approve_plan", EDU_2, note=SECRET_NOTE)
    act(uow, pid, "report_rectified", SCHOOL, evidence=EVIDENCE, note=SECRET_NOTE, **words)


def progress(uow, pid, reporter=ME) -> dict:
    return handlers.public_progress(uow(), problem_id=pid, reporter=reporter.username)


def stages_of(answer: dict) -> list[str]:
    return [s["stage"] for s in answer["stages"]]


# ── stages from the history ──────────────────────────────────────────────────────────────────

def test_a_case_shows_each_stage_it_reached_with_its_date_and_nothing_internal(uow):
    pid = registered(uow)
    rectified(uow, pid, public_findings="已退还违规收取的资料费并公示")
    act(uow, pid, "strike_off", EDU, note=SECRET_NOTE)
    answer = progress(uow, pid)
    assert stages_of(answer) == ["registered", "dispatched", "verified", "rectified",
                                 "struck_off"]
    assert all(s["at"] and s["label_zh"] and s["label_en"] for s in answer["stages"])
    assert answer["stages"][3]["public_findings"] == "已退还违规收取的资料费并公示"
    said = json.dumps(answer, ensure_ascii=False)
    for internal in (SECRET_NOTE, "supervisor-edu", "handler-school1", "李校长", "王老师",
                     UNIT, pid, "整改后的公示照片"):
        assert internal not in said, internal


def test_a_step_sent_back_is_no_longer_shown():
    timeline = [
        {"action": "register", "at": "2017-06-01T01:00:00+00:00"},
        {"action": "dispatch", "at": "2017-06-02T01:00:00+00:00"},
        {"action": "verify", "at": "2017-06-03T01:00:00+00:00"},
        {"action": "reject_plan", "at": "2017-06-04T01:00:00+00:00"},
        {"action": "verify", "at": "2017-06-05T01:00:00+00:00"},
        {"action": "approve_plan", "at": "2017-06-06T01:00:00+00:00"},
        {"action": "report_rectified", "at": "2017-06-07T01:00:00+00:00"},
        {"action": "reject_rectification", "at": "2017-06-08T01:00:00+00:00"},
    ]
    stages = public_stages(timeline)
    assert [(s["stage"], s["at"][:10]) for s in stages] == [
        ("registered", "2017-06-01"), ("dispatched", "2017-06-02"), ("verified", "2017-06-05")]


def test_an_unfounded_finding_shows_once_accepted_in_the_public_words_never_as_written():
    timeline = [
        {"action": "register", "at": "2017-06-01T01:00:00+00:00"},
        {"action": "dispatch", "at": "2017-06-02T01:00:00+00:00"},
        {"action": "report_unfounded", "at": "2017-06-03T01:00:00+00:00",
         "data": {"findings": SECRET_NOTE, "public_findings": "经调查,未发现违规收费"}},
    ]
    assert [s["stage"] for s in public_stages(timeline)] == ["registered", "dispatched"]
    accepted = timeline + [{"action": "accept_unfounded", "at": "2017-06-04T01:00:00+00:00",
                            "data": {"note": SECRET_NOTE}}]
    last = public_stages(accepted)[-1]
    assert (last["stage"], last["public_findings"]) == ("unfounded", "经调查,未发现违规收费")
    rewritten = timeline + [{"action": "accept_unfounded", "at": "2017-06-04T01:00:00+00:00",
                             "data": {"public_findings": "经核查,反映情况不属实"}}]
    assert public_stages(rewritten)[-1]["public_findings"] == "经核查,反映情况不属实"
    unworded = [{**e, "data": {"findings": SECRET_NOTE}} for e in accepted]
    last = public_stages(unworded)[-1]
    assert last["public_findings"] is None and last["standard_zh"] == "经核查，反映的问题不属实。"
    assert SECRET_NOTE not in json.dumps(public_stages(unworded), ensure_ascii=False)


def test_a_reopened_case_shows_the_reopening_and_what_follows():
    timeline = [{"action": a, "at": f"2017-06-0{i + 1}T01:00:00+00:00"} for i, a in enumerate(
        ["register", "dispatch", "report_unfounded", "accept_unfounded", "reopen",
         "dispatch", "verify"])]
    assert [s["stage"] for s in public_stages(timeline)] == [
        "registered", "dispatched", "unfounded", "reopened", "dispatched", "verified"]


def test_the_reporter_sees_their_own_supplements_without_content_and_nobody_elses(uow):
    pid = registered(uow)
    act(uow, pid, "reporter_supplement", ME, text="收费单据已拍照上传", photos=["ab" * 32])
    act(uow, pid, "reporter_supplement", SOMEONE_ELSE, text="另一位举报人的补充")
    mine = progress(uow, pid)["stages"]
    assert [s["stage"] for s in mine] == ["registered", "supplemented"]
    assert mine[1]["photos"] == 1 and "收费单据" not in json.dumps(mine, ensure_ascii=False)
    assert stages_of(progress(uow, pid, SOMEONE_ELSE)) == ["registered", "supplemented"]


# ── adding information ─────────────────────────────────────────────────────────────────────────

def test_a_supplement_is_a_chained_history_entry_of_the_problem_and_changes_no_state(uow, store):
    pid = registered(uow)
    act(uow, pid, "dispatch", EDU, respond_days=5)
    before = store.problems.get(pid)
    act(uow, pid, "reporter_supplement", ME, text="又发现一次违规收费", photos=["CD" * 32])
    after = store.problems.get(pid)
    assert after.state is State.DISPATCHED and after.respond_by == before.respond_by
    entry = store.history.entries[-1].content
    assert (entry["action"], entry["actor"]) == ("reporter_supplement", ME.username)
    assert entry["data"]["text"] == "又发现一次违规收费"
    assert entry["data"]["photos"] == ["cd" * 32]
    assert store.outbox[-1].name == "reporter_supplemented"


def test_a_closed_case_takes_no_more_information(uow, store):
    pid = registered(uow)
    rectified(uow, pid)
    act(uow, pid, "strike_off", EDU)
    assert progress(uow, pid)["may_supplement"] is False
    entries = len(store.history.entries)
    with pytest.raises(IllegalTransition):
        act(uow, pid, "reporter_supplement", ME, text="补充一些情况")
    assert len(store.history.entries) == entries


@pytest.mark.parametrize(("args", "field"), [
    ({"text": "短"}, "text"), ({}, "text"),
    ({"text": "足够长的补充说明", "photos": ["not-a-digest"]}, "photos[0]"),
    ({"text": "足够长的补充说明", "photos": ["ab" * 32] * 6}, "photos")])
def test_a_bad_supplement_is_refused_naming_the_field(uow, store, args, field):
    pid = registered(uow)
    with pytest.raises(InvalidInput) as refused:
        act(uow, pid, "reporter_supplement", ME, **args)
    assert refused.value.field == field
    assert store.history.actions() == ["register"]


def test_no_staff_account_adds_information_as_the_reporter(uow):
    pid = registered(uow)
    with pytest.raises(Exception) as refused:
        act(uow, pid, "reporter_supplement", COUNTY, text="工作人员代填的补充")
    assert type(refused.value).__name__ == "NotPermitted"


# ── the return visit (回访满意度) ─────────────────────────────────────────────────────────────

def test_satisfaction_is_asked_only_once_there_is_an_outcome(uow):
    pid = registered(uow)
    act(uow, pid, "dispatch", EDU, respond_days=5)
    assert progress(uow, pid)["may_rate"] is False
    with pytest.raises(IllegalTransition):
        act(uow, pid, "rate_satisfaction", ME, satisfaction="satisfied")
    act(uow, pid, "verify", SCHOOL, plan=PLAN)
    act(uow, pid, "approve_plan", EDU)
    act(uow, pid, "report_rectified", SCHOOL, evidence=EVIDENCE)
    assert progress(uow, pid)["may_rate"] is True


@pytest.mark.parametrize("state, outcome, ratable", [
    (State.RECTIFIED, None, True), (State.CLOSED, Outcome.RECTIFIED, True),
    (State.CLOSED, Outcome.UNFOUNDED, True), (State.CLOSED, Outcome.MERGED, False),
    (State.CLOSED, Outcome.TRANSFERRED, False), (State.UNFOUNDED, None, False),
    (State.RECTIFYING, None, False), (State.REGISTERED, None, False)])
def test_which_outcomes_are_rated(state, outcome, ratable):
    assert public.ratable(state, outcome) is ratable


def test_not_satisfied_needs_a_reason():
    with pytest.raises(ReasonRequired):
        public.rate({}, by="r", satisfaction=Satisfaction.NOT_SATISFIED, reason="  ",
                    on="2017-06-05")
    details: dict = {}
    record = public.rate(details, by="r", satisfaction=Satisfaction.NOT_SATISFIED,
                         reason="收费仍未退还", on="2017-06-05")
    assert record["satisfaction_zh"] == "不满意" and details["satisfaction"] == [record]


def test_one_answer_per_receipt_per_outcome_the_first_stands_and_a_reopening_asks_again():
    details: dict = {}
    public.rate(details, by="r", satisfaction=Satisfaction.SATISFIED, reason=None, on="d1")
    with pytest.raises(AlreadyRated):
        public.rate(details, by="r", satisfaction=Satisfaction.NOT_SATISFIED, reason="x",
                    on="d2")
    public.rate(details, by="other", satisfaction=Satisfaction.BASICALLY_SATISFIED,
                reason=None, on="d2")
    assert public.rating_of(details, "r")["satisfaction"] == "satisfied"
    details["reopened"] = [{"source": "reporter_dispute"}]
    assert public.rating_of(details, "r") is None
    public.rate(details, by="r", satisfaction=Satisfaction.SATISFIED, reason=None, on="d3")
    assert len(details["satisfaction"]) == 3


def test_a_rating_is_recorded_in_the_chain_and_counted_in_the_rollup_by_value_per_unit(
        uow, store):
    first, second = registered(uow, 1), registered(uow, 2)
    for pid in (first, second):
        rectified(uow, pid)
    act(uow, first, "rate_satisfaction", ME, satisfaction="satisfied")
    act(uow, second, "rate_satisfaction", ME, satisfaction="not_satisfied",
        reason="资料费只退了一半")
    entry = store.history.entries[-1].content
    assert (entry["action"], entry["data"]["satisfaction"], entry["data"]["reason"]) == (
        "rate_satisfaction", "not_satisfied", "资料费只退了一半")
    assert progress(uow, second)["rating"]["label_zh"] == "不满意"
    rollup = handlers.rollup(uow(), CAMPAIGN, actor=COUNTY)
    assert rollup["by"]["satisfaction"] == {"satisfied": 1, "not_satisfied": 1}
    school = next(u for u in rollup["units"] if u["unit"] == UNIT)
    assert school["satisfaction"] == {"satisfied": 1, "not_satisfied": 1}
    assert (school["satisfaction_answers"], school["satisfaction_rate"]) == (2, 0.5)
    assert handlers.rollup(uow(), CAMPAIGN, actor=EDU)["by"]["satisfaction"] == {
        "satisfied": 1, "not_satisfied": 1}


def test_a_second_rating_is_refused_and_changes_nothing(uow, store):
    pid = registered(uow)
    rectified(uow, pid)
    act(uow, pid, "rate_satisfaction", ME, satisfaction="basically_satisfied")
    entries, counts = len(store.history.entries), dict(store.problems.counts)
    with pytest.raises(AlreadyRated):
        act(uow, pid, "rate_satisfaction", ME, satisfaction="not_satisfied", reason="改主意了")
    assert len(store.history.entries) == entries and dict(store.problems.counts) == counts
    assert progress(uow, pid)["rating"]["satisfaction"] == "basically_satisfied"
    assert progress(uow, pid)["may_rate"] is False


def test_not_satisfied_without_a_reason_is_refused_naming_the_reason(uow, store):
    pid = registered(uow)
    rectified(uow, pid)
    with pytest.raises(InvalidInput) as refused:
        act(uow, pid, "rate_satisfaction", ME, satisfaction="not_satisfied")
    assert refused.value.field == "reason" and "不满意" in refused.value.message_zh
    with pytest.raises(InvalidInput) as refused:
        act(uow, pid, "rate_satisfaction", ME, satisfaction="delighted")
    assert refused.value.field == "satisfaction"
    assert "rate_satisfaction" not in store.history.actions()
