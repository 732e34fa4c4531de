"""Open311 GeoReport v2's pure mapping: categories as services, a partner's form as a clue,
the filters of GET requests (the 90-day rule), the ledger's states as requests, XML's shape;
and the partner key rules."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import pytest

from contracts.campaign import load_campaign
from gateway.auth import partners
from gateway.open311 import mapping
from gateway.open311.mapping import Open311Error
from gateway.routes.clues import ClueIn
from kit.settings import ROOT
from kit.webhooks import REFUSALS, WebhookPolicy
from services.ledger.handlers.views import problem_states
from tests.fakes.ledger import FakeLedgerUnitOfWork

CAMPAIGN = load_campaign(ROOT / "config" / "campaign.yaml")
NOW = datetime(2017, 9, 1, 12, 0, tzinfo=timezone.utc)
CLUE = "0123456789abcdef0123456789abcdef"


def refused(work, status=400) -> str:
    with pytest.raises(Open311Error) as caught:
        work()
    assert caught.value.status == status
    return caught.value.description


def test_an_empty_jurisdiction_is_absent_and_another_unknown():
    mapping.check_request("json", {"jurisdiction_id": ""}, CAMPAIGN)
    mapping.check_request("xml", {"jurisdiction_id": "yanshan_2017_conduct_cleanup"}, CAMPAIGN)
    refused(lambda: mapping.check_request("json", {"jurisdiction_id": "x"}, CAMPAIGN), 404)
    refused(lambda: mapping.check_request("html", {}, CAMPAIGN), 404)


# ── services ──────────────────────────────────────────────────────────────────────────────────

def test_every_category_is_a_service_named_in_chinese():
    found = mapping.services(CAMPAIGN)
    assert [s["service_code"] for s in found] == [c.code for c in CAMPAIGN.categories]
    first = found[0]
    assert first["service_name"] == "信息公开不到位"
    assert first["description"] == CAMPAIGN.categories[0].description_zh
    assert (first["metadata"], first["type"]) == (True, "realtime")
    assert "不作为" in first["keywords"] and "Inaction" in first["keywords"]


def test_a_service_definition_offers_the_kinds_and_the_units_as_lists():
    definition = mapping.service_definition(CAMPAIGN, "c2_safety_oversight")
    attributes = {a["code"]: a for a in definition["attributes"]}
    assert definition["service_code"] == "c2_safety_oversight"
    assert set(attributes) == {"kind", "subject_unit", "title", "occurred_on"}
    assert [v["key"] for v in attributes["kind"]["values"]] == ["inaction", "misconduct",
                                                                "slowness"]
    assert attributes["kind"]["datatype"] == "singlevaluelist"
    units = {v["key"] for v in attributes["subject_unit"]["values"]}
    assert "org_sch_yanshan_high" in units and "org_county_office" not in units
    assert [a["order"] for a in definition["attributes"]] == [1, 2, 3, 4]


def test_an_unknown_service_is_a_404():
    assert "nope" in refused(lambda: mapping.service_definition(CAMPAIGN, "nope"), 404)


# ── a request posted ─────────────────────────────────────────────────────────────────────────

FORM = {"api_key": "k", "service_code": "c7_livelihood_services",
        "description": "医院收红包\n多次反映无人处理", "attribute[kind]": "inaction",
        "attribute[subject_unit]": "org_sch_yanshan_high", "address_string": "盐山镇",
        "lat": "38.05", "long": "117.23"}


def test_a_form_becomes_the_fields_of_an_anonymous_clue_on_the_partners_channel():
    fields = mapping.clue_fields(FORM, CAMPAIGN, "partner_conduct_platform")
    clue = ClueIn.model_validate(fields)
    assert (clue.channel, clue.category, clue.kind, clue.subject_unit) == (
        "partner_conduct_platform", "c7_livelihood_services", "inaction", "org_sch_yanshan_high")
    assert clue.title == "医院收红包"                      # the description's first line
    assert clue.place == "盐山镇 (38.050000,117.230000)"
    assert clue.anonymous is True and clue.reporter is None


def test_the_reporters_contact_makes_a_real_name_clue():
    form = {**FORM, "first_name": "小明", "last_name": "王", "phone": "13800000000",
            "email": "wang@example.org", "attribute[title]": "红包"}
    clue = ClueIn.model_validate(mapping.clue_fields(form, CAMPAIGN, "partner_conduct_platform"))
    assert clue.anonymous is False and clue.title == "红包"
    assert (clue.reporter.name, clue.reporter.phone, str(clue.reporter.email)) == (
        "王小明", "13800000000", "wang@example.org")


@pytest.mark.parametrize("change, says", [
    ({"service_code": ""}, "service_code is required"),
    ({"service_code": "nope"}, "unknown service_code nope"),
    ({"description": "  "}, "description is required"),
    ({"attribute[colour]": "red"}, "unknown parameter attribute[colour]"),
    ({"lat": "91"}, "out of range"),
    ({"long": ""}, "lat and long go together"),
    ({"attribute[occurred_on]": "yesterday"}, "W3C datetime"),
])
def test_a_bad_form_is_a_400_saying_what_is_wrong_in_both_languages(change, says):
    description = refused(lambda: mapping.clue_fields({**FORM, **change}, CAMPAIGN, "x"))
    assert says in description and " · " in description
    assert description.split(" · ")[0] != description.split(" · ")[1]


# ── GET requests: the filters ────────────────────────────────────────────────────────────────

def test_without_dates_the_window_is_the_last_90_days():
    found = mapping.parse_filters({}, CAMPAIGN, NOW)
    assert (found.start, found.end, found.ids, found.statuses) == (
        NOW - timedelta(days=90), NOW, None, frozenset())


def test_one_date_opens_90_days_from_or_to_it():
    start = mapping.parse_filters({"start_date": "2017-06-01T00:00:00Z"}, CAMPAIGN, NOW)
    assert start.end - start.start == timedelta(days=90)
    end = mapping.parse_filters({"end_date": "2017-06-01"}, CAMPAIGN, NOW)
    assert end.end == datetime(2017, 6, 1, tzinfo=mapping.COUNTY_TZ)  # a day is local
    assert end.end - end.start == timedelta(days=90)


def test_dates_at_most_90_days_apart_and_in_order():
    ok = mapping.parse_filters({"start_date": "2017-06-01T00:00:00Z",
                                "end_date": "2017-08-30T00:00:00Z"}, CAMPAIGN, NOW)
    assert ok.end - ok.start == timedelta(days=90)
    assert "90" in refused(lambda: mapping.parse_filters(
        {"start_date": "2017-06-01T00:00:00Z", "end_date": "2017-08-30T00:00:01Z"},
        CAMPAIGN, NOW))
    assert "after" in refused(lambda: mapping.parse_filters(
        {"start_date": "2017-07-01", "end_date": "2017-06-01"}, CAMPAIGN, NOW))


def test_status_service_code_and_ids_are_comma_lists_checked_against_the_campaign():
    found = mapping.parse_filters({"status": "open,closed", "service_code":
                                   "c1_information_disclosure, c9_public_security",
                                   "service_request_id": f"{CLUE},{CLUE}"}, CAMPAIGN, NOW)
    assert found.statuses == {"open", "closed"} and found.ids == (CLUE,)
    assert found.service_codes == ("c1_information_disclosure", "c9_public_security")
    refused(lambda: mapping.parse_filters({"status": "pending"}, CAMPAIGN, NOW))
    refused(lambda: mapping.parse_filters({"service_code": "nope"}, CAMPAIGN, NOW))
    refused(lambda: mapping.parse_filters({"service_request_id": "1;drop"}, CAMPAIGN, NOW))


# ── the ledger's state as a request ──────────────────────────────────────────────────────────

RECORD = {"clue_id": CLUE, "service_code": "c7_livelihood_services",
          "requested_at": datetime(2017, 8, 1, 2, 0, tzinfo=timezone.utc)}


def state(**changes) -> dict:
    return {"clue_id": CLUE, "state": "dispatched", "outcome": None,
            "unit": "org_sch_yanshan_high", "category": "c7_livelihood_services",
            "description": "医院收红包", "updated_at": "2017-08-02T09:00:00+08:00", **changes}


def test_an_open_problem_is_open_with_the_ledgers_state_in_its_notes():
    view = mapping.request_view(RECORD, state(), CAMPAIGN)
    assert (view["status"], view["detailed_status"]) == ("open", "dispatched")
    assert view["status_notes"].startswith("已交办 · ")
    assert view["agency_responsible"] == "盐山中学"
    assert view["requested_datetime"] == "2017-08-01T10:00:00+08:00"
    assert view["updated_datetime"] == "2017-08-02T09:00:00+08:00"  # the ledger sends it so


def test_a_closed_problem_is_closed_and_says_how():
    view = mapping.request_view(RECORD, state(state="closed", outcome="unfounded"), CAMPAIGN)
    assert (view["status"], view["detailed_outcome"]) == ("closed", "unfounded")
    assert view["status_notes"] == "已办结(查否) · closed (unfounded)"


def test_a_request_not_yet_registered_is_open_and_received():
    view = mapping.request_view(RECORD, None, CAMPAIGN)
    assert (view["status"], view["detailed_status"]) == ("open", "received")
    assert view["service_name"] == "民生难题消极应付"


def test_the_status_filter_keeps_only_the_statuses_asked_for():
    other = {**RECORD, "clue_id": "f" * 32}
    states = [state(), state(clue_id="f" * 32, state="closed", outcome="rectified")]
    assert [v["status"] for v in mapping.requests_view([RECORD, other], states, CAMPAIGN)] == [
        "open", "closed"]
    closed = mapping.requests_view([RECORD, other], states, CAMPAIGN, frozenset({"closed"}))
    assert [v["service_request_id"] for v in closed] == ["f" * 32]


# ── XML ───────────────────────────────────────────────────────────────────────────────────────

def test_xml_lists_services_requests_and_errors_in_open311s_shape():
    services = ET.fromstring(mapping.to_xml("services", mapping.services(CAMPAIGN)))
    assert services.tag == "services" and len(services.findall("service")) == 9
    assert services.find("service/metadata").text == "true"
    requests = ET.fromstring(mapping.to_xml("service_requests",
                                            [mapping.request_view(RECORD, state(), CAMPAIGN)]))
    assert requests.find("request/service_request_id").text == CLUE
    assert requests.find("request/status").text == "open"
    errors = ET.fromstring(mapping.to_xml("errors", Open311Error(403, "无效", "bad").items()))
    assert (errors.find("error/code").text, errors.find("error/description").text) == (
        "403", "无效 · bad")


def test_a_service_definition_in_xml_nests_attributes_and_values():
    root = ET.fromstring(mapping.to_xml("service_definition",
                                        mapping.service_definition(CAMPAIGN, "c1_information_disclosure")))
    assert root.tag == "service_definition"
    kind = root.find("attributes/attribute")
    assert kind.find("code").text == "kind"
    assert [v.find("key").text for v in kind.findall("values/value")] == [
        "inaction", "misconduct", "slowness"]


def test_xml_escapes_what_a_reporter_wrote():
    root = ET.fromstring(mapping.to_xml("service_requests", [
        mapping.request_view(RECORD, state(description="<b>&</b>"), CAMPAIGN)]))
    assert root.find("request/description").text == "<b>&</b>"


# ── partners' keys and settings ─────────────────────────────────────────────────────────────

def test_a_key_is_256_random_bits_and_only_its_digest_is_kept():
    first, second = partners.new_key(), partners.new_key()
    assert first != second and first.startswith(partners.KEY_PREFIX)
    assert len(first) - len(partners.KEY_PREFIX) == 43    # 32 bytes, URL-safe base64
    assert partners.key_digest(first) != first and len(partners.key_digest(first)) == 64


HOSTS = {"jw.example.org": ["93.184.216.34"], "x.example.org": ["93.184.216.34"],
         "intranet.example.org": ["10.1.2.3"], "127.0.0.1": ["127.0.0.1"],
         "metadata.example.org": ["169.254.169.254"]}


def policy(development=False, allow_private=False):
    def resolve(host):
        if host not in HOSTS:
            raise OSError("unknown host")
        return HOSTS[host]
    return WebhookPolicy(development=development, allow_private=allow_private, resolve=resolve)


def test_a_partner_gets_partner_platform_channels_and_a_webhook_with_a_secret():
    ok = partners.check_partner(CAMPAIGN, ["partner_discipline_platform"],
                                "https://jw.example.org/hook", "s" * 16, webhook_policy=policy())
    assert ok == []
    codes = {r.code for r in partners.check_partner(CAMPAIGN, ["letter"], "ftp://x", "",
                                                    webhook_policy=policy())}
    assert codes == {"partner_channel_unknown", "webhook_url_invalid", "webhook_secret_required"}
    assert {r.code for r in partners.check_partner(CAMPAIGN, [], "", "",
                                                   webhook_policy=policy())} == {
        "partner_channels_required"}
    assert partners.check_partner(CAMPAIGN, ["partner_conduct_platform"],
                                  "https://x.example.org", "", secret_kept=True,
                                  webhook_policy=policy()) == []


@pytest.mark.parametrize("url, development, allow_private, refused", [
    ("https://intranet.example.org/hook", False, False, "webhook_url_private"),
    ("https://metadata.example.org/hook", True, False, "webhook_url_private"),
    ("https://intranet.example.org/hook", False, True, None),   # the operator allows it
    ("http://jw.example.org/hook", False, False, "webhook_url_not_https"),
    ("http://127.0.0.1:9/hook", False, False, "webhook_url_not_https"),
    ("https://127.0.0.1:9/hook", False, False, "webhook_url_private"),
    ("http://127.0.0.1:9/hook", True, False, None),              # loopback in development
    ("https://nowhere.example.org/hook", False, False, "webhook_url_unresolvable"),
])
def test_a_partners_webhook_url_is_checked_as_notify_checks_every_webhook(
        url, development, allow_private, refused):
    found = partners.check_partner(CAMPAIGN, ["partner_discipline_platform"], url, "s" * 16,
                                   webhook_policy=policy(development, allow_private))
    if refused is None:
        assert found == []
        return
    [refusal] = found
    assert (refusal.field, refusal.code) == ("webhook_url", refused)
    assert refusal.message == REFUSALS[refused][0] and refusal.message_zh == REFUSALS[refused][1]
    assert re.search(r"[\u4e00-\u9fff]", refusal.message_zh)  # in both languages


# ── the ledger's read of many problems ───────────────────────────────────────────────────────

def test_the_ledger_reads_many_clues_problems_at_once_and_skips_unregistered_ones():
    from contracts.events import ClueAccepted, ClueFields
    from services.ledger.handlers import register_problem

    uow = FakeLedgerUnitOfWork()
    register_problem(uow, ClueAccepted(
        event_id="e1", clue_id=CLUE, submitted_at=NOW, clue=ClueFields(
            channel="partner_conduct_platform", title="医院收红包", description="医院收红包多次反映",
            category="c7_livelihood_services")), CAMPAIGN)
    found = problem_states(uow, clue_ids=[CLUE, "f" * 32])
    assert found["columns"][:2] == ["clue_id", "state"] and "description" not in found["columns"]
    assert [row[:2] for row in found["rows"]] == [[CLUE, "registered"]]
    one = problem_states(uow, clue_ids=[CLUE], with_text=True)
    assert dict(zip(one["columns"], one["rows"][0]))["description"] == "医院收红包多次反映"
    with pytest.raises(ValueError):
        problem_states(uow, clue_ids=[str(i) for i in range(1001)])
