"""Who hears what (services/notify/domain.py): people, once each, from the registry."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from contracts.campaign import load_default_campaign
from services.notify import domain
from services.notify.domain import Occurrence, Person, Preferences

CAMPAIGN = load_default_campaign()
WORKDAYS = domain.WorkDays.of(CAMPAIGN)
SCHOOL, TOWNSHIP = "org_sch_yanshan_high", "org_tw_yanshan"


class Directory:
    def __init__(self, people, heads=None):
        self.people = people
        self.heads = heads or {}

    def members(self, org):
        return [p for p in self.people if p.org_code == org]

    def with_role(self, role):
        return [p for p in self.people if p.role == role]

    def head_of(self, org):
        return self.heads.get(org)


PEOPLE = [
    Person("h1", "unit_handler", SCHOOL), Person("h2", "unit_handler", SCHOOL),
    Person("h-gone", "unit_handler", SCHOOL, active=False),
    Person("t1", "unit_handler", TOWNSHIP),
    Person("edu", "supervisor", "org_education_bureau"),
    Person("county", "county_office", "org_county_office"),
    Person("media", "media", None),
]


def hear(name, unit=SCHOOL, today=date(2026, 12, 2), directory=None, **fields):
    occ = Occurrence("e1", name, problem_id="p1", unit=unit, **fields)
    return [n.account_id for n in domain.notices_for(
        occ, CAMPAIGN, directory or Directory(PEOPLE), today=today, grace=2,
        workdays=WORKDAYS)]


def test_a_dispatch_reaches_every_active_handler_of_the_unit_and_nobody_else():
    assert hear("dispatched") == ["h1", "h2"]


def test_a_step_awaiting_a_decision_reaches_the_supervising_body_from_the_registry():
    assert hear("verified") == ["edu"]
    assert hear("rectification_reported") == ["edu"]


def test_a_township_problem_reaches_the_county_office_once_not_by_role_and_by_org():
    # the township's supervising body is the county office: one person, one notice
    assert hear("closure_unfounded", unit=TOWNSHIP) == ["county"]
    assert hear("reopened", unit=TOWNSHIP) == ["t1", "county"]


def test_overdue_climbs_the_ladder_past_the_grace_in_working_days():
    due = date(2026, 11, 30)  # a Monday
    assert hear("problem_overdue", due=due, today=date(2026, 12, 2)) == ["h1", "h2"]
    assert hear("problem_overdue", due=due, today=date(2026, 12, 3)) == ["h1", "h2", "edu"]
    assert hear("problem_overdue", due=due, today=date(2026, 12, 7)) == [
        "h1", "h2", "edu", "county"]


def test_a_weekend_does_not_count_towards_the_grace():
    # due Friday; Monday is one working day late
    assert hear("problem_stalled", due=date(2026, 11, 27), today=date(2026, 11, 30)) == [
        "h1", "h2"]


def test_missing_reports_reach_the_principal_head_if_known_else_the_handlers():
    assert hear("report_missing") == ["h1", "h2"]
    with_head = Directory(PEOPLE, heads={SCHOOL: "head1"})
    assert hear("report_missing", directory=with_head) == ["head1"]
    # an escalation proposal also reaches the supervising body, who takes it up (提请问责)
    assert hear("escalation_proposed", directory=with_head) == ["head1", "edu"]


def test_an_event_without_a_rule_reaches_nobody_and_a_new_rule_is_one_entry(monkeypatch):
    assert hear("something_new") == []
    monkeypatch.setitem(domain.RULES, "something_new",
                        domain.Rule((domain.Audience.SUPERVISOR,), "新", "new"))
    assert hear("something_new") == ["edu"]


def test_every_lifecycle_rule_is_named_by_the_vocabulary_or_documented_events():
    from contracts.vocabulary import EventName
    for name in domain.RULES:
        assert name in set(EventName) or "_" in name


def test_channels_inbox_always_email_with_an_address_webhook_when_set():
    person = Person("a", "unit_handler", SCHOOL, email="a@example.org")
    C = domain.Channel
    assert domain.channels_for(person, Preferences()) == [C.INBOX, C.EMAIL]
    assert domain.channels_for(Person("b", "unit_handler", SCHOOL), Preferences()) == [C.INBOX]
    assert domain.channels_for(person, Preferences(email=False)) == [C.INBOX]
    assert domain.channels_for(person, Preferences(email_failing=True)) == [C.INBOX]
    hook = Preferences(webhook_url="https://x.example/h")
    assert domain.channels_for(person, hook) == [C.INBOX, C.EMAIL, C.WEBHOOK]
    assert domain.channels_for(person, Preferences(
        webhook_url="https://x", webhook_disabled=True)) == [C.INBOX, C.EMAIL]


def at(*args):
    return datetime(*args, tzinfo=domain.LOCAL)


def notice(reminder=False):
    return domain.Notice("e", "a", "n", "r", None, "zh", "en", reminder)


def test_quiet_hours_hold_a_message_until_the_next_working_start():
    quiet = Preferences(quiet_hours=True)
    assert domain.send_at(notice(), quiet, at(2026, 12, 2, 10), WORKDAYS) == at(2026, 12, 2, 10)
    assert domain.send_at(notice(), quiet, at(2026, 12, 2, 20), WORKDAYS) == at(
        2026, 12, 3, 8, 30)
    assert domain.send_at(notice(), quiet, at(2026, 12, 2, 7), WORKDAYS) == at(
        2026, 12, 2, 8, 30)
    assert domain.send_at(notice(), Preferences(), at(2026, 12, 2, 20), WORKDAYS) == at(
        2026, 12, 2, 20)


def test_a_reminder_due_on_a_holiday_waits_for_the_next_working_day():
    # 2025-10-01..08 National Day holiday; 2025-10-11 (Saturday) a make-up working day
    assert domain.send_at(notice(reminder=True), Preferences(), at(2025, 10, 3, 10),
                          WORKDAYS) == at(2025, 10, 9, 8, 30)
    assert domain.send_at(notice(reminder=True), Preferences(), at(2025, 10, 10, 18),
                          WORKDAYS) == at(2025, 10, 11, 8, 30)


def test_the_daily_digest_goes_out_at_the_start_of_the_next_working_day():
    assert domain.next_digest_at(at(2026, 12, 4, 9), WORKDAYS) == at(2026, 12, 7, 8, 30)
    assert domain.next_digest_at(at(2026, 12, 2, 7), WORKDAYS) == at(2026, 12, 2, 8, 30)


def test_retries_follow_the_schedule_then_the_delivery_is_dead():
    backoff = domain.Backoff.parse("1,10")
    fail = domain.Outcome(False, "HTTP 500")
    assert domain.after_attempt(fail, 1, backoff) == ("pending", 1)
    assert domain.after_attempt(fail, 2, backoff) == ("pending", 10)
    assert domain.after_attempt(fail, 3, backoff) == ("dead", None)
    assert domain.after_attempt(domain.webhook_outcome(410), 1, backoff) == ("disabled", None)
    assert domain.after_attempt(domain.smtp_outcome(550, "no such user"), 1, backoff) == (
        "failed", None)
    assert domain.after_attempt(domain.smtp_outcome(451, "try later"), 1, backoff) == (
        "pending", 1)
    assert domain.after_attempt(domain.webhook_outcome(204), 1, backoff) == ("sent", None)


def resolver(table):
    return lambda host: table[host]


@pytest.mark.parametrize("url,dev,private,reason", [
    ("ftp://x.example/h", True, False, "webhook_url_invalid"),
    ("http://hooks.example/h", True, False, "webhook_url_not_https"),
    ("http://127.0.0.1:9/h", False, False, "webhook_url_not_https"),
    ("https://internal.example/h", True, False, "webhook_url_private"),
    ("https://metadata.example/h", True, True, None),
    ("https://nowhere.example/h", True, False, "webhook_url_unresolvable"),
])
def test_webhook_targets_are_checked_when_configured(url, dev, private, reason):
    table = {"x.example": ["93.184.216.34"], "hooks.example": ["93.184.216.34"],
             "127.0.0.1": ["127.0.0.1"], "internal.example": ["10.0.0.5"],
             "metadata.example": ["169.254.169.254"]}

    def resolve(host):
        if host not in table:
            raise OSError("unknown host")
        return table[host]

    if reason is None:
        assert domain.check_webhook_url(url, development=dev, allow_private=private,
                                        resolve=resolve) == url
    else:
        with pytest.raises(domain.BadWebhookTarget) as refused:
            domain.check_webhook_url(url, development=dev, allow_private=private,
                                     resolve=resolve)
        assert refused.value.reason == reason


def test_loopback_http_is_for_development_only_and_https_public_passes():
    resolve = resolver({"127.0.0.1": ["127.0.0.1"], "hooks.example": ["93.184.216.34"]})
    assert domain.check_webhook_url("http://127.0.0.1:8/h", development=True,
                                    allow_private=False, resolve=resolve)
    assert domain.check_webhook_url("https://hooks.example/h", development=False,
                                    allow_private=False, resolve=resolve)


def test_today_is_read_in_china():
    assert datetime(2026, 12, 1, 17, tzinfo=timezone.utc).astimezone(domain.LOCAL).date() == \
        date(2026, 12, 2)


def test_a_scheduled_event_in_the_documented_shape_is_routed_with_its_due_date():
    from typing import ClassVar

    from contracts.events import Event
    from services.notify import handlers

    class ProblemOverdue(Event):  # the shape a sweep may publish
        source: ClassVar[str] = "ledger"
        event_type: ClassVar[str] = "problem_overdue"
        problem_id: str
        unit: str
        due_on: date

    occ = handlers.occurrence_of(ProblemOverdue(problem_id="p9", unit=SCHOOL,
                                                due_on=date(2026, 11, 30)))
    assert (occ.name, occ.problem_id, occ.unit, occ.due) == (
        "problem_overdue", "p9", SCHOOL, date(2026, 11, 30))
    notices = domain.notices_for(occ, CAMPAIGN, Directory(PEOPLE), today=date(2026, 12, 7),
                                 grace=2, workdays=WORKDAYS)
    assert [n.account_id for n in notices] == ["h1", "h2", "edu", "county"]
    assert all(n.reminder for n in notices)


def test_the_ledgers_clock_alerts_and_the_reporting_rhythm_reach_their_people():
    from contracts.events import ProblemClockAlert, ReportCycleEvent
    from services.notify import handlers

    def heard(msg, today=date(2026, 12, 7), heads=None):
        occ = handlers.occurrence_of(msg)
        return occ, [n.account_id for n in domain.notices_for(
            occ, CAMPAIGN, Directory(PEOPLE, heads), today=today, grace=2, workdays=WORKDAYS)]

    overdue = ProblemClockAlert(name="overdue", problem_id="p9", title="路灯", state="rectifying",
                                unit=SCHOOL, due_on=date(2026, 11, 30), days=5,
                                swept_on=date(2026, 12, 7))
    occ, people = heard(overdue)
    assert (occ.name, occ.problem_id, occ.due) == ("problem_overdue", "p9", date(2026, 11, 30))
    assert people == ["h1", "h2", "edu", "county"]  # five working days: up the whole ladder
    soon = overdue.model_copy(update={"name": "due_soon", "due_on": date(2026, 12, 9)})
    assert heard(soon)[1] == ["h1", "h2"]

    def cycle(name, **fields):
        return ReportCycleEvent(**{"name": name, "what": "weekly", "period": "2026-W48",
                                   "unit": SCHOOL, "due_on": date(2026, 11, 30), **fields})
    assert heard(cycle("report_due"))[1] == ["h1", "h2"]
    assert heard(cycle("report_missing"), heads={SCHOOL: "h2"})[1] == ["h2"]
    assert heard(cycle("escalation_proposed"), heads={SCHOOL: "h2"})[1] == ["h2", "edu"]
    assert heard(cycle("report_filed", kind="weekly"))[1] == ["edu"]
    assert heard(cycle("zero_contradicted"))[1] == ["county"]
    assert heard(cycle("phase_started", unit=None))[1] == []  # on the workbench, not mailed
