"""Clue acceptance rules, shared by gateway and services (contracts.clue_rules), against the
shipped campaign: every staff role against every channel (pure, no I/O)."""
from __future__ import annotations

from datetime import date

import pytest
import yaml

from contracts.campaign import ORG_BOUND_ROLES, load_campaign, load_default_campaign
from contracts.clue_rules import Submitter, check_clue, reports_itself
from gateway.auth.roles import ORG_BOUND_ROLES as GATEWAY_ORG_BOUND
from gateway.auth.roles import STAFF_ROLES, Role
from kit.settings import DEFAULT_CAMPAIGN_FILE
from services.ledger.domain.severity import is_self_found

OWN_ORG = {"unit_handler": "org_sch_yanshan_high", "supervisor": "org_education_bureau",
           "county_office": "org_county_office"}
SOLICITORS = {"county_office", "supervisor"}  # 县委办公室 and the supervising bodies
# Who may enter clues on each staff-only channel, as issue 8 (hole 7) and the plan name them.
STAFF_CHANNEL_USERS = {
    "self_inspection": {"unit_handler"},           # 自查: a unit about itself
    "questionnaire": SOLICITORS, "forum": SOLICITORS, "field_visit": SOLICITORS,
    "covert_experience": SOLICITORS, "covert_patrol": SOLICITORS,  # 暗访
    "letter": SOLICITORS, "phone_call": SOLICITORS,
    "special_supervisor": {"invited_supervisor"},  # 特邀监督员
    "partner_conduct_platform": {"partner"}, "partner_discipline_platform": {"partner"},
    "media_exposure": {"media"},                   # 新闻媒体曝光
}
PUBLIC_CHANNELS = {"online_survey", "public_report_platform"}


@pytest.fixture(scope="module")
def campaign():
    return load_default_campaign()


def check(campaign, submitter=Submitter(), **overrides) -> list:
    args = dict(channel="public_report_platform", subject_unit=None, category=None, kind=None,
                occurred_on=None, anonymous=True, has_contact=False, today=date(2017, 6, 1))
    args.update(overrides)
    return check_clue(campaign, submitter=submitter, **args)


def codes(campaign, submitter=Submitter(), **overrides) -> list[str]:
    return [p.code for p in check(campaign, submitter, **overrides)]


def staff(role: str) -> Submitter:
    return Submitter(role, OWN_ORG.get(role))


def test_a_plain_anonymous_public_clue_is_acceptable(campaign):
    assert codes(campaign) == []


def test_unknown_codes_are_named(campaign):
    assert codes(campaign, channel="carrier_pigeon") == ["unknown_channel"]
    assert codes(campaign, subject_unit="org_nowhere", category="c99", kind="laziness") == [
        "unknown_unit", "unknown_category", "unknown_kind"]


def test_a_named_report_needs_contact_and_an_anonymous_one_must_not_have_it(campaign):
    assert codes(campaign, anonymous=False) == ["contact_required"]
    assert codes(campaign, anonymous=False, has_contact=True) == []
    assert codes(campaign, anonymous=True, has_contact=True) == ["anonymous_with_contact"]
    assert codes(campaign, anonymous=True, has_identity=True) == ["anonymous_with_contact"]


def test_a_date_in_the_future_is_refused(campaign):
    assert codes(campaign, occurred_on=date(2017, 6, 2)) == ["in_future"]


def test_the_campaign_names_the_users_of_every_staff_only_channel(campaign):
    assert {c.code for c in campaign.channels} == set(STAFF_CHANNEL_USERS) | PUBLIC_CHANNELS
    for code, users in STAFF_CHANNEL_USERS.items():
        assert set(campaign.channel(code).entered_by) == users, code
    assert campaign.channel("self_inspection").own_unit_only


@pytest.mark.parametrize("channel", sorted(STAFF_CHANNEL_USERS))
def test_staff_channels_are_refused_to_the_public(campaign, channel):
    subject = "org_sch_yanshan_high"
    assert codes(campaign, channel=channel, subject_unit=subject) == ["channel_not_public"]


