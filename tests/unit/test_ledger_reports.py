"""The rules of weekly, zero and summary reports and of the campaign's deadlines (pure)."""
from __future__ import annotations

from datetime import date

import pytest

from contracts.campaign import load_default_campaign
from services.ledger.domain import reports as r
from services.ledger.domain.actions import Actor
from kit.errors import CODES
from services.ledger.domain.workdays import LIBRARY
from services.ledger.refusals import refusal

CAMPAIGN = load_default_campaign()
RULES = r.Rules.of(CAMPAIGN)
SCHOOL = Actor("handler-school1", "unit_handler", "org_sch_yanshan_high")


def refused(fn, *args) -> r.ReportRefused:
    with pytest.raises(r.ReportRefused) as caught:
        fn(*args)
    assert caught.value.message_zh and caught.value.code
    return caught.value


def test_each_unit_reports_along_its_reporting_line_from_the_campaign_file():
    expected = {"org_tw_yanshan": "org_county_office",
                "org_pd_organization": "org_organs_party_committee",
                "org_gd_public_security": "org_supervision_bureau",
                "org_sch_yanshan_high": "org_education_bureau",
                "org_ent_heating": "org_finance_bureau"}
    for unit, body in expected.items():
        assert r.supervising_body(CAMPAIGN, unit) == body
    assert refused(r.supervising_body, CAMPAIGN, "org_education_bureau").code == \
        "not_a_reporting_unit"
    units = {o.code for o in r.reporting_units(CAMPAIGN)}
    assert "org_county_office" not in units and len(units) == 34


def test_a_filer_files_for_their_own_unit_only():
    assert r.check_filer(CAMPAIGN, SCHOOL, "org_sch_yanshan_high") == "org_education_bureau"
    error = refused(r.check_filer, CAMPAIGN, SCHOOL, "org_sch_no2_high")
    assert (error.code, error.status) == ("not_own_unit_report", "forbidden")
    supervisor = Actor("supervisor-edu", "supervisor", "org_education_bureau")
    assert refused(r.check_filer, CAMPAIGN, supervisor, "org_sch_yanshan_high").code == \
        "not_own_unit_report"


def test_impossible_figures_are_refused_with_the_field_named():
    assert r.check_figures("weekly", {"found": 3, "rectified": 2}) == {
        "found": 3, "rectified": 2, "cleaned_up": 0, "held_accountable": 0}
    error = refused(r.check_figures, "weekly", {"found": -1})
    assert (error.code, error.field) == ("negative_count", "figures.found")
    assert "不能为负数" in error.message_zh
    error = refused(r.check_figures, "weekly", {"found": 1, "rectified": 2})
    assert (error.code, error.field) == ("rectified_exceeds_found", "figures.rectified")
    assert refused(r.check_figures, "weekly", {"found": "3"}).code == "invalid_report"
    assert refused(r.check_figures, "weekly", {"found": True}).code == "invalid_report"
    assert refused(r.check_figures, "weekly", {"bribes": 1}).field == "figures.bribes"
    assert refused(r.check_figures, "zero", {"found": 1}).field == "figures"
    assert refused(r.check_figures, "monthly", {}).field == "kind"


def test_a_week_is_filed_only_after_it_ended_and_inside_the_campaign():
    assert r.check_period(CAMPAIGN, "weekly", "2017-W39", date(2017, 10, 2)) == (
        date(2017, 9, 25), date(2017, 10, 1))
    error = refused(r.check_period, CAMPAIGN, "weekly", "2017-W39", date(2017, 10, 1))
    assert (error.code, error.field) == ("week_not_ended", "period")
    assert refused(r.check_period, CAMPAIGN, "weekly", "2017-W02", date(2017, 10, 1)).code == \
        "invalid_report"
    assert refused(r.check_period, CAMPAIGN, "weekly", "last week", date(2017, 10, 1)).field == \
        "period"


def test_an_amendment_needs_a_reason_and_a_first_filing_does_not():
    assert r.check_amendment(None, "") is None
    assert r.check_amendment(object(), "数字填错,更正") == "数字填错,更正"
    assert refused(r.check_amendment, object(), " ").code == "amendment_reason_required"


