"""宽严相济 (四(三)): self-found and actively rectified → lighter; serious → stricter; the later in the
campaign, the stricter. Advice only; the campaign file configures it and is checked on load."""
from __future__ import annotations

import copy
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml

from contracts.campaign import CampaignConfigError, load_campaign, load_default_campaign
from kit.settings import DEFAULT_CAMPAIGN_FILE
from services.ledger.domain.lifecycle import Problem
from services.ledger.domain.plan import HandlingClass, RectificationPlan
from services.ledger.domain.severity import LEVELS, advise, advise_level, is_self_found

P1_DAY = datetime(2017, 5, 10, 9, 0)    # 制定方案、动员部署
P2_DAY = datetime(2017, 6, 20, 9, 0)    # 全面清理、自查自纠
P3_DAY = datetime(2017, 9, 5, 9, 0)     # 集中整改、解决问题


@pytest.fixture(scope="module")
def campaign():
    return load_default_campaign()


@pytest.fixture
def raw():
    return copy.deepcopy(yaml.safe_load(DEFAULT_CAMPAIGN_FILE.read_text(encoding="utf-8")))


def problem(*, channel="letter", self_found=False, seriousness="ordinary", phase=None,
            registered_at=P2_DAY, category="c5_government_services", plan=None) -> Problem:
    return Problem(
        id="p-1", clue_id="c-1", channel=channel, title="窗口推诿", description="办证跑三趟",
        unit="org_gd_administrative_approval", category=category, kind="inaction",
        registered_at=registered_at, self_found=self_found, seriousness=seriousness,
        confirmed_phase=phase, plan=plan)


def a_plan() -> RectificationPlan:
    return RectificationPlan(
        measures="推行一次性告知", target="群众办事最多跑一次", deadline=date(2017, 7, 31),
        lead_official="张局长", responsible_unit="org_gd_administrative_approval",
        responsible_person="李科长", handling=HandlingClass.TIME_LIMITED)


def load_modified(tmp_path: Path, raw: dict):
    path = tmp_path / "campaign.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return load_campaign(path)


# --- the shipped rules ------------------------------------------------------------------------

def test_shipped_campaign_configures_the_plans_leniency_and_strictness(campaign):
    rules = campaign.severity_rules()
    assert rules is campaign.severity_advice
    assert rules.self_found_channel_groups == ("self_inspection",)
    assert [rules.phase_shift[p.code] for p in campaign.phases] == [0, 0, 1, 1]
    assert rules.serious_is == "stricter"


def test_only_self_inspection_clues_count_as_self_found(campaign):
    assert is_self_found("self_inspection", campaign, subject_unit="org_gd_public_security",
                         submitter_role="unit_handler", submitter_org="org_gd_public_security")
    assert not is_self_found("self_inspection", campaign)
    assert not is_self_found("letter", campaign)
    assert not is_self_found("covert_patrol", campaign)
    assert not is_self_found("no_such_channel", campaign)


# --- 从轻 ----------------------------------------------------------------------------------------

def test_self_found_and_actively_rectified_is_advised_lighter(campaign):
    advice = advise(problem(channel="self_inspection", self_found=True), campaign,
                    actively_rectified=True)
    assert advice.level == "lighter"
    assert any("自查自纠" in r for r in advice.reasons_zh)
    assert len(advice.reasons) == len(advice.reasons_zh)


def test_self_found_without_active_rectification_gets_no_reduction(campaign):
    advice = advise(problem(channel="self_inspection", self_found=True), campaign,
                    actively_rectified=False)
    assert advice.level == "standard"


def test_actively_rectifying_a_reported_problem_is_not_self_correction(campaign):
    advice = advise(problem(channel="letter"), campaign, actively_rectified=True)
    assert advice.level == "standard"
    assert advice.reasons and advice.reasons_zh


# --- 严肃查处 -------------------------------------------------------------------------------------

def test_a_serious_typical_case_is_advised_stricter(campaign):
    advice = advise(problem(seriousness="serious"), campaign, actively_rectified=False)
    assert advice.level == "stricter"
    assert any("严肃查处" in r for r in advice.reasons_zh)


def test_self_correction_does_not_soften_a_serious_case_under_the_shipped_rule(campaign):
    p = problem(channel="self_inspection", self_found=True, seriousness="serious")
    assert advise(p, campaign, actively_rectified=True).level == "stricter"


def test_one_step_stricter_lets_self_correction_offset_seriousness(tmp_path, raw):
    raw["severity_advice"]["serious_is"] = "one_step_stricter"
    c = load_modified(tmp_path, raw)
    p = problem(channel="self_inspection", self_found=True, seriousness="serious")
    assert advise(p, c, actively_rectified=True).level == "standard"
    assert advise(problem(seriousness="serious"), c, actively_rectified=False).level == "stricter"


