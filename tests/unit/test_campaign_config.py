"""The campaign configuration: the shipped plan loads, and broken files are refused clearly."""
from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path

import pytest
import yaml

from contracts.campaign import CampaignConfigError, load_campaign, load_default_campaign
from kit.settings import DEFAULT_CAMPAIGN_FILE

SUPERVISING_BODIES = {
    "township": "县委办公室",
    "party_department": "县直机关党委",
    "government_department": "县监察局",
    "school": "县教育局",
    "enterprise": "县财政局(国资局)",
}


@pytest.fixture(scope="module")
def campaign():
    return load_default_campaign()


@pytest.fixture(scope="module")
def shipped_raw():
    return yaml.safe_load(DEFAULT_CAMPAIGN_FILE.read_text(encoding="utf-8"))


@pytest.fixture
def raw(shipped_raw):
    return copy.deepcopy(shipped_raw)


def write(tmp_path: Path, data) -> Path:
    path = tmp_path / "campaign.yaml"
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


def refusal(path: Path) -> str:
    with pytest.raises(CampaignConfigError) as info:
        load_campaign(path)
    message = str(info.value)
    assert str(path) in message
    return message


# --- the shipped plan -------------------------------------------------------------------------

def test_shipped_campaign_has_the_plans_kinds_categories_phases_and_channels(campaign):
    assert campaign.campaign.county_zh == "盐山县"
    assert campaign.campaign.start == date(2017, 5, 1)
    assert campaign.campaign.end == date(2017, 11, 30)
    assert campaign.campaign.summary_report_due == date(2017, 11, 15)
    assert [k.name_zh for k in campaign.kinds] == ["不作为", "乱作为", "慢作为"]
    assert len(campaign.categories) == 9
    assert [p.name_zh for p in campaign.phases] == [
        "制定方案、动员部署", "全面清理、自查自纠", "集中整改、解决问题", "完善制度、总结提高"]
    assert {c.code for c in campaign.channels} == {
        "self_inspection", "online_survey", "questionnaire", "forum", "field_visit",
        "covert_experience", "special_supervisor", "letter", "phone_call",
        "public_report_platform", "partner_conduct_platform", "partner_discipline_platform",
        "covert_patrol", "media_exposure"}


def test_categories_carry_the_plans_wording_and_a_severity(campaign):
    assert all(c.code.startswith(f"c{i}_") for i, c in enumerate(campaign.categories, 1))
    assert campaign.category("c2_safety_oversight").severity == "high"
    assert campaign.category("c1_information_disclosure").severity == "normal"
    assert "涉军" in campaign.category("c8_petition_cases").description_zh


def test_staff_entered_channels_are_not_offered_to_the_public(campaign):
    assert campaign.channel("public_report_platform").public
    assert not campaign.channel("letter").public
    assert not campaign.channel("phone_call").public
    assert campaign.channel("media_exposure").group == "media"


def test_every_unit_reports_to_the_supervising_body_of_its_line(campaign):
    units = [o for o in campaign.organizations if o.type in SUPERVISING_BODIES]
    assert {o.type for o in units} == set(SUPERVISING_BODIES)
    for unit in units:
        assert campaign.supervisor_of(unit.code).name_zh == SUPERVISING_BODIES[unit.type], unit.code
        assert unit.demo


def test_supervising_bodies_report_to_the_county_office(campaign):
    bodies = [o for o in campaign.organizations if o.type in ("supervisor", "publicity")]
    assert {o.name_zh for o in bodies} == {
        "县直机关党委", "县监察局", "县教育局", "县财政局(国资局)", "县委宣传部"}
    assert all(o.reports_to == "org_county_office" and not o.demo for o in bodies)
    assert campaign.supervisor_of("org_county_office") is None


def test_a_schools_supervisor_is_the_education_bureau(campaign):
    school = next(o for o in campaign.organizations if o.type == "school")
    assert campaign.supervisor_of(school.code).name_zh == "县教育局"
    assert school in campaign.units_supervised_by("org_education_bureau")


def test_the_county_office_oversees_the_whole_tree_and_others_only_direct_reports(campaign):
    everyone = campaign.units_supervised_by("org_county_office")
    assert len(everyone) == len(campaign.organizations) - 1
    enterprises = campaign.units_supervised_by("org_finance_bureau")
    assert enterprises and all(o.type == "enterprise" for o in enterprises)
    assert campaign.units_supervised_by("org_no_such_unit") == []


def test_lookups_by_code_return_none_for_unknown_codes(campaign):
    assert campaign.kind("slowness").name_zh == "慢作为"
    assert campaign.organization("org_supervision_bureau").name_zh == "县监察局"
    assert campaign.kind("laziness") is None
    assert campaign.category("c10_other") is None
    assert campaign.channel("carrier_pigeon") is None
    assert campaign.organization("org_x") is None


