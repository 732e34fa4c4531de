"""Sharing out (协作平台信息共享): a problem transferred to a partner platform, delivered to its
webhook signed with its own secret, its destination on the reporter's receipt, and the status
of a partner's own requests pushed to it and to no other partner."""
from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timezone
from types import SimpleNamespace

import pytest
from fastapi import HTTPException
from pydantic import ValidationError
from standardwebhooks import Webhook

from contracts.actions import SPECS, TransferOutInput, field_path, reason_of
from contracts.campaign import load_default_campaign
from contracts.events import (
    SHARED_FIELDS, ClueAccepted, ClueFields, ClueSubmitted, PartnerLink, ProblemTransitioned,
)
from kit.webhooks import BadWebhookTarget
from contracts.vocabulary import Action
from gateway.auth.partners import signing_secret
from gateway.routes.problems import _to_partner
from gateway.workbench import decisions
from services.ledger import handlers as ledger
from services.ledger.adapters.orm import utcnow
from services.ledger.domain.actions import Actor
from services.ledger.domain.public import public_stages
from services.notify import domain
from services.notify import handlers as notify
from services.notify.adapters import channels
from services.notify.domain import Occurrence, Person
from tests.fakes.ledger import FakeLedgerStore, FakeLedgerUnitOfWork

CAMPAIGN = load_default_campaign()
WORKDAYS = domain.WorkDays.of(CAMPAIGN)
SCHOOL = "org_sch_yanshan_high"
DISCIPLINE, CONDUCT = "partner_discipline_platform", "partner_conduct_platform"
EDU = Actor("supervisor-edu", "supervisor", "org_education_bureau")


# --- the action's input ----------------------------------------------------------------------

def test_a_transfer_names_a_destination_or_a_partner_platform():
    assert TransferOutInput.model_validate({"partner": "partner-jw", "reason": "属纪委管辖"})
    assert TransferOutInput.model_validate({"to": "县纪委", "reason": "属纪委管辖"})
    with pytest.raises(ValidationError) as refused:
        TransferOutInput.model_validate({"reason": "属纪委管辖"})
    error = refused.value.errors()[0]
    assert field_path(error["loc"]) == "to"
    assert reason_of(error) == ("name the destination, or choose a partner platform",
                                "请填写移交去向，或选择协作平台")
    with pytest.raises(ValidationError):  # a username, not any text
        TransferOutInput.model_validate({"partner": "纪委 平台", "reason": "x"})


# --- the gateway: the partner checked, ``to`` filled ------------------------------------------

def _request(partners: dict):
    store = SimpleNamespace(get=lambda username: partners.get(username))
    return SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(partners=store)))


def _partner(username, name, active=True):
    return SimpleNamespace(account=SimpleNamespace(username=username, display_name=name,
                                                   active=active))


def test_the_gateway_fills_the_destination_with_the_partners_name():
    args = TransferOutInput.model_validate({"partner": "partner-jw", "reason": "属纪委管辖"})
    request = _request({"partner-jw": _partner("partner-jw", "县纪委党风政风监督举报平台")})
    filled = asyncio.run(_to_partner(request, args))
    assert filled.model_dump(exclude_unset=True) == {
        "partner": "partner-jw", "to": "县纪委党风政风监督举报平台", "reason": "属纪委管辖"}
    named = args.model_copy(update={"to": "县纪委信访室"})
    assert asyncio.run(_to_partner(request, named)).to == "县纪委信访室"


@pytest.mark.parametrize("known", [{}, {"partner-jw": _partner("partner-jw", "纪委", False)}])
def test_an_unknown_or_disabled_partner_is_refused_in_both_languages(known):
    args = TransferOutInput.model_validate({"partner": "partner-jw", "reason": "属纪委管辖"})
    with pytest.raises(HTTPException) as refused:
        asyncio.run(_to_partner(_request(known), args))
    detail = refused.value.detail
    assert refused.value.status_code == 422 and detail["code"] == "unknown_partner"
    assert detail["field"] == "partner" and "协作平台" in detail["message_zh"]


