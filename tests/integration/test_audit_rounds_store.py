"""Spot-check rounds (抽查轮次) on real stores, SQLite and PostgreSQL alike: the audit's
population from the ledger's own events, a round's manifest and seed on the ledger's chain
(``records.append``), the draw, re-checks with their refusals, the ledger reopening a wrong
closure, a unit kept from its sample, the close with its figures, the published files
re-deriving those figures (no broker: each service's outbox is handed to the other)."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from contracts.events import AccountChanged, ProblemTransitioned, RecheckRecorded
from kit.db import make_engine
from kit.migrate import upgrade
from kit.store import Inbox, Outbox
from kit.uow import UnitOfWork
from services.audit import round_handlers as rounds
from services.audit import rederive, sampling
from services.audit.adapters import orm as audit_orm
from services.audit.rounds import RoundRefused
from services.ledger import handlers
from services.ledger.adapters import orm as ledger_orm
from services.ledger.domain.actions import Actor
from services.ledger.handlers import rechecks, records
from tests.integration.test_ledger_store import CAMPAIGN, EDU, SCHOOL, accepted, act, ledger  # noqa: F401
from tests.integration.test_stores import ROOT

CHECKER = {"username": "checker-a", "role": "spot_check", "org_code": None}
SAME_UNIT = {"username": "checker-school", "role": "spot_check",
             "org_code": "org_sch_yanshan_high"}
SUPERVISING = {"username": "checker-edu", "role": "spot_check",
               "org_code": "org_education_bureau"}
COUNTY = {"username": "county", "role": "county_office", "org_code": "org_county_office"}
UNIT = {"username": "handler-school1", "role": "unit_handler",
        "org_code": "org_sch_yanshan_high"}
SEED = "01382438112797316654"


@pytest.fixture
def audit(new_database):
    url = new_database("audit")
    upgrade(ROOT / "services" / "audit", url)
    factory = sessionmaker(make_engine(url), expire_on_commit=False)
    return lambda: UnitOfWork(factory, Outbox(audit_orm.outbox_table),
                              Inbox(audit_orm.inbox_table), consumer="tests.audit")


def pending(uow_factory, table) -> list[dict]:
    with uow_factory() as uow:
        return Outbox(table).pending(uow.session, limit=10_000)


def feed_transitions(audit, ledger, seen: set) -> None:
    for row in pending(ledger, ledger_orm.outbox_table):
        if row["event_type"].startswith("problem.") and row["event_id"] not in seen \
                and row["event_type"] != "problem_registered":
            seen.add(row["event_id"])
            rounds.observe_transition(audit(), ProblemTransitioned.model_validate(
                row["body"]), CAMPAIGN)


def closed_unfounded(ledger, n: int) -> str:
    pid = handlers.register_problem(ledger(), accepted(n), CAMPAIGN)
    act(ledger, pid, "dispatch", EDU, respond_days=5)
    act(ledger, pid, "report_unfounded", SCHOOL, findings="经核查,未收取任何费用",
        evidence=[{"description": "收费台账"}])
    act(ledger, pid, "accept_unfounded", EDU)
    return pid


def directory(audit, *people) -> None:
    for i, p in enumerate(people):
        rounds.record_account(audit(), AccountChanged(
            account_id=f"acc-{i}", username=p["username"], display_name=p["username"],
            role=p["role"], org_code=p["org_code"], occurred_at=datetime.now(timezone.utc)))


def refused(code: str, call, *args, **kwargs) -> RoundRefused:
    with pytest.raises(RoundRefused) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value.message
    assert caught.value.message_zh and caught.value.message
    return caught.value


def test_a_round_from_closures_to_results_on_the_chain(audit, ledger):
    ids = [closed_unfounded(ledger, n) for n in range(1, 13)]
    seen: set = set()
    feed_transitions(audit, ledger, seen)
    period = datetime.now(rounds.rules.COUNTY_TZ).strftime("%Y-%m")
    counts = rounds.population(audit(), CHECKER, period)["groups"]
    assert counts == [{"unit": "org_sch_yanshan_high", "stratum": "ordinary", "items": 12}]
    with audit() as uow:  # observations keep what the strata need
        kept = uow.session.execute(select(audit_orm.observations.c.outcome,
                                          audit_orm.observations.c.category).where(
            audit_orm.observations.c.event_type == "problem.unfounded_accepted")).all()
    assert set(kept) == {("unfounded", "c7_livelihood_services")} and len(kept) == 12
    directory(audit, CHECKER, SAME_UNIT, SUPERVISING)

    chain_actor = Actor("audit", "spot_check", None)
    append = lambda kind, key, record: records.append(  # noqa: E731
        ledger(), actor=chain_actor, kind=kind, key=key, record=record)

    refused("forbidden", rounds.open_round, audit(), CAMPAIGN, UNIT, kind="spot_check",
            period=period)
    round_id = rounds.open_round(audit(), CAMPAIGN, CHECKER, kind="spot_check", period=period)
    # the seed is refused before the manifest is on the chain, and nothing changes
    refused("manifest_not_published", rounds.enter_seed, audit(), CAMPAIGN, CHECKER,
            round_id, SEED)
    assert rounds.get_round(audit(), CHECKER, round_id)["seed"] is None
    rounds.publish_pending(audit(), round_id, append)
    rounds.publish_pending(audit(), round_id, append)  # a retry: the same entry
    view = rounds.get_round(audit(), CHECKER, round_id)
    entries = records.listing(ledger(), actor=Actor("county", "county_office", None),
                              kind="spot_check_manifest")["items"]
    assert [e["seq"] for e in entries] == [view["manifest_entry"]["seq"]]
    assert entries[0]["record"]["manifest_sha256"] == view["manifest_sha256"]
    refused("invalid_seed", rounds.enter_seed, audit(), CAMPAIGN, CHECKER, round_id, "12345")
    refused("invalid_seed", rounds.enter_seed, audit(), CAMPAIGN, CHECKER, round_id,
            "0138243811279731665x")
    rounds.enter_seed(audit(), CAMPAIGN, CHECKER, round_id, SEED)
    refused("seed_already_entered", rounds.enter_seed, audit(), CAMPAIGN, CHECKER, round_id,
            "9" * 20)
    rounds.publish_pending(audit(), round_id, append)
    view = rounds.get_round(audit(), CHECKER, round_id)
    assert view["seed"] == SEED and view["seed_entry"]["seq"] > view["manifest_entry"]["seq"]
    manifest = rounds.download(audit(), CHECKER, round_id, "manifest.tsv")["text"].encode()
    params = sampling.parse_params(
        rounds.download(audit(), CHECKER, round_id, "params.json")["text"].encode())
    drawn = sampling.draw(sampling.parse_manifest(manifest), SEED, params)
    sampled = [i["item_id"] for i in view["items"]]
    assert sampled == list(drawn.groups[0].sampled) and len(sampled) == drawn.groups[0].n
    outside = next(pid for pid in ids if pid not in sampled)

    # independence: neither the unit nor its supervising body re-checks it
    refused("rechecker_not_independent", rounds.assign, audit(), CAMPAIGN, CHECKER, round_id,
            item_ids=[sampled[0]], rechecker="checker-school")
    refused("rechecker_not_independent", rounds.assign, audit(), CAMPAIGN, CHECKER, round_id,
            item_ids=[sampled[0]], rechecker="checker-edu")
    plan = rounds.assign(audit(), CAMPAIGN, CHECKER, round_id)  # in turn: only checker-a
    assert set(plan["assigned"].values()) == {"checker-a"} and plan["left"] == 0

    # the unit sees nothing of its sample until the re-check reaches it
    assert rounds.unit_items(audit(), CAMPAIGN, UNIT)["items"] == []
    refused("forbidden", rounds.get_round, audit(), UNIT, round_id)
    rounds.request_material(audit(), CHECKER, round_id, sampled[0])
    assert [i["item_id"] for i in rounds.unit_items(audit(), CAMPAIGN, UNIT)["items"]] == [
        sampled[0]]

    other = {**CHECKER, "username": "checker-b"}
    refused("not_assigned", rounds.record_recheck, audit(), CAMPAIGN, other, round_id,
            sampled[0], verdict="wrong", findings="现场核查发现确有收费")
    refused("not_in_sample", rounds.record_recheck, audit(), CAMPAIGN, CHECKER, round_id,
            outside, verdict="upheld", findings="材料齐全,结论属实")
    refused("findings_required", rounds.record_recheck, audit(), CAMPAIGN, CHECKER, round_id,
            sampled[0], verdict="wrong", findings="")
    rounds.record_recheck(audit(), CAMPAIGN, CHECKER, round_id, sampled[0], verdict="wrong",
                          findings="现场核查发现确有收费", evidence=["ab" * 32])
    refused("already_rechecked", rounds.record_recheck, audit(), CAMPAIGN, CHECKER, round_id,
            sampled[0], verdict="upheld", findings="材料齐全,结论属实")
    for item_id in sampled[1:-1]:
        rounds.record_recheck(audit(), CAMPAIGN, CHECKER, round_id, item_id,
                              verdict="upheld", findings="材料齐全,结论属实")

    # the ledger reopens the wrong closure, as the re-checker, once
    messages = [RecheckRecorded.model_validate(r["body"])
                for r in pending(audit, audit_orm.outbox_table)
                if r["event_type"].startswith("recheck.")]
    wrong = next(m for m in messages if m.verdict == "wrong")
    assert (wrong.problem_id, wrong.reopen_source) == (sampled[0], "spot_check")
    assert all(m.reopen_source is None for m in messages if m.verdict == "upheld")
    assert rechecks.reopen_after_recheck(ledger(), CAMPAIGN, wrong) == "registered"
    assert rechecks.reopen_after_recheck(ledger(), CAMPAIGN, wrong) is None
    again = wrong.model_copy(update={"event_id": "another-message"})
    assert rechecks.reopen_after_recheck(ledger(), CAMPAIGN, again) is None  # not closed: skip
    problem = handlers.get_problem(ledger(), CAMPAIGN, problem_id=sampled[0],
                                   actor=Actor("county", "county_office", None))
    reopen = problem["timeline"][-1]
    assert reopen["action"] == "reopen" and reopen["actor"] == "checker-a"
    assert reopen["data"]["source"] == "spot_check"
    feed_transitions(audit, ledger, seen)  # the reopened problem leaves the population
    assert rounds.population(audit(), CHECKER, period)["groups"][0]["items"] == 11

    # closing: one item left, so only the county office with a reason
    refused("round_not_rechecked", rounds.close_round, audit(), CAMPAIGN, CHECKER, round_id)
    refused("round_not_rechecked", rounds.close_round, audit(), CAMPAIGN, COUNTY, round_id, "")
    figures = rounds.close_round(audit(), CAMPAIGN, COUNTY, round_id, "复查人员调离,未能完成")
    assert len(figures) == 1
    f = figures[0]
    assert (f["population"], f["sampled"], f["checked"], f["errors"], f["decision"]) == (
        12, len(sampled), len(sampled), 2, "full_review")
    rounds.publish_pending(audit(), round_id, append)
    view = rounds.get_round(audit(), CHECKER, round_id)
    assert view["status"] == "closed" and view["closed_entry"]["seq"] > view["seed_entry"]["seq"]
    assert handlers.verify_chain(ledger())["ok"] is True
    concluded = [r for r in pending(audit, audit_orm.outbox_table)
                 if r["event_type"] == "spot_check_concluded"]
    assert [(c["body"]["unit"], c["body"]["errors"]) for c in concluded] == [
        ("org_sch_yanshan_high", 2)]
    results = rounds.results(audit(), CAMPAIGN, COUNTY, period)
    assert results["items"][0]["decision"] == "full_review"
    assert rounds.results(audit(), CAMPAIGN, UNIT, period)["items"] == results["items"]
    # after the close the unit sees its items of the round, with the verdicts
    seen_by_unit = rounds.unit_items(audit(), CAMPAIGN, UNIT)["items"]
    assert len(seen_by_unit) == len(sampled) and all(i["verdict"] for i in seen_by_unit)

    # the published files re-derive the figures
    verdicts = json.loads(rounds.download(audit(), CHECKER, round_id, "verdicts.json")["text"])
    again = sampling.evaluate(drawn, verdicts, params)
    assert [(g.errors, g.decision.value, g.bound_text) for g in again] == [
        (f["errors"], f["decision"], f["upper_bound"])]
    published = {name: rounds.download(audit(), CHECKER, round_id, name)["text"].encode()
                 for name in ("manifest.tsv", "params.json", "seed.txt", "verdicts.json",
                              "results.json")}
    assert rederive.rederive(published["manifest.tsv"],
                             rederive.read_seed(published["seed.txt"].decode()),
                             published["params.json"], published["verdicts.json"]) == \
        published["results.json"]
    refused("round_closed", rounds.assign, audit(), CAMPAIGN, CHECKER, round_id)


def test_zero_reports_and_struck_off_problems_make_their_own_strata(audit):
    from contracts.events import ReportCycleEvent
    when = datetime(2017, 10, 9, 2, tzinfo=timezone.utc)
    filed = ReportCycleEvent(event_id="r1", name="report_filed", what="weekly",
                             period="2017-W40", unit="org_tw_yanshan", kind="zero",
                             report_id="rep-1", occurred_at=when)
    rounds.record_report(audit(), filed)
    rounds.record_report(audit(), filed)  # redelivered: once
    rounds.record_report(audit(), ReportCycleEvent(
        event_id="r2", name="zero_contradicted", what="weekly", period="2017-W40",
        unit="org_tw_yanshan", kind="zero", report_id="rep-1", occurred_at=when))
    rounds.record_report(audit(), ReportCycleEvent(
        event_id="r3", name="report_filed", what="weekly", period="2017-W40",
        unit="org_tw_wangshu", kind="zero", report_id="rep-2", occurred_at=when))
    rounds.record_report(audit(), ReportCycleEvent(
        event_id="r4", name="report_amended", what="weekly", period="2017-W40",
        unit="org_tw_wangshu", kind="weekly", report_id="rep-3", occurred_at=when))
    groups = rounds.population(audit(), CHECKER, "2017-10")["groups"]
    assert groups == [{"unit": "org_tw_yanshan", "stratum": "zero_contradicted", "items": 1}]
    refused("empty_population", rounds.open_round, audit(), CAMPAIGN, CHECKER,
            kind="look_back", period="2017-10")
    refused("invalid_period", rounds.open_round, audit(), CAMPAIGN, CHECKER,
            kind="spot_check", period="2017-13")


def test_a_crash_between_the_audits_commit_and_the_chain_is_repaired_by_a_retry(audit, ledger):
    """The ledger away (or the process killed) after the round is frozen: the round waits,
    its seed is refused, and the retry appends the very entry once."""
    closed_unfounded(ledger, 40)
    seen: set = set()
    feed_transitions(audit, ledger, seen)
    period = datetime.now(rounds.rules.COUNTY_TZ).strftime("%Y-%m")
    round_id = rounds.open_round(audit(), CAMPAIGN, CHECKER, kind="spot_check", period=period)
    calls = []

    def away(kind, key, record):
        calls.append(key)
        raise ConnectionError("the ledger is away")
    assert rounds.publish_all_pending(audit(), away) == 0 and calls == [f"round:{round_id}"]
    view = rounds.get_round(audit(), CHECKER, round_id)
    assert view["status"] == "frozen" and view["manifest_entry"] is None
    refused("manifest_not_published", rounds.enter_seed, audit(), CAMPAIGN, CHECKER,
            round_id, SEED)

    chain_actor = Actor("audit", "spot_check", None)
    appended = []

    def append_then_crash(kind, key, record):
        answer = records.append(ledger(), actor=chain_actor, kind=kind, key=key, record=record)
        appended.append(answer["seq"])
        raise ConnectionError("killed before the audit recorded the entry")
    assert rounds.publish_all_pending(audit(), append_then_crash) == 0
    assert rounds.get_round(audit(), CHECKER, round_id)["manifest_entry"] is None

    def append(kind, key, record):
        answer = records.append(ledger(), actor=chain_actor, kind=kind, key=key, record=record)
        appended.append(answer["seq"])
        return answer
    assert rounds.publish_all_pending(audit(), append) == 1
    view = rounds.get_round(audit(), CHECKER, round_id)
    assert view["status"] == "published" and appended[0] == appended[1]  # the first entry
    assert view["manifest_entry"]["seq"] == appended[0]
    assert rounds.publish_all_pending(audit(), away) == 0  # nothing pending: no call
    assert len(calls) == 1
    assert handlers.verify_chain(ledger())["ok"] is True


def test_a_look_back_round_reopens_a_struck_off_problem_with_source_look_back(audit, ledger):
    from tests.integration.test_ledger_store import PLAN
    pid = handlers.register_problem(ledger(), accepted(50), CAMPAIGN)
    act(ledger, pid, "dispatch", EDU, respond_days=5)
    act(ledger, pid, "verify", SCHOOL, plan=PLAN, seriousness="ordinary")
    act(ledger, pid, "approve_plan", EDU)
    act(ledger, pid, "report_rectified", SCHOOL, evidence=[{"description": "公示照片"}])
    act(ledger, pid, "strike_off", EDU, note="核查属实,准予销号")
    feed_transitions(audit, ledger, set())
    period = datetime.now(rounds.rules.COUNTY_TZ).strftime("%Y-%m")
    refused("empty_population", rounds.open_round, audit(), CAMPAIGN, CHECKER,
            kind="full_review", period=period, unit=UNIT["org_code"], stratum="ordinary")
    round_id = rounds.open_round(audit(), CAMPAIGN, COUNTY, kind="look_back", period=period)
    chain_actor = Actor("audit", "spot_check", None)
    rounds.publish_pending(audit(), round_id, lambda kind, key, record: records.append(
        ledger(), actor=chain_actor, kind=kind, key=key, record=record))
    rounds.enter_seed(audit(), CAMPAIGN, COUNTY, round_id, SEED)
    directory(audit, CHECKER)
    rounds.assign(audit(), CAMPAIGN, COUNTY, round_id, item_ids=[pid], rechecker="checker-a")
    rounds.record_recheck(audit(), CAMPAIGN, CHECKER, round_id, pid, verdict="wrong",
                          findings="回头看发现问题反弹,整改未落实")
    message = next(RecheckRecorded.model_validate(r["body"])
                   for r in pending(audit, audit_orm.outbox_table)
                   if r["event_type"].startswith("recheck."))
    assert (message.stratum, message.reopen_source) == ("look_back", "look_back")
    assert rechecks.reopen_after_recheck(ledger(), CAMPAIGN, message) == "registered"
    figures = rounds.close_round(audit(), CAMPAIGN, CHECKER, round_id)
    assert [(f["stratum"], f["errors"], f["decision"]) for f in figures] == [
        ("look_back", 1, "full_review")]


def test_a_full_review_checks_every_item_of_one_unit_and_stratum(audit, ledger):
    ids = [closed_unfounded(ledger, n) for n in (60, 61)]
    feed_transitions(audit, ledger, set())
    period = datetime.now(rounds.rules.COUNTY_TZ).strftime("%Y-%m")
    round_id = rounds.open_round(audit(), CAMPAIGN, COUNTY, kind="full_review", period=period,
                                 unit=UNIT["org_code"], stratum="ordinary")
    chain_actor = Actor("audit", "county_office", None)
    rounds.publish_pending(audit(), round_id, lambda kind, key, record: records.append(
        ledger(), actor=chain_actor, kind=kind, key=key, record=record))
    rounds.enter_seed(audit(), CAMPAIGN, COUNTY, round_id, SEED)
    view = rounds.get_round(audit(), COUNTY, round_id)
    assert sorted(i["item_id"] for i in view["items"]) == sorted(ids)
    directory(audit, CHECKER)
    rounds.assign(audit(), CAMPAIGN, COUNTY, round_id)
    for item_id in ids:
        rounds.record_recheck(audit(), CAMPAIGN, CHECKER, round_id, item_id, verdict="upheld",
                              findings="材料齐全,结论属实")
    figures = rounds.close_round(audit(), CAMPAIGN, COUNTY, round_id)
    assert [(f["population"], f["sampled"], f["errors"], f["decision"], f["full_review"])
            for f in figures] == [(2, 2, 0, "cleared", True)]
