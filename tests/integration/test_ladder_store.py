"""The accountability ladder on a real store, SQLite and PostgreSQL alike (no broker): events
in propose once, the county office confirms (a step with its deadline, ``ladder.confirmed``
in the outbox, the chain entry written after) or dismisses with a reason, refusals change
nothing, the daily sweep, names by role."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from contracts.campaign import load_campaign
from contracts.events import (
    ClueAccepted, ClueFields, ProblemClockAlert, ProblemTransitioned, RecheckRecorded,
    ReportCycleEvent, SpotCheckConcluded, problem_id_for,
)
from kit.migrate import upgrade
from kit.store import Outbox
from services.audit import ladder_handlers as H
from services.audit import ladder_shell
from services.audit.adapters import ladder as store
from services.audit.adapters import orm
from services.audit.ladder import LadderRefused
from tests.integration.test_stores import uow_for

ROOT = Path(__file__).resolve().parents[2]
SCHOOL = "org_sch_yanshan_high"
POLICE = "org_gd_public_security"
NOW = datetime(2017, 9, 4, 2, 0, tzinfo=timezone.utc)  # Monday 10:00 in China, phase p3
COUNTY = {"username": "county", "role": "county_office", "org_code": "org_county_office"}


@pytest.fixture(scope="module")
def ctx():
    return ladder_shell.context_of(load_campaign(ROOT / "config" / "campaign.yaml"))


@pytest.fixture
def url(database_url):
    upgrade(ROOT / "services" / "audit", database_url)
    return database_url


def uow(url, consumer="tests.ladder"):
    return uow_for(url, orm, consumer=consumer)


def recheck(problem="p1", unit=SCHOOL, verdict="wrong", event_id=None) -> RecheckRecorded:
    return RecheckRecorded(event_id=event_id or f"rc-{problem}-{verdict}", round_id="r1",
                           item_id=problem, stratum="ordinary", unit=unit, verdict=verdict,
                           findings="群众反映属实", recheck_by="spot", problem_id=problem,
                           reopen_source="spot_check")


def rows(url, table):
    with uow(url) as u:
        return u.session.execute(select(func.count()).select_from(table)).scalar_one()


def outbox_types(url) -> list[str]:
    with uow(url) as u:
        return [r["event_type"] for r in Outbox(orm.outbox_table).pending(u.session)]


def proposals(url, ctx, status="proposed", actor=COUNTY):
    return H.list_proposals(uow(url), ctx, actor=actor, status=status)["items"]


def test_a_wrong_closure_proposes_a_notice_once_even_when_redelivered(url, ctx):
    H.on_recheck(uow(url), recheck(), ctx, NOW)
    H.on_recheck(uow(url), recheck(), ctx, NOW)               # the same message again
    H.on_recheck(uow(url), recheck(event_id="other"), ctx, NOW)  # same facts, new message
    H.on_recheck(uow(url), recheck("p2", verdict="upheld"), ctx, NOW)  # upheld: nothing
    [p] = proposals(url, ctx)
    assert (p["unit"], p["trigger"], p["step"]) == (SCHOOL, "wrong_closure", "notice")
    assert p["problem_ids"] == ["p1"]
    assert outbox_types(url) == ["ladder.proposed"]


def test_confirming_records_the_step_with_its_deadline_and_publishes_it(url, ctx):
    H.on_recheck(uow(url), recheck(), ctx, NOW)
    [p] = proposals(url, ctx)
    one = H.list_proposals(uow(url), ctx, actor=COUNTY, status="proposed", proposal_id=p["id"])
    assert [x["id"] for x in one["items"]] == [p["id"]]
    view = H.confirm(uow(url), ctx, actor=COUNTY, proposal_id=p["id"], now=NOW)
    assert view["step"] == "notice" and view["due_on"] == "2017-09-18"
    assert view["decided_by"] == "county" and view["problem_ids"] == ["p1"]
    assert outbox_types(url) == ["ladder.proposed", "ladder.confirmed"]
    [decided] = proposals(url, ctx, status="confirmed")
    assert decided["step_id"] == view["id"]
    # the chain entry, written after the commit; a failing ledger leaves it for later
    def failing(**_):
        raise ConnectionError("ledger away")
    assert ladder_shell.write_chain(lambda: uow(url), failing) == 0
    written = []

    def ledger(actor, kind, key, record):
        written.append((kind, key, record))
        return {"seq": 41, "hash": "f" * 64, "kind": kind, "key": key}
    assert ladder_shell.write_chain(lambda: uow(url), ledger) == 1
    assert ladder_shell.write_chain(lambda: uow(url), ledger) == 0
    [(kind, key, record)] = written
    assert kind == "accountability_step" and key == f"case:{view['case_id']}:notice"
    assert record["problem_ids"] == ["p1"] and record["due_on"] == "2017-09-18"
    ladder = H.unit_ladder(uow(url), ctx, actor=COUNTY, unit=SCHOOL, now=NOW)
    assert ladder["steps"][0]["chain"] == {"seq": 41, "hash": "f" * 64}
    assert ladder["next_step"] == "interview"


def test_refusals_change_nothing(url, ctx):
    H.on_recheck(uow(url), recheck(), ctx, NOW)
    [p] = proposals(url, ctx)
    spot = {"username": "spot", "role": "spot_check", "org_code": None}
    for attempt, code in (
            (lambda: H.confirm(uow(url), ctx, actor=spot, proposal_id=p["id"], now=NOW),
             "not_county_office"),
            (lambda: H.dismiss(uow(url), ctx, actor=COUNTY, proposal_id=p["id"], reason=" ",
                               now=NOW), "reason_required"),
            (lambda: H.confirm(uow(url), ctx, actor=COUNTY, proposal_id="nope", now=NOW),
             "not_found")):
        with pytest.raises(LadderRefused) as refused:
            attempt()
        assert refused.value.code == code
    assert rows(url, store.steps) == 0 and len(proposals(url, ctx)) == 1
    H.confirm(uow(url), ctx, actor=COUNTY, proposal_id=p["id"], now=NOW)
    with pytest.raises(LadderRefused) as twice:
        H.confirm(uow(url), ctx, actor=COUNTY, proposal_id=p["id"], now=NOW)
    assert twice.value.code == "already_decided"
    with pytest.raises(LadderRefused):
        H.dismiss(uow(url), ctx, actor=COUNTY, proposal_id=p["id"], reason="x", now=NOW)
    assert rows(url, store.steps) == 1
    assert outbox_types(url) == ["ladder.proposed", "ladder.confirmed"]


def test_a_dismissed_proposal_is_not_proposed_again_for_the_same_facts(url, ctx):
    H.on_recheck(uow(url), recheck(), ctx, NOW)
    [p] = proposals(url, ctx)
    done = H.dismiss(uow(url), ctx, actor=COUNTY, proposal_id=p["id"], reason="已整改到位", now=NOW)
    assert done["status"] == "dismissed" and done["dismiss_reason"] == "已整改到位"
    H.on_recheck(uow(url), recheck(event_id="again"), ctx, NOW)
    assert proposals(url, ctx) == []
    H.on_recheck(uow(url), recheck("p7"), ctx, NOW)  # other facts
    assert [x["problem_ids"] for x in proposals(url, ctx)] == [["p7"]]


def test_skipping_needs_an_allowed_reason_and_waiting_proposals_climb(url, ctx):
    finder = {"username": "spot", "role": "spot_check", "org_code": None}
    made = H.record_finding(uow(url), ctx, actor=finder, unit=POLICE, kind="falsified",
                            findings="台账记录与实际不符", evidence=["a" * 64], problem_ids=[],
                            now=NOW)
    assert made["step"] == "notice" and made["documents"] == ["a" * 64]
    H.on_recheck(uow(url), recheck("p3", unit=POLICE), ctx, NOW)
    H.confirm(uow(url), ctx, actor=COUNTY, proposal_id=made["id"], now=NOW)
    [waiting] = proposals(url, ctx)
    assert waiting["step"] == "interview"  # re-stepped after the notice
    head = {"name": "张某", "title": "局长"}
    view = H.confirm(uow(url), ctx, actor=COUNTY, proposal_id=waiting["id"], head=head,
                     now=NOW + timedelta(days=1))
    assert view["head"] == head
    # a phase floor may propose above the next step: confirming it needs a skip reason
    later = NOW.replace(month=11, day=1)  # p4_institutions: at least an interview
    H.on_recheck(uow(url), recheck("p4"), ctx, later)
    [floor] = proposals(url, ctx)
    assert floor["unit"] == SCHOOL and floor["step"] == "interview"
    with pytest.raises(LadderRefused) as refused:
        H.confirm(uow(url), ctx, actor=COUNTY, proposal_id=floor["id"], now=later)
    assert refused.value.code == "ladder_step_skipped"
    assert rows(url, store.steps) == 2
    view = H.confirm(uow(url), ctx, actor=COUNTY, proposal_id=floor["id"],
                     skip_reason="serious_consequence", now=later)
    assert view["skip_reason"] == "serious_consequence"


def test_self_found_problems_propose_the_lighter_step(url, ctx):
    def clue(cid, channel, role, org):
        return ClueAccepted(event_id=f"acc-{cid}", clue_id=cid, submitted_at=NOW,
                            submitter_role=role, submitter_org=org,
                            clue=ClueFields(channel=channel, title="t", description="d",
                                            subject_unit=SCHOOL))
    H.on_clue_accepted(uow(url), clue("own", "self_inspection", "unit_handler", SCHOOL), ctx)
    H.on_clue_accepted(uow(url), clue("pub", "public_report_platform", None, None), ctx)
    first = H.record_finding(uow(url), ctx, actor=COUNTY, unit=SCHOOL, kind="perfunctory",
                             findings="走过场", evidence=["b" * 64], problem_ids=[], now=NOW)
    H.confirm(uow(url), ctx, actor=COUNTY, proposal_id=first["id"], now=NOW)
    H.on_recheck(uow(url), recheck(problem_id_for("own")), ctx, NOW)
    H.on_recheck(uow(url), recheck(problem_id_for("pub")), ctx, NOW)
    steps = {x["problem_ids"][0]: (x["step"], x["self_found"]) for x in proposals(url, ctx)}
    assert steps == {problem_id_for("own"): ("notice", True),
                     problem_id_for("pub"): ("interview", False)}


def test_overdue_missing_reports_zero_reports_and_full_reviews_propose(url, ctx):
    def overdue(pid, days, due=date(2017, 8, 1)):
        return ProblemClockAlert(event_id=f"clk-{pid}", name="overdue", problem_id=pid,
                                 title="拖延", state="dispatched", unit=SCHOOL, due_on=due,
                                 days=days, swept_on=NOW.date())
    H.on_clock_alert(uow(url), overdue("late", 12), ctx, NOW)          # past the threshold
    H.on_clock_alert(uow(url), overdue("watched", 1, date(2017, 8, 28)), ctx, NOW)
    H.on_clock_alert(uow(url), overdue("moved", 1, date(2017, 8, 28)), ctx, NOW)
    H.on_problem_transitioned(uow(url), ProblemTransitioned(
        event_id="mv", name="verified", problem_id="moved", action="verify",
        from_state="dispatched", to_state="verified", actor="h", actor_role="unit_handler",
        history_seq=1))

    def missing(week, due):
        return ReportCycleEvent(event_id=f"miss-{week}", name="report_missing", what="weekly",
                                period=week, unit=POLICE, due_on=due)
    H.on_report_cycle(uow(url), missing("2017-W35", date(2017, 9, 5)), ctx, NOW)
    assert not any(p["trigger"] == "missing_reports" for p in proposals(url, ctx))
    H.on_report_cycle(uow(url), missing("2017-W36", date(2017, 9, 12)), ctx, NOW)
    H.on_report_cycle(uow(url), ReportCycleEvent(
        event_id="zc", name="zero_contradicted", what="weekly", period="2017-W35",
        unit=SCHOOL), ctx, NOW)
    H.on_spot_check_concluded(uow(url), SpotCheckConcluded(
        event_id="sc", round_id="r9", period="2017-09", unit=POLICE, stratum="ordinary",
        population=10, sampled=10, checked=10, errors=2, upper_bound="0.5",
        decision="full_review", full_review=True), ctx, NOW)
    H.on_spot_check_concluded(uow(url), SpotCheckConcluded(
        event_id="sc-ok", round_id="r9", period="2017-09", unit=SCHOOL, stratum="ordinary",
        population=10, sampled=10, checked=10, errors=0, upper_bound="0.2",
        decision="cleared", full_review=True), ctx, NOW)
    found = sorted((p["trigger"], p["unit"], tuple(p["problem_ids"]), p["period"])
                   for p in proposals(url, ctx))
    assert found == [("full_review_failed", POLICE, (), "2017-09"),
                     ("missing_reports", POLICE, (), "2017-09"),
                     ("overdue", SCHOOL, ("late",), "2017-08-01"),
                     ("zero_contradicted", SCHOOL, (), "2017-W35")]
    # the daily sweep: 'watched' is 10 working days overdue on 2017-09-11; 'moved' moved
    with uow(url) as u:
        counts = H.sweep(u, ctx, date(2017, 9, 11), NOW)
        u.commit()
    assert counts["proposed"] == 1
    overdue_now = {p["problem_ids"][0] for p in proposals(url, ctx) if p["trigger"] == "overdue"}
    assert overdue_now == {"late", "watched"}


def test_an_interview_whose_deadline_passed_proposes_accountability_in_the_sweep(url, ctx):
    made = H.record_finding(uow(url), ctx, actor=COUNTY, unit=SCHOOL, kind="falsified",
                            findings="弄虚作假", evidence=["c" * 64], problem_ids=[], now=NOW)
    H.confirm(uow(url), ctx, actor=COUNTY, proposal_id=made["id"], skip_reason=None, now=NOW)
    second = H.record_finding(uow(url), ctx, actor=COUNTY, unit=SCHOOL, kind="perfunctory",
                              findings="仍走过场", evidence=["d" * 64], problem_ids=[], now=NOW)
    interview = H.confirm(uow(url), ctx, actor=COUNTY, proposal_id=second["id"],
                          head={"name": "王某", "title": "校长"}, now=NOW)
    # 20 working days; Saturday 2017-09-30 was a working day (调休)
    assert interview["step"] == "interview" and interview["due_on"] == "2017-09-30"
    with uow(url) as u:
        counts = H.sweep(u, ctx, date(2017, 10, 10), NOW)
        u.commit()
    assert counts == {"deadline_passed": 2, "proposed": 1}
    [p] = proposals(url, ctx)
    assert (p["trigger"], p["step"]) == ("interview_ineffective", "accountability")
    with uow(url) as u:  # a second sweep: nothing new
        assert H.sweep(u, ctx, date(2017, 10, 11), NOW) == {"deadline_passed": 0, "proposed": 0}
    assert outbox_types(url).count("ladder.deadline_passed") == 2
    done = H.confirm(uow(url), ctx, actor=COUNTY, proposal_id=p["id"],
                     persons=[{"post": "副校长", "name": "李某"}], now=NOW)
    assert done["persons"] == [{"post": "副校长", "name": "李某"}]


def test_names_are_for_the_county_office_and_the_custodian_only(url, ctx):
    made = H.record_finding(uow(url), ctx, actor=COUNTY, unit=SCHOOL, kind="falsified",
                            findings="弄虚作假", evidence=["e" * 64], problem_ids=[], now=NOW)
    H.confirm(uow(url), ctx, actor=COUNTY, proposal_id=made["id"], now=NOW)
    second = H.record_finding(uow(url), ctx, actor=COUNTY, unit=SCHOOL, kind="falsified",
                              findings="再次弄虚作假", evidence=["f" * 64], problem_ids=[],
                              now=NOW)
    H.confirm(uow(url), ctx, actor=COUNTY, proposal_id=second["id"],
              head={"name": "王某", "title": "校长"}, now=NOW)
    readers = {
        "county_office": COUNTY,
        "custodian": {"username": "cu", "role": "custodian", "org_code": None},
        "spot_check": {"username": "sp", "role": "spot_check", "org_code": None},
        "supervisor": {"username": "su", "role": "supervisor",
                       "org_code": "org_education_bureau"},
        "unit_handler": {"username": "h", "role": "unit_handler", "org_code": SCHOOL}}
    for role, actor in readers.items():
        text = repr(H.unit_ladder(uow(url), ctx, actor=actor, unit=SCHOOL, now=NOW))
        assert ("王某" in text) is (role in ("county_office", "custodian")), role
    own = H.unit_ladder(uow(url), ctx, actor=readers["unit_handler"], unit=SCHOOL, now=NOW)
    assert own["proposals"] == [] and len(own["steps"]) == 2
    with pytest.raises(LadderRefused) as other:
        H.unit_ladder(uow(url), ctx, actor={"username": "p", "role": "unit_handler",
                                             "org_code": POLICE}, unit=SCHOOL, now=NOW)
    assert other.value.code == "not_found"
    with pytest.raises(LadderRefused):
        H.list_proposals(uow(url), ctx, actor=readers["unit_handler"], status=None)
