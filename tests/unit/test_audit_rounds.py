"""The spot-check rounds' pure rules (services/audit/rounds.py): the population, the order of
a round's steps, the seed, who may re-check what (回避), what a verdict reopens, closing, and
what a unit may learn of its sample."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest

from contracts.campaign import load_default_campaign
from contracts.vocabulary import RecheckVerdict, ReopenSource, Stratum
from services.audit import rounds as r
from services.audit.rounds import PopulationItem, RoundKind, RoundRefused, RoundStatus

CAMPAIGN = load_default_campaign()
SCHOOL = "org_sch_yanshan_high"          # supervised by the education bureau
EDU = "org_education_bureau"
TOWN = "org_tw_yanshan"                  # reports to the county office directly
AT = datetime(2017, 10, 9, 2, tzinfo=timezone.utc)


def moved(current, name="unfounded_accepted", to_state="closed", outcome="unfounded",
          category="c7_livelihood_services", seq=5, at=AT, unit=SCHOOL):
    return r.after_transition(current, name=name, problem_id="p1", to_state=to_state,
                              outcome=outcome, unit=unit, category=category,
                              history_seq=seq, occurred_at=at, campaign=CAMPAIGN)


def refusal(call, *args, **kwargs) -> RoundRefused:
    with pytest.raises(RoundRefused) as caught:
        call(*args, **kwargs)
    assert caught.value.message and caught.value.message_zh
    return caught.value


def test_the_period_is_the_county_month_of_the_closure():
    assert r.month_of(datetime(2017, 9, 30, 16, 30, tzinfo=timezone.utc)) == "2017-10"
    assert r.month_of(datetime(2017, 9, 30, 15, 30, tzinfo=timezone.utc)) == "2017-09"
    for bad in ("2017-13", "2017/10", "17-10", ""):
        assert refusal(r.check_period, bad).code == "invalid_period"


def test_a_closure_as_unfounded_enters_its_stratum_by_the_categorys_severity():
    item = moved(None)
    assert (item.stratum, item.period, item.active, item.outcome) == (
        Stratum.ORDINARY, "2017-10", True, "unfounded")
    assert moved(None, category="c2_safety_oversight").stratum is Stratum.HIGH_SEVERITY
    assert moved(None, name="struck_off", outcome="rectified").stratum is Stratum.LOOK_BACK
    assert moved(None, name="closure_unfounded", to_state="unfounded") is None  # not accepted


def test_a_reopened_problem_leaves_the_population_and_old_news_changes_nothing():
    item = moved(None, seq=5)
    gone = moved(item, name="reopened", to_state="registered", outcome=None, seq=6)
    assert gone.active is False and gone.seq == 6
    assert moved(gone, name="unfounded_accepted", seq=4) is None  # older than what is held
    back = moved(gone, seq=9)
    assert back.active is True
    kept = moved(item, name="severity_decided", to_state="closed", seq=7)
    assert kept.active is True


def test_zero_reports_and_their_contradiction_arrive_in_any_order():
    filed = r.after_report(None, name="report_filed", kind="zero", report_id="z1", unit=TOWN,
                           week="2017-W40", occurred_at=AT)
    assert filed.stratum is Stratum.ZERO_REPORT
    moved_ = r.after_report(filed, name="zero_contradicted", kind="zero", report_id="z1",
                            unit=TOWN, week="2017-W40", occurred_at=AT)
    assert moved_.stratum is Stratum.ZERO_CONTRADICTED
    first = r.after_report(None, name="zero_contradicted", kind="zero", report_id="z2",
                           unit=TOWN, week="2017-W40", occurred_at=AT)
    assert r.after_report(first, name="report_filed", kind="zero", report_id="z2", unit=TOWN,
                          week="2017-W40", occurred_at=AT) is None  # keeps contradicted
    assert r.after_report(None, name="report_filed", kind="weekly", report_id="w",
                          unit=TOWN, week="2017-W40", occurred_at=AT) is None


def test_each_kind_of_round_draws_from_its_strata_and_period():
    items = [PopulationItem("a", SCHOOL, Stratum.ORDINARY, "2017-10"),
             PopulationItem("b", SCHOOL, Stratum.LOOK_BACK, "2017-10"),
             PopulationItem("c", TOWN, Stratum.ZERO_REPORT, "2017-10"),
             PopulationItem("d", SCHOOL, Stratum.ORDINARY, "2017-09"),
             PopulationItem("e", SCHOOL, Stratum.ORDINARY, "2017-10", active=False),
             PopulationItem("f", TOWN, Stratum.ORDINARY, "2017-10")]
    ids = lambda chosen: [i.item_id for i in chosen]  # noqa: E731
    assert ids(r.round_population(items, RoundKind.SPOT_CHECK, "2017-10")) == ["a", "c", "f"]
    assert ids(r.round_population(items, RoundKind.LOOK_BACK, "2017-10")) == ["b"]
    assert ids(r.round_population(items, RoundKind.FULL_REVIEW, "2017-10", TOWN,
                                  Stratum.ORDINARY)) == ["f"]


def test_opening_names_a_known_kind_and_a_full_review_its_unit_and_stratum():
    assert r.check_opening("look_back", "2017-10", None, None, CAMPAIGN)[0] is RoundKind.LOOK_BACK
    assert refusal(r.check_opening, "sometimes", "2017-10", None, None, CAMPAIGN).code == \
        "invalid_round"
    assert refusal(r.check_opening, "full_review", "2017-10", "nowhere", "ordinary",
                   CAMPAIGN).code == "unknown_unit"
    assert refusal(r.check_opening, "full_review", "2017-10", SCHOOL, "x", CAMPAIGN).field == \
        "stratum"
    assert refusal(r.require_spot_checker, {"role": "unit_handler"}).code == "forbidden"
    r.require_spot_checker({"role": "county_office"})


def test_the_seed_comes_after_the_manifest_is_published_and_only_once():
    for status in (RoundStatus.FROZEN, RoundStatus.DRAWN, RoundStatus.CLOSED):
        assert refusal(r.check_seed_allowed, status, False).code == "manifest_not_published"
    assert refusal(r.check_seed_allowed, RoundStatus.PUBLISHED, True).code == \
        "seed_already_entered"
    r.check_seed_allowed(RoundStatus.PUBLISHED, False)
    assert r.check_seed_digits(" 01382438112797316654 ", 20) == "01382438112797316654"
    for bad in ("1" * 19, "0138243811279731665a", "１" * 20, "", "-1382438112797316654"):
        assert refusal(r.check_seed_digits, bad, 20).code == "invalid_seed"


def test_a_rechecker_is_neither_of_the_unit_nor_of_its_supervising_body():
    assert refusal(r.check_rechecker, SCHOOL, SCHOOL, CAMPAIGN).code == \
        "rechecker_not_independent"
    assert refusal(r.check_rechecker, SCHOOL, EDU, CAMPAIGN).code == "rechecker_not_independent"
    r.check_rechecker(SCHOOL, TOWN, CAMPAIGN)
    r.check_rechecker(SCHOOL, None, CAMPAIGN)  # the team's own people belong to no unit
    lenient = CAMPAIGN.model_copy(update={"spot_checks": CAMPAIGN.spot_checks.model_copy(
        update={"recheckers_exclude_supervisor": False})})
    r.check_rechecker(SCHOOL, EDU, lenient)
    assert refusal(r.check_rechecker, SCHOOL, SCHOOL, lenient).code == \
        "rechecker_not_independent"


def test_round_robin_shares_the_work_and_skips_whoever_must_step_aside():
    people = [("amy", None), ("bo", EDU), ("cy", SCHOOL)]
    items = [(f"s{i}", SCHOOL) for i in range(4)] + [(f"t{i}", TOWN) for i in range(4)]
    plan = r.round_robin(items, people, CAMPAIGN)
    assert {plan[f"s{i}"] for i in range(4)} == {"amy"}  # bo and cy step aside
    assert sorted(plan[f"t{i}"] for i in range(4)) == ["bo", "bo", "cy", "cy"]
    assert r.round_robin([("s", SCHOOL)], [("cy", SCHOOL)], CAMPAIGN) == {}
    assert r.round_robin([("t", TOWN)], people, CAMPAIGN, {"amy": 0, "bo": 3, "cy": 1}) == {
        "t": "amy"}


def test_a_wrong_closure_reopens_with_the_source_of_its_stratum():
    wrong, missing, upheld = (RecheckVerdict.WRONG, RecheckVerdict.NOT_PRODUCED,
                              RecheckVerdict.UPHELD)
    assert r.reopen_source("ordinary", wrong) is ReopenSource.SPOT_CHECK
    assert r.reopen_source("high_severity", missing) is ReopenSource.SPOT_CHECK
    assert r.reopen_source("look_back", wrong) is ReopenSource.LOOK_BACK
    assert r.reopen_source("zero_report", wrong) is None
    assert r.reopen_source("ordinary", upheld) is None
    assert r.check_verdict("wrong", "  现场核查确有其事  ") == (wrong, "现场核查确有其事")
    assert refusal(r.check_verdict, "maybe", "现场核查确有其事").code == "invalid_verdict"
    assert refusal(r.check_verdict, "wrong", "无").code == "findings_required"


def test_a_round_with_items_left_closes_only_by_the_county_office_with_a_reason():
    county, team = {"role": "county_office"}, {"role": "spot_check"}
    assert r.check_closing(team, 0, None) is None
    assert r.check_closing(team, 0, " 按期完成 ") == "按期完成"
    assert refusal(r.check_closing, team, 2, "人手不足").code == "round_not_rechecked"
    assert refusal(r.check_closing, county, 2, "  ").code == "round_not_rechecked"
    assert r.check_closing(county, 2, "人手不足") == "人手不足"


def test_a_unit_learns_of_its_sampled_item_only_when_the_recheck_reaches_it():
    unit = {"role": "unit_handler", "org_code": SCHOOL}
    body = {"role": "supervisor", "org_code": EDU}
    other = {"role": "unit_handler", "org_code": TOWN}
    assert not r.unit_may_see(unit, SCHOOL, False, False, CAMPAIGN)
    assert r.unit_may_see(unit, SCHOOL, True, False, CAMPAIGN)
    assert r.unit_may_see(unit, SCHOOL, False, True, CAMPAIGN)
    assert r.unit_may_see(body, SCHOOL, True, False, CAMPAIGN)
    assert not r.unit_may_see(body, SCHOOL, False, False, CAMPAIGN)
    assert not r.unit_may_see(other, SCHOOL, True, True, CAMPAIGN)
    assert not r.unit_may_see({"role": "media"}, SCHOOL, True, True, CAMPAIGN)


def test_population_items_are_plain_values():
    item = PopulationItem("a", SCHOOL, Stratum.ORDINARY, "2017-10")
    assert replace(item, active=False) != item