@pytest.mark.parametrize("role", sorted(r.value for r in STAFF_ROLES))
@pytest.mark.parametrize("channel", sorted(STAFF_CHANNEL_USERS) + sorted(PUBLIC_CHANNELS))
def test_every_staff_role_may_use_only_the_channels_that_name_it(campaign, role, channel):
    own = OWN_ORG.get(role)
    found = check(campaign, staff(role), channel=channel, subject_unit=own)
    if channel in PUBLIC_CHANNELS or role in STAFF_CHANNEL_USERS[channel]:
        assert found == [], (role, channel, found)
    else:
        assert [(p.code, p.status, p.field) for p in found] == [
            ("channel_not_for_role", 403, "channel")], (role, channel)
        name_zh = campaign.channel(channel).name_zh
        assert channel in found[0].message and name_zh in found[0].message_zh


def test_self_inspection_is_about_the_callers_own_unit_only(campaign):
    handler = staff("unit_handler")
    assert codes(campaign, handler, channel="self_inspection",
                 subject_unit="org_sch_yanshan_high") == []
    other = check(campaign, handler, channel="self_inspection",
                  subject_unit="org_gd_public_security")
    assert [(p.code, p.status) for p in other] == [("not_own_unit", 403)]
    assert "自查" in other[0].message_zh
    missing = check(campaign, handler, channel="self_inspection", subject_unit=None)
    assert [(p.code, p.status, p.field) for p in missing] == [
        ("own_unit_required", 422, "subject_unit")]
    unbound = Submitter("unit_handler", None)
    assert codes(campaign, unbound, channel="self_inspection",
                 subject_unit="org_sch_yanshan_high") == ["not_own_unit"]


def test_only_a_unit_reporting_itself_is_self_found(campaign):
    own = dict(subject_unit="org_gd_public_security")
    police = dict(submitter_role="unit_handler", submitter_org="org_gd_public_security")
    assert is_self_found("self_inspection", campaign, **own, **police)
    for role, org in [("unit_handler", "org_sch_yanshan_high"), ("ops", None), ("media", None),
                      ("supervisor", "org_supervision_bureau"), ("public", None), (None, None)]:
        assert not is_self_found("self_inspection", campaign, **own, submitter_role=role,
                                 submitter_org=org), role
    assert not is_self_found("letter", campaign, **own, **police)
    assert not is_self_found("self_inspection", campaign, subject_unit=None, **police)
    assert reports_itself(campaign, channel="self_inspection", **own,
                          submitter=Submitter("unit_handler", "org_gd_public_security"))


def test_org_bound_roles_agree_with_the_gateways():
    assert set(ORG_BOUND_ROLES) == {r.value for r in GATEWAY_ORG_BOUND}


def _refusal(tmp_path, mutate) -> str:
    raw = yaml.safe_load(DEFAULT_CAMPAIGN_FILE.read_text(encoding="utf-8"))
    mutate({c["code"]: c for c in raw["channels"]})
    path = tmp_path / "campaign.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(Exception) as refused:
        load_campaign(path)
    return str(refused.value)


def test_a_staff_only_channel_without_users_is_refused_at_load(tmp_path):
    message = _refusal(tmp_path, lambda ch: ch["letter"].pop("entered_by"))
    assert "channels[7].entered_by" in message and "must name the roles" in message


def test_channel_users_must_be_known_roles_and_own_unit_only_org_bound(tmp_path):
    assert "channels[7].entered_by" in _refusal(
        tmp_path, lambda ch: ch["letter"].update(entered_by=["janitor"]))
    assert "name staff roles only" in _refusal(
        tmp_path, lambda ch: ch["letter"].update(entered_by=["public"]))
    assert "channels[0].own_unit_only" in _refusal(
        tmp_path, lambda ch: ch["self_inspection"].update(entered_by=["media"]))
    assert "channels[1].entered_by" in _refusal(
        tmp_path, lambda ch: ch["online_survey"].update(entered_by=["media"]))