def test_the_transfer_form_offers_the_active_partners_by_name():
    partners = [_partner("p-b", "县纪委党风政风监督举报平台"), _partner("p-a", "县级机关作风整顿公开举报平台"),
                _partner("p-gone", "停用的平台", active=False)]
    choices = decisions.partner_choices(partners)
    assert [c[1] for c in choices] == sorted(["县纪委党风政风监督举报平台", "县级机关作风整顿公开举报平台"])
    assert {c[0]: c[1] for c in choices} == {"p-a": "县级机关作风整顿公开举报平台",
                                              "p-b": "县纪委党风政风监督举报平台"}
    assert SPECS[Action.TRANSFER_OUT].input is TransferOutInput


# --- the ledger: recorded, announced with what the partner may see --------------------------

@pytest.fixture
def ledger_store():
    return FakeLedgerStore()


def _registered(store, channel=DISCIPLINE, requested_by=None, n=1):
    clue = ClueAccepted(event_id=f"accepted-{n}", clue_id=f"clue-{n}", clue=ClueFields(
        channel=channel, title="某局干部吃拿卡要", description="办事时索要好处,群众反映强烈",
        subject_unit=SCHOOL, category="c7_livelihood_services"), submitted_at=utcnow(),
        requested_by=requested_by)
    return ledger.register_problem(FakeLedgerUnitOfWork(store), clue, CAMPAIGN)


def _act(store, pid, action, **args):
    return ledger.act(FakeLedgerUnitOfWork(store), CAMPAIGN, problem_id=pid, action=action,
                      actor=EDU, args=args, today=date(2017, 6, 5))


def test_a_transfer_to_a_partner_is_recorded_and_announced_with_the_case_it_shares(
        ledger_store):
    pid = _registered(ledger_store)
    _act(ledger_store, pid, "transfer_out", partner="partner-jw", to="县纪委党风政风监督举报平台",
         reason="属党风政风问题")
    entry = ledger_store.history.entries[-1].content
    assert entry["data"]["partner"] == "partner-jw"
    assert entry["data"]["to"] == "县纪委党风政风监督举报平台"
    assert "shared" not in entry["data"]  # the chain keeps the case once
    event = ledger_store.outbox[-1]
    assert isinstance(event, ProblemTransitioned) and event.name == "transferred"
    assert (event.channel, event.clue_id) == (DISCIPLINE, "clue-1")
    shared = event.data["shared"]
    assert tuple(shared) == SHARED_FIELDS
    assert (shared["problem_id"], shared["clue_id"], shared["title"], shared["reason"]) == (
        pid, "clue-1", "某局干部吃拿卡要", "属党风政风问题")
    assert shared["description"] == "办事时索要好处,群众反映强烈" and shared["unit"] == SCHOOL
    assert not {"contact", "receipt_code", "reporter"} & set(shared)


def test_a_transfer_elsewhere_shares_nothing_and_every_step_names_its_channel(ledger_store):
    pid = _registered(ledger_store, channel="letter")
    _act(ledger_store, pid, "dispatch", respond_days=5)
    assert ledger_store.outbox[-1].channel == "letter"
    _act(ledger_store, pid, "transfer_out", to="县法院", reason="属司法程序")
    event = ledger_store.outbox[-1]
    assert "shared" not in event.data and "partner" not in event.data


def test_a_partners_request_carries_its_partner_from_submission_to_every_step(ledger_store):
    submitted = ClueSubmitted(clue_id="clue-7", receipt_digest="0" * 64, clue=ClueFields(
        channel=DISCIPLINE, title="t", description="d"), submitted_by="partner-jw",
        submitter_role="partner")
    assert submitted.requested_by() == "partner-jw"
    assert ClueSubmitted.model_validate({**submitted.to_message(), "submitter_role": "media"}
                                        ).requested_by() is None  # only a partner requests
    pid = _registered(ledger_store, requested_by="partner-jw", n=7)
    assert ledger_store.history.entries[-1].content["data"]["requested_by"] == "partner-jw"
    _act(ledger_store, pid, "dispatch", respond_days=5)
    assert ledger_store.outbox[-1].requested_by == "partner-jw"
    other = _registered(ledger_store, n=8)  # on the same channel, by someone else
    _act(ledger_store, other, "dispatch", respond_days=5)
    assert ledger_store.outbox[-1].requested_by is None


# --- the receipt: where it went --------------------------------------------------------------