def test_phase_on_a_date_follows_the_assumed_months(campaign):
    assert campaign.phase_on(date(2017, 5, 1)).code == "p1_mobilization"
    assert campaign.phase_on(date(2017, 7, 31)).name_zh == "全面清理、自查自纠"
    assert campaign.phase_on(date(2017, 11, 30)).name_zh == "完善制度、总结提高"
    assert campaign.phase_on(date(2017, 4, 30)) is None
    assert campaign.phase_on(date(2017, 12, 1)) is None


def test_public_view_is_json_and_every_item_has_code_and_chinese_name(campaign):
    view = json.loads(json.dumps(campaign.public_view(), ensure_ascii=False))
    assert view["campaign"]["start"] == "2017-05-01"
    assert view["campaign"]["name_zh"] == "不作为、乱作为、慢作为问题专项清理工作"
    sections = ("kinds", "categories", "channels", "phases", "organizations")
    for section in sections:
        assert view[section], section
        assert all(item["code"] and item["name_zh"] for item in view[section]), section
    assert set(view["categories"][0]) >= {"description_zh", "severity"}
    assert set(view["channels"][0]) >= {"group", "public"}
    assert set(view["organizations"][1]) >= {"type", "reports_to", "demo"}


# --- broken files ------------------------------------------------------------------------------

def test_a_modified_copy_that_stays_valid_loads(tmp_path, raw):
    raw["campaign"]["county_zh"] = "某县"
    assert load_campaign(write(tmp_path, raw)).campaign.county_zh == "某县"


def test_unknown_reports_to_is_refused(tmp_path, raw):
    raw["organizations"][3]["reports_to"] = "org_x"
    message = refusal(write(tmp_path, raw))
    assert "organizations[3].reports_to: unknown organization 'org_x'" in message


def test_duplicate_code_is_refused(tmp_path, raw):
    raw["categories"][4]["code"] = raw["categories"][0]["code"]
    message = refusal(write(tmp_path, raw))
    assert "categories[4].code: duplicate code 'c1_information_disclosure'" in message


def test_missing_chinese_name_is_refused(tmp_path, raw):
    del raw["organizations"][7]["name_zh"]
    message = refusal(write(tmp_path, raw))
    assert "organizations[7].name_zh: Field required" in message


def test_phase_outside_the_campaign_is_refused(tmp_path, raw):
    raw["phases"][3]["end"] = date(2017, 12, 31)
    message = refusal(write(tmp_path, raw))
    assert "phases[3].end: 2017-12-31 is after the campaign end 2017-11-30" in message


def test_overlapping_phases_are_refused(tmp_path, raw):
    raw["phases"][2]["start"] = date(2017, 7, 15)
    assert "phases[2].start: 2017-07-15 is not after" in refusal(write(tmp_path, raw))


def test_summary_report_due_after_the_campaign_is_refused(tmp_path, raw):
    raw["campaign"]["summary_report_due"] = date(2017, 12, 15)
    assert "campaign.summary_report_due: 2017-12-15 is outside" in refusal(write(tmp_path, raw))


def test_yaml_syntax_error_is_refused_with_its_line(tmp_path):
    path = write(tmp_path, "campaign:\n  code: x\n  name_zh: [unclosed\n")
    message = refusal(path)
    assert "YAML syntax error" in message and "line " in message


def test_missing_file_is_refused(tmp_path):
    path = tmp_path / "nowhere.yaml"
    assert f"{path}: (file): file not found" in refusal(path)


def test_a_date_of_the_wrong_type_is_refused(tmp_path, raw):
    raw["campaign"]["start"] = "early May"
    message = refusal(write(tmp_path, raw))
    assert "campaign.start: expected a date YYYY-MM-DD, got 'early May'" in message


def test_a_code_that_is_not_a_plain_identifier_is_refused(tmp_path, raw):
    raw["channels"][0]["code"] = "Self Inspection"
    assert "channels[0].code: String should match pattern" in refusal(write(tmp_path, raw))


def test_a_unit_outside_its_reporting_line_is_refused(tmp_path, raw):
    school = next(i for i, o in enumerate(raw["organizations"]) if o["type"] == "school")
    raw["organizations"][school]["reports_to"] = "org_supervision_bureau"
    message = refusal(write(tmp_path, raw))
    assert f"organizations[{school}].reports_to: 'org_supervision_bureau' does not match" in message
    assert "org_education_bureau" in message