def test_a_zero_report_is_contradicted_by_clues_that_week_or_open_problems():
    assert r.contradiction("zero", 0, 0) is None
    assert r.contradiction("zero", 2, 0) == {"clues_in_week": 2, "open_problems": 0}
    assert r.contradiction("zero", 0, 1) == {"clues_in_week": 0, "open_problems": 1}
    assert r.contradiction("weekly", 5, 5) is None


def test_a_zero_report_may_go_without_text_and_the_summary_needs_its_document():
    assert "未发现" in r.check_text("zero", "", None)
    assert refused(r.check_text, "summary", "全年工作总结", None).field == "document_sha256"
    assert refused(r.check_text, "weekly", "", None).field == "text"


def test_weekly_deadlines_fall_on_working_days_around_the_national_day():
    # week 39 ends Sunday 1 October; 2 to 8 October are off: due Monday 9 October
    w39 = r.weekly_deadline(LIBRARY, "2017-W39", RULES)
    assert w39.due_on == date(2017, 10, 9)
    assert w39.steps == {date(2017, 10, 9): "reminder", date(2017, 10, 10): "missing",
                         date(2017, 10, 11): "escalation"}
    w38 = r.weekly_deadline(LIBRARY, "2017-W38", RULES)
    assert w38.due_on == date(2017, 9, 25)
    # a whole holiday week (2 to 8 October) is no reporting week
    weeks = r.reporting_weeks(CAMPAIGN, LIBRARY)
    assert "2017-W39" in weeks and "2017-W40" not in weeks and "2017-W41" in weeks
    assert weeks[0] == "2017-W18" and weeks[-1] == "2017-W48"
    for deadline in r.campaign_deadlines(CAMPAIGN, LIBRARY, RULES):
        assert all(LIBRARY.is_workday(day) for day in deadline.steps), deadline


def test_the_summary_report_and_the_work_plan_are_reminded_before_they_are_due():
    found = {d.what: d for d in r.campaign_deadlines(CAMPAIGN, LIBRARY, RULES)}
    summary = found["summary"]
    assert summary.due_on == date(2017, 11, 15)
    assert summary.steps == {date(2017, 11, 10): "reminder", date(2017, 11, 16): "missing",
                             date(2017, 11, 17): "escalation"}
    # the first phase ends Wednesday 31 May; 28 to 30 May were off (端午), Saturday 27 worked
    plan = found["work_plan"]
    assert plan.due_on == date(2017, 5, 31) and plan.steps[date(2017, 5, 25)] == "reminder"
    on = r.steps_on(date(2017, 11, 16), list(found.values()))
    assert [(d.what, step) for d, step in on] == [("summary", "missing")]


def test_a_phase_is_announced_on_its_first_working_day():
    # phase three starts Tuesday 1 August; phase one on Monday 1 May 2017, a holiday: the 2nd
    assert [p.code for p in r.phases_starting(CAMPAIGN, LIBRARY, date(2017, 8, 1))] == [
        "p3_rectification"]
    assert r.phases_starting(CAMPAIGN, LIBRARY, date(2017, 5, 1)) == []
    assert [p.code for p in r.phases_starting(CAMPAIGN, LIBRARY, date(2017, 5, 2))] == [
        "p1_mobilization"]


def test_the_institutions_register_takes_issued_and_planned_measures():
    today = date(2017, 11, 20)
    assert r.check_measure(" 首问负责制 ", "issued", date(2017, 11, 1), today) == "首问负责制"
    assert r.check_measure("限时办结制", "planned", date(2017, 12, 31), today)
    assert refused(r.check_measure, "限时办结制", "issued", date(2017, 12, 31), today).field == "on"
    assert refused(r.check_measure, "x", "issued", today, today).field == "title"
    assert refused(r.check_measure, "限时办结制", "drafted", today, today).field == "status"


def test_a_refused_report_leaves_the_ledger_as_a_bilingual_refusal_with_a_listed_code():
    for fn, args, status in (
            (r.check_figures, ("weekly", {"found": -1}), 422),
            (r.check_period, (CAMPAIGN, "weekly", "2017-W39", date(2017, 10, 1)), 422),
            (r.check_filer, (CAMPAIGN, SCHOOL, "org_sch_no2_high"), 403),
            (r.check_amendment, (object(), ""), 422)):
        error = refusal(refused(fn, *args))
        assert error.status == status == CODES[error.code][0]
        assert error.message and error.message_zh.endswith("。") and error.field