def test_the_receipt_names_the_partner_it_went_to_and_never_the_reason():
    stages = public_stages([{"action": "register", "at": "2017-06-01"}, {
        "action": "transfer_out", "at": "2017-06-02", "data": {
            "to": "县纪委党风政风监督举报平台", "partner": "partner-jw", "reason": "内部:涉及某领导"}}])
    last = stages[-1]
    assert last["stage"] == "transferred" and last["destination"] == "县纪委党风政风监督举报平台"
    assert last["public_findings"] == "已移交至县纪委党风政风监督举报平台办理。"
    assert "内部" not in json.dumps(stages, ensure_ascii=False)


def test_a_free_text_transfer_keeps_the_standard_words():
    stages = public_stages([{"action": "transfer_out", "at": "2017-06-02", "data": {
        "to": "某科长处(内部备注)", "reason": "内部"}}])
    assert stages[0]["public_findings"] is None and "destination" not in stages[0]
    assert "内部" not in json.dumps(stages, ensure_ascii=False)


# --- notify: who hears it --------------------------------------------------------------------

class Directory:
    def __init__(self, people):
        self.people = people

    def members(self, org):
        return [p for p in self.people if p.org_code == org]

    def with_role(self, role):
        return [p for p in self.people if p.role == role]

    def head_of(self, org):
        return None

    def partners(self, *, username):
        return [p for p in self.people if p.role == "partner" and p.display_name == username]


PEOPLE = [Person("h1", "unit_handler", SCHOOL), Person("county", "county_office",
                                                         "org_county_office"),
          Person("edu", "supervisor", "org_education_bureau"),
          Person("jw", "partner", None, display_name="partner-jw"),
          Person("zf", "partner", None, display_name="partner-zf"),
          Person("old", "partner", None, active=False, display_name="partner-old")]
DIRECTORY = Directory(PEOPLE)


def notices(name, **fields):
    occ = Occurrence("e1", name, problem_id="p1", unit=SCHOOL, **fields)
    return {n.account_id: n for n in domain.notices_for(
        occ, CAMPAIGN, DIRECTORY, today=date(2026, 12, 2), grace=2, workdays=WORKDAYS)}


SHARED = {"problem_id": "p1", "clue_id": "c1", "title": "吃拿卡要", "description": "索要好处",
          "category": "c7", "kind": None, "unit": SCHOOL, "reason": "属纪委", "to": "纪委平台"}


def test_a_transfer_reaches_the_partner_named_with_the_case_and_the_county_office():
    heard = notices("transferred", partner="partner-jw", shared=SHARED, clue_id="c1",
                    state="closed")
    assert set(heard) == {"county", "jw"}
    assert heard["jw"].data == {"transferred": SHARED}
    assert heard["county"].data is None


def test_a_transfer_to_a_disabled_or_unknown_partner_reaches_no_partner():
    assert set(notices("transferred", partner="partner-old", shared=SHARED)) == {"county"}
    assert set(notices("transferred", partner="nobody", shared=SHARED)) == {"county"}


def test_every_step_of_a_partners_own_request_is_pushed_to_it_alone():
    at = datetime(2026, 12, 2, 2, 0, tzinfo=timezone.utc).isoformat()
    heard = notices("dispatched", requested_by="partner-jw", clue_id="c1", state="dispatched",
                    at=at)
    assert set(heard) == {"h1", "jw"}  # not partner-zf (another partner)
    assert heard["jw"].data == {"service_request_id": "c1", "problem_id": "p1",
                                "status": "open", "state": "dispatched",
                                "event": "dispatched", "at": at}
    # a step no staff rule names still reaches the partner (e.g. 中止计时)
    assert set(notices("suspended", requested_by="partner-jw", clue_id="c1",
                       state="dispatched")) == {"jw"}
    closed = notices("struck_off", requested_by="partner-jw", clue_id="c1", state="closed")
    assert closed["jw"].data["status"] == "closed"


def test_two_partners_sharing_a_channel_each_hear_only_their_own_requests():
    # both partners were given the same (first) channel: ownership is the submitter, exact
    for owner, other in (("jw", "zf"), ("zf", "jw")):
        heard = notices("dispatched", requested_by=f"partner-{owner}", clue_id=f"c-{owner}",
                        state="dispatched")
        assert owner in heard and other not in heard
        assert heard[owner].data["service_request_id"] == f"c-{owner}"