def test_a_reporting_cycle_is_refused(tmp_path, raw):
    raw["organizations"][1]["reports_to"] = raw["organizations"][2]["code"]
    raw["organizations"][2]["reports_to"] = raw["organizations"][1]["code"]
    assert "organizations[1].reports_to: reporting cycle" in refusal(write(tmp_path, raw))


def test_a_second_county_office_is_refused(tmp_path, raw):
    raw["organizations"][1]["type"] = "county_office"
    del raw["organizations"][1]["reports_to"]
    assert "organizations: expected exactly one county_office, found 2" in refusal(
        write(tmp_path, raw))


def test_a_reporting_line_to_an_ordinary_unit_is_refused(tmp_path, raw):
    raw["reporting_lines"]["enterprise"] = "org_tw_yanshan"
    assert "reporting_lines.enterprise: 'org_tw_yanshan' is a township" in refusal(
        write(tmp_path, raw))


def test_an_unknown_field_is_refused_rather_than_ignored(tmp_path, raw):
    raw["organizations"][0]["reports_too"] = "org_x"
    assert "organizations[0].reports_too: Extra inputs are not permitted" in refusal(
        write(tmp_path, raw))


# --- clocks and the calendar ---------------------------------------------------------------------

def test_the_shipped_campaign_gives_every_waiting_state_its_working_days(campaign):
    days = campaign.clocks.working_days
    assert (days.registered, days.dispatched, days.verified, days.unfounded, days.rectified) == (
        5, 5, 5, 5, 5)
    assert (campaign.clocks.due_soon_days, campaign.clocks.stall_days) == (2, 10)
    assert 2027 not in campaign.calendar          # not guessed: the deadline flag shows instead


def test_a_file_without_clocks_or_calendar_still_loads_with_the_defaults(tmp_path, raw):
    del raw["clocks"], raw["calendar"]
    loaded = load_campaign(write(tmp_path, raw))
    assert loaded.clocks.working_days.verified == 5 and loaded.calendar == {}


def test_the_clocks_may_be_set_per_state(tmp_path, raw):
    raw["clocks"] = {"working_days": {"registered": 2, "rectified": 10}, "stall_days": 15}
    loaded = load_campaign(write(tmp_path, raw))
    days = loaded.clocks.working_days
    assert (days.registered, days.rectified, days.verified) == (2, 10, 5)
    assert loaded.clocks.stall_days == 15


@pytest.mark.parametrize(("value", "problem"), [
    (0, "greater than or equal to 1"), (121, "less than or equal to 120"),
    ("five", "valid integer"), (2.5, "valid integer"), (True, "valid integer")])
def test_a_bad_number_of_working_days_is_refused_naming_the_field(tmp_path, raw, value, problem):
    raw["clocks"] = {"working_days": {"verified": value}}
    message = refusal(write(tmp_path, raw))
    assert "clocks.working_days.verified: " in message and problem in message


def test_a_clock_for_a_state_that_does_not_exist_is_refused(tmp_path, raw):
    raw["clocks"] = {"working_days": {"approved": 3}}
    assert "clocks.working_days.approved: Extra inputs are not permitted" in refusal(
        write(tmp_path, raw))


def test_a_year_of_the_official_calendar_is_read_with_its_holidays_and_make_up_days(tmp_path,
                                                                                      raw):
    raw["calendar"] = {2027: {"holidays": [date(2027, 1, 1)], "workdays": [date(2027, 2, 6)]}}
    loaded = load_campaign(write(tmp_path, raw))
    assert loaded.calendar[2027].holidays == (date(2027, 1, 1),)
    assert loaded.calendar[2027].workdays == (date(2027, 2, 6),)


@pytest.mark.parametrize(("entry", "expected"), [
    ({"holidays": [date(2028, 1, 1)]}, "calendar[2027].holidays[0]: 2028-01-01 is not in 2027"),
    ({"workdays": [date(2027, 2, 3)]},
     "calendar[2027].workdays[0]: 2027-02-03 is a weekday; a make-up working day (调休)"),
    ({"holidays": [date(2027, 2, 6)], "workdays": [date(2027, 2, 6)]},
     "calendar[2027].workdays[0]: 2027-02-06 is listed twice (first at calendar[2027].holidays[0])"),
    ({"holidays": ["New Year"]}, "calendar[2027].holidays[0]: expected a date YYYY-MM-DD"),
    ({"holidays": [], "extra": []}, "calendar[2027].extra: Extra inputs are not permitted"),
])
def test_a_bad_calendar_year_is_refused_naming_the_day(tmp_path, raw, entry, expected):
    raw["calendar"] = {2027: entry}
    assert expected in refusal(write(tmp_path, raw))