# --- 越往后执纪越严 ---------------------------------------------------------------------------------

def test_the_same_problem_confirmed_later_in_the_campaign_is_advised_stricter(campaign):
    early = advise(problem(phase="p1_mobilization", registered_at=P1_DAY), campaign,
                   actively_rectified=False)
    late = advise(problem(phase="p3_rectification", registered_at=P1_DAY), campaign,
                  actively_rectified=False)
    assert (early.level, late.level) == ("standard", "stricter")
    assert LEVELS.index(late.level) > LEVELS.index(early.level)
    assert any("越往后执纪越严" in r for r in late.reasons_zh)


def test_self_correction_late_in_the_campaign_earns_less_than_early(campaign):
    own = dict(channel="self_inspection", self_found=True)
    early = advise(problem(phase="p2_self_inspection", **own), campaign, actively_rectified=True)
    late = advise(problem(phase="p3_rectification", **own), campaign, actively_rectified=True)
    assert (early.level, late.level) == ("lighter", "standard")


def test_without_a_confirmed_phase_the_registration_date_decides_the_phase(campaign):
    assert advise(problem(registered_at=P3_DAY), campaign,
                  actively_rectified=False).level == "stricter"
    after_campaign = problem(registered_at=datetime(2018, 1, 5))
    assert advise(after_campaign, campaign, actively_rectified=False).level == "standard"


# --- clamping and the category shift ----------------------------------------------------------

def test_advice_is_clamped_to_the_three_levels(tmp_path, raw):
    raw["severity_advice"]["phase_shift"] = {"p1_mobilization": 0, "p2_self_inspection": 0,
                                             "p3_rectification": 2, "p4_institutions": 2}
    raw["severity_advice"]["high_severity_category_shift"] = 1
    c = load_modified(tmp_path, raw)
    worst = problem(phase="p4_institutions", category="c2_safety_oversight")
    advice = advise(worst, c, actively_rectified=False)
    assert advice.level == "stricter"
    assert any("clamped" in r for r in advice.reasons)
    assert advise(problem(phase="p3_rectification", channel="self_inspection", self_found=True),
                  c, actively_rectified=True).level == "stricter"
    assert advise(problem(phase="p1_mobilization", channel="self_inspection", self_found=True),
                  c, actively_rectified=True).level == "lighter"


def test_high_severity_categories_are_stricter_only_when_configured(tmp_path, raw, campaign):
    safety = problem(phase="p2_self_inspection", category="c2_safety_oversight")
    assert advise(safety, campaign, actively_rectified=False).level == "standard"
    raw["severity_advice"]["high_severity_category_shift"] = 1
    assert advise(safety, load_modified(tmp_path, raw),
                  actively_rectified=False).level == "stricter"


def test_advise_level_counts_a_filed_plan_as_active_rectification(campaign):
    own = dict(channel="self_inspection", self_found=True, phase="p2_self_inspection")
    assert advise_level(problem(plan=a_plan(), **own), campaign) == "lighter"
    assert advise_level(problem(plan=None, **own), campaign) == "standard"


# --- the configuration is checked -------------------------------------------------------------

def test_a_campaign_file_without_the_sections_still_loads_with_defaults(tmp_path, raw):
    del raw["severity_advice"], raw["duplicates"]
    c = load_modified(tmp_path, raw)
    assert c.severity_advice.self_found_channel_groups == ("self_inspection",)
    assert c.severity_advice.phase_shift == {}
    assert (c.duplicates.window_days, c.duplicates.threshold) == (30, 0.5)


def test_an_unknown_phase_in_phase_shift_is_refused_naming_the_field(tmp_path, raw):
    raw["severity_advice"]["phase_shift"]["p9_aftermath"] = 1
    with pytest.raises(CampaignConfigError) as info:
        load_modified(tmp_path, raw)
    assert "severity_advice.phase_shift.p9_aftermath: unknown phase 'p9_aftermath'" in str(
        info.value)


def test_a_later_phase_more_lenient_than_an_earlier_one_is_refused(tmp_path, raw):
    raw["severity_advice"]["phase_shift"]["p4_institutions"] = 0
    with pytest.raises(CampaignConfigError) as info:
        load_modified(tmp_path, raw)
    assert "severity_advice.phase_shift.p4_institutions" in str(info.value)


def test_an_unknown_channel_group_or_bad_shift_is_refused(tmp_path, raw):
    raw["severity_advice"]["self_found_channel_groups"] = ["self_inspection", "gossip"]
    raw["severity_advice"]["high_severity_category_shift"] = 3
    with pytest.raises(CampaignConfigError) as info:
        load_modified(tmp_path, raw)
    message = str(info.value)
    assert "severity_advice.self_found_channel_groups[1]" in message
    assert "severity_advice.high_severity_category_shift" in message