def test_a_problem_no_partner_requested_or_a_scheduled_event_reaches_no_partner():
    assert not {"jw", "zf"} & set(notices("dispatched", clue_id="c1", state="dispatched"))
    assert not {"jw", "zf"} & set(notices("problem_overdue", due=date(2026, 11, 1)))
    # a disabled partner's own request: it hears nothing
    assert "old" not in notices("dispatched", requested_by="partner-old", clue_id="c1",
                                state="dispatched")


def test_a_partners_own_request_transferred_to_another_partner_reaches_both_their_way():
    heard = notices("transferred", partner="partner-zf", shared=SHARED,
                    requested_by="partner-jw", clue_id="c1", state="closed")
    assert heard["zf"].data == {"transferred": SHARED}
    assert heard["jw"].data["status"] == "closed" and "transferred" not in heard["jw"].data


def test_the_event_maps_to_what_the_partner_rules_read():
    msg = ProblemTransitioned(
        name="transferred", problem_id="p1", action="transfer_out", from_state="dispatched",
        to_state="closed", unit=SCHOOL, actor="county", actor_role="county_office",
        history_seq=3, channel=DISCIPLINE, clue_id="c1", requested_by="partner-jw",
        data={"partner": "partner-zf", "to": "x", "reason": "y", "shared": SHARED})
    occ = notify.occurrence_of(msg)
    assert (occ.partner, occ.requested_by, occ.clue_id, occ.state, occ.shared) == (
        "partner-zf", "partner-jw", "c1", "closed", SHARED)
    old = ProblemTransitioned.model_validate({
        k: v for k, v in msg.to_message().items()
        if k not in ("channel", "clue_id", "requested_by")})
    assert notify.occurrence_of(old).requested_by is None  # an older ledger's event routes


def test_notify_opens_a_partners_webhook_only_sealed_right_and_at_an_address_it_allows():
    link = PartnerLink(webhook_url="https://jw.example/hook", webhook_secret_sealed="token")

    def check(url):
        if "intranet" in url:
            raise BadWebhookTarget("webhook_url_private")
        return url

    opened = domain.partner_webhook(link, unseal={"token": "whsec_abc"}.get, check=check)
    assert (opened.url, opened.secret, opened.refused) == (
        "https://jw.example/hook", "whsec_abc", None)
    assert domain.partner_webhook(link, unseal=lambda token: None, check=check) == \
        domain.PartnerWebhook(refused="webhook_secret_unreadable")
    private = link.model_copy(update={"webhook_url": "https://intranet.example/hook"})
    assert domain.partner_webhook(private, unseal={"token": "whsec_abc"}.get, check=check) \
        == domain.PartnerWebhook(refused="webhook_url_private")
    legacy = PartnerLink(webhook_url="https://jw.example/hook", webhook_secret="whsec_old")
    with pytest.warns(DeprecationWarning):  # a version-1 message left in a queue
        assert domain.partner_webhook(legacy, unseal=lambda t: None, check=check).secret == \
            "whsec_old"
    assert domain.partner_webhook(PartnerLink(), unseal=None, check=None) == \
        domain.PartnerWebhook()


# --- signed with the partner's own secret -----------------------------------------------------

def test_the_partners_secret_signs_its_webhook_and_the_partner_verifies_with_it():
    plain = "jw-platform-shared-secret-2017"
    row = {"event_id": "e1", "account_id": "jw", "payload": {
        "name": "dispatched", "ref": "p1", "problem_id": "p1", "subject_zh": "状态已更新",
        "subject_en": "changed", "at": "2026-12-02T02:00:00+00:00",
        "data": {"service_request_id": "c1", "status": "open", "state": "dispatched"}}}
    body = channels.webhook_body(row)
    now = datetime.now(timezone.utc)
    headers = channels.signed_headers(signing_secret(plain), "msg_1", body, now)
    verified = Webhook(plain.encode()).verify(body, headers)  # the partner's own check
    assert verified["data"]["service_request_id"] == "c1"
    assert verified["data"]["status"] == "open" and verified["type"] == "notice.dispatched"
    with pytest.raises(Exception):
        Webhook(b"another-partners-secret-0000").verify(body, headers)


def test_a_secret_in_standard_webhooks_form_is_used_as_it_is():
    secret = channels.new_secret()
    assert signing_secret(secret) == secret
    assert signing_secret("whsec_not base64!!").startswith("whsec_")
    assert signing_secret("whsec_not base64!!") != "whsec_not base64!!"
