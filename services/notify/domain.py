"""Who hears what (通知): plain rules, no I/O.

Recipients are people (accounts), never role keys or organization codes: an event names the
audiences that must act (the unit's handlers 承办人, its supervising body 分管部门, the county
office 县委办公室, the unit's principal head 主要负责同志), each audience becomes the accounts of
the directory (``Directory``, notify's projection of the gateway's accounts) found through the
campaign's organization registry, and the accounts are deduplicated per event: a township
problem's supervising body *is* the county office, and its staff hear it once.

The rule table ``RULES`` has one entry per event name. Events of the ledger's lifecycle come
as ``problem.<name>``; scheduled events (催办: due soon, overdue, stalled, missing reports,
escalations) are added with one entry each. The shape notify expects of any event it routes
(``Occurrence``)::

    name        the event name, e.g. "problem_overdue", "report_missing"
    problem_id  the problem it is about, if any (the inbox links to its page)
    unit        the unit's organization code (承办单位), if known (else the problem's unit)
    supervisor  the supervising body's code, if the producer knows it (else the registry's)
    due         the date the step is/was due (clock events: escalation counts from it)
    title       a short text for the subject (optional)

Partner platforms (协作平台, accounts of role ``partner``) hear nothing by organization. They
hear two things, by webhook (signed with their own secret) and in their inbox:

* a problem transferred to them (移交, audience ``PARTNER``: the ``partner`` the event names),
  with what they need to act on it (``shared``: problem and clue id, title, description,
  category, kind, unit, reason; never the reporter's contact or receipt);
* every lifecycle step (``problem.<name>``, whatever its rule) of a problem registered from
  a request they submitted (``requested_by``: the partner account that submitted the clue,
  carried from the gateway through intake and the ledger; never guessed from the channel,
  which partners may share), as Open311 status: ``service_request_id`` (the clue id),
  ``status`` open/closed, the ledger's ``state``, the event and its time
  (``request_status``). No other partner hears it.

Clock events (``escalates=True``) reach the unit; once more than ``grace`` working days past
``due`` also its supervising body, and past twice the grace the county office. Reminders
(``reminder=True``) never go out by email or webhook outside working time: a reminder due on
a holiday waits for the next working day (the Chinese official calendar, 法定节假日与调休).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Protocol

import chinese_calendar

from contracts.vocabulary import ClockAlert, CycleEvent as Cycle, EventName as E
from kit.periods import COUNTY_TZ as LOCAL
# webhook targets: one rule for all, the gateway's partner webhooks too (``kit.webhooks``)
from kit.webhooks import BadWebhookTarget, check_webhook_url  # noqa: F401

WORK_START, WORK_END = time(8, 30), time(17, 30)  # 工作时间
DIGEST_AT = WORK_START  # the daily digest (每日汇总) goes out when the working day starts

# Roles whose accounts stand for their organization (the others hear nothing by organization).
ORG_ROLES = frozenset({"unit_handler", "supervisor", "county_office"})


class Audience(StrEnum):
    UNIT = "unit"              # the unit's handlers (承办人)
    SUPERVISOR = "supervisor"  # the supervising body's accounts (分管部门)
    COUNTY = "county"          # the county office (县委办公室)
    HEAD = "head"              # the unit's principal head if known, else its handlers
    PARTNER = "partner"        # the partner platform a problem was transferred to (协作平台)


@dataclass(frozen=True)
class Rule:
    audience: tuple[Audience, ...]
    subject_zh: str
    subject_en: str
    escalates: bool = False  # clock events: + supervisor past the grace, + county past twice
    reminder: bool = False   # waits for working time on email and webhook


A, S, C, H = Audience.UNIT, Audience.SUPERVISOR, Audience.COUNTY, Audience.HEAD
P = Audience.PARTNER

RULES: dict[str, Rule] = {
    "problem_registered": Rule((C,), "新问题已登记入台账，待交办", "New problem registered, awaiting dispatch"),
    "work_plan_filed": Rule((S,), "单位报送清理工作方案，请备案",
                            "A unit filed its work plan for acknowledgement"),
    # the lifecycle (problem.<name>): the unit when the ball is in its court, the supervising
    # body when it has something to decide
    E.DISPATCHED: Rule((A,), "问题已交办，请按期反馈", "A problem was dispatched to you"),
    E.REASSIGNED: Rule((A,), "问题已转办至本单位", "A problem was reassigned to your unit"),
    E.VERIFIED: Rule((S,), "单位已查实并提交整改计划，待审核", "Verified; rectification plan awaits review"),
    E.CLOSURE_UNFOUNDED: Rule((S,), "单位报告查否，待审核", "Reported unfounded; awaits review"),
    E.RECTIFICATION_REPORTED: Rule((S,), "单位报告整改完成，待销号",
                                   "Rectification reported; awaits strike-off"),
    E.PLAN_APPROVED: Rule((A,), "整改计划已通过", "Rectification plan approved"),
    E.PLAN_REJECTED: Rule((A,), "整改计划被退回", "Rectification plan sent back"),
    E.UNFOUNDED_REJECTED: Rule((A,), "查否结论被退回", "Unfounded finding sent back"),
    E.PROGRESS_CHECKED: Rule((A,), "整改落实情况检查结果", "Progress check recorded"),
    E.RECTIFICATION_REJECTED: Rule((A,), "整改结果被退回", "Rectification sent back"),
    E.REOPENED: Rule((A, S), "问题被重新启动", "Problem reopened"),
    E.STRUCK_OFF: Rule((A,), "问题已销号", "Problem struck off"),
    E.UNFOUNDED_ACCEPTED: Rule((A,), "查否结论已认可", "Unfounded finding accepted"),
    E.TRANSFERRED: Rule((C, P), "问题已移交", "Problem transferred"),
    # the reporter's own steps (by receipt code): the unit and its body hear of new
    # information; the body of an answer to the return visit (回访满意度)
    E.REPORTER_SUPPLEMENTED: Rule((A, S), "举报人补充了情况或照片", "The reporter added information"),
    E.SATISFACTION_RATED: Rule((S,), "举报人作出回访满意度评价", "The reporter rated the outcome"),
    # scheduled (催办), published by the sweeps: one entry per event name
    "problem_due_soon": Rule((A,), "问题即将到期，请按期办理", "A problem is due soon",
                             escalates=True, reminder=True),
    "problem_overdue": Rule((A,), "问题已超期，请尽快办理", "A problem is overdue",
                            escalates=True, reminder=True),
    "problem_stalled": Rule((A,), "问题长期无进展", "A problem shows no progress",
                            escalates=True, reminder=True),
    # the reporting rhythm (cycle.<name>, contracts.vocabulary.CycleEvent)
    Cycle.REPORT_DUE: Rule((A,), "报告即将到期，请按时报送", "A report is due", reminder=True),
    Cycle.REPORT_MISSING: Rule((H,), "报告未按时报送", "A report is missing", reminder=True),
    Cycle.ESCALATION_PROPOSED: Rule((H, S), "单位被提出问责建议",
                                    "An escalation was proposed for your unit"),
    Cycle.REPORT_FILED: Rule((S,), "单位已报送报告", "A unit filed its report"),
    Cycle.REPORT_AMENDED: Rule((S,), "单位已更正报告", "A unit amended its report"),
    Cycle.ZERO_CONTRADICTED: Rule((C,), "零报告与台账不符，请安排抽查",
                                  "A zero report contradicts the ledger; consider a spot check"),
    Cycle.SUMMARY_FORWARDED: Rule((C,), "分管部门已报送系统汇总", "A supervising body forwarded its summary"),
    Cycle.BULLETIN_DRAFTED: Rule((C,), "月通报数据已生成，请审阅发布",
                                 "The month's bulletin figures are ready for review"),
    # the accountability ladder (audit's ``ladder.<name>`` as ``ladder_<name>``,
    # contracts.events.AccountabilityEvent):
    # the county office decides proposals; a confirmed step reaches the unit's handlers and
    # its principal head (主要负责同志); a deadline passed, the county office and the head
    "ladder_proposed": Rule((C,), "问责建议待决定", "An accountability proposal awaits a decision"),
    "ladder_confirmed": Rule((A, H), "本单位被确定问责措施，请按期整改",
                             "An accountability step was confirmed for your unit"),
    "ladder_deadline_passed": Rule((C, H), "问责整改期限已过", "An accountability deadline passed"),
    # Cycle.PHASE_STARTED has no rule: a phase's start is on the workbench for everyone, not a
    # message to each of hundreds of accounts.
}
CLOCK_EVENT_NAMES = {alert: f"problem_{alert.value}" for alert in ClockAlert}
"""``clock.<name>`` (contracts.events.ProblemClockAlert) as the rules name it."""


@dataclass(frozen=True)
class Occurrence:
    """An event someone must hear of, in the shape every producer maps to (see above)."""

    event_id: str
    name: str
    problem_id: str | None = None
    unit: str | None = None
    supervisor: str | None = None
    due: date | None = None
    title: str | None = None
    # the ledger's lifecycle steps only (problem.<name>): for partner platforms
    requested_by: str | None = None  # the partner whose own request it is hears every step
    clue_id: str | None = None
    state: str | None = None     # the state the step led to
    at: str | None = None        # when (ISO)
    partner: str | None = None   # transferred to this partner (its username)
    shared: dict | None = None   # what the partner receives of a transferred problem

    @property
    def ref(self) -> str:
        return self.problem_id or self.unit or ""


@dataclass(frozen=True)
class Person:
    account_id: str
    role: str
    org_code: str | None
    active: bool = True
    email: str | None = None
    display_name: str = ""


class Directory(Protocol):
    def members(self, org_code: str) -> list[Person]: ...
    def with_role(self, role: str) -> list[Person]: ...
    def head_of(self, org_code: str) -> str | None: ...
    def partners(self, *, username: str) -> list[Person]: ...


class Registry(Protocol):
    """The campaign's organization registry (``contracts.campaign.Campaign``)."""

    def supervisor_of(self, org_code: str): ...
    organizations: tuple


@dataclass(frozen=True)
class Notice:
    """One person's message about one event."""

    event_id: str
    account_id: str
    name: str
    ref: str
    problem_id: str | None
    subject_zh: str
    subject_en: str
    reminder: bool = False
    data: dict | None = None  # a partner's payload (``shared``, ``request_status``)


class WorkDays:
    """Working days by the Chinese official calendar; a campaign file's listed years first."""

    def __init__(self, listed: dict[int, tuple[Iterable[date], Iterable[date]]] | None = None):
        listed = listed or {}
        self.years = frozenset(listed)
        self.off = frozenset(d for off, _ in listed.values() for d in off)
        self.on = frozenset(d for _, on in listed.values() for d in on)

    @classmethod
    def of(cls, campaign) -> "WorkDays":
        return cls({y: (e.holidays, e.workdays) for y, e in campaign.calendar.items()})

    def is_workday(self, day: date) -> bool:
        if day.year in self.years:
            return day in self.on or (day.weekday() < 5 and day not in self.off)
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            return day.weekday() < 5

    def between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 if end <= start)."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_workday(day)
        return count


def county_office_of(registry) -> str | None:
    return next((o.code for o in registry.organizations if o.type == "county_office"), None)


def supervising_body(occ: Occurrence, registry) -> str | None:
    if occ.supervisor:
        return occ.supervisor
    body = registry.supervisor_of(occ.unit) if occ.unit else None
    return body.code if body else county_office_of(registry)


def audiences(rule: Rule, occ: Occurrence, today: date, grace: int,
              workdays: WorkDays) -> list[Audience]:
    """The rule's audiences, and for a clock event past its grace, the ladder above."""
    found = list(rule.audience)
    if rule.escalates and occ.due is not None:
        late = workdays.between(occ.due, today)
        if late > grace:
            found.append(S)
        if late > 2 * grace:
            found.append(C)
    return found


def accounts_for(audience: Audience, occ: Occurrence, registry, directory: Directory) -> list[str]:
    def active(people):
        return [p.account_id for p in people if p.active and p.role in ORG_ROLES]

    if audience is P:
        return [p.account_id for p in directory.partners(username=occ.partner)
                if p.active and p.role == PARTNER_ROLE] if occ.partner else []
    if audience is A:
        return active(directory.members(occ.unit)) if occ.unit else []
    if audience is H:
        head = directory.head_of(occ.unit) if occ.unit else None
        return [head] if head else accounts_for(A, occ, registry, directory)
    if audience is S:
        body = supervising_body(occ, registry)
        if body and body == county_office_of(registry):
            return accounts_for(C, occ, registry, directory)
        return active(directory.members(body)) if body else []
    county = county_office_of(registry)
    people = (directory.members(county) if county else []) + directory.with_role("county_office")
    return active(people)


def notices_for(occ: Occurrence, registry, directory: Directory, *, today: date, grace: int,
                workdays: WorkDays) -> list[Notice]:
    """Every person who must hear of ``occ``, once each (an unknown event: nobody but the
    partner whose request it is)."""
    rule = RULES.get(occ.name)
    notices: dict[str, Notice] = {}
    if rule is not None:
        subject_zh, subject_en = rule.subject_zh, rule.subject_en
        if occ.title:
            subject_zh, subject_en = f"{subject_zh}：{occ.title}", f"{subject_en}: {occ.title}"
        for audience in audiences(rule, occ, today, grace, workdays):
            for account in accounts_for(audience, occ, registry, directory):
                notices.setdefault(account, Notice(
                    occ.event_id, account, occ.name, occ.ref, occ.problem_id,
                    subject_zh[:400], subject_en[:400], rule.reminder,
                    shared_with(occ) if audience is P else None))
    for account in request_owners(occ, directory):
        held = notices.get(account)
        status = request_status(occ)
        notices[account] = Notice(
            occ.event_id, account, occ.name, occ.ref, occ.problem_id, *REQUEST_SUBJECT,
            data=status) if held is None else replace(held, data={**(held.data or {}),
                                                                   **status})
    return list(notices.values())


# --- partner platforms (协作平台) -------------------------------------------------------------

PARTNER_ROLE = "partner"
REQUEST_SUBJECT = ("您提交的问题办理状态已更新", "The status of a request you submitted changed")


def request_owners(occ: Occurrence, directory: Directory) -> list[str]:
    """The partner whose own request ``occ``'s problem is (its lifecycle steps only): the
    account that submitted the clue, exactly; partners sharing a channel hear nothing of
    each other's requests."""
    if not occ.requested_by or not occ.clue_id:
        return []
    return [p.account_id for p in directory.partners(username=occ.requested_by)
            if p.active and p.role == PARTNER_ROLE]


def request_status(occ: Occurrence) -> dict:
    """A step of a partner's own request as Open311 says it (GeoReport v2's status is open or
    closed; the ledger's state beside it, as FixMyStreet does)."""
    return {"service_request_id": occ.clue_id, "problem_id": occ.problem_id,
            "status": "closed" if occ.state == "closed" else "open", "state": occ.state,
            "event": occ.name, "at": occ.at}


@dataclass(frozen=True)
class PartnerWebhook:
    """A partner's webhook as notify will call it (none: ``url`` None), and, when the one
    the gateway sent was dropped, why (``refused``: a ``kit.webhooks`` reason, or
    ``webhook_secret_unreadable``)."""

    url: str | None = None
    secret: str | None = None
    refused: str | None = None


def partner_webhook(link, *, unseal, check) -> PartnerWebhook:
    """The webhook of a partner's directory entry (``contracts.events.PartnerLink``): its
    secret opened (``unseal(token)``: the secret, or None when the token does not open
    under ``PARTNER_WEBHOOK_KEY``; a version-1 message's secret came in clear), its URL
    checked as every webhook target is (``check(url)``: ``kit.webhooks``). Either refused:
    no webhook (the partner's inbox still gets everything)."""
    if not link.webhook_url:
        return PartnerWebhook()
    sealed = link.webhook_secret_sealed
    secret = unseal(sealed) if sealed else link.webhook_secret  # (version 1: in clear)
    if not secret:
        return PartnerWebhook(refused="webhook_secret_unreadable" if sealed else None)
    try:
        return PartnerWebhook(check(link.webhook_url), secret)
    except BadWebhookTarget as refused:
        return PartnerWebhook(refused=refused.reason)


def shared_with(occ: Occurrence) -> dict:
    """What a partner receives of a problem transferred to it: the case, never the reporter."""
    return {"transferred": dict(occ.shared or {})}


# --- preferences and channels ----------------------------------------------------------------

class Channel(StrEnum):
    INBOX = "inbox"      # always
    EMAIL = "email"
    WEBHOOK = "webhook"  # meant for system accounts (a unit's OA system, a partner platform)


@dataclass(frozen=True)
class Preferences:
    """One person's choices (通知偏好). The inbox is always on."""

    email: bool = True                # email when an address is known
    email_address: str | None = None  # instead of the directory's
    webhook_url: str | None = None
    quiet_hours: bool = False         # email/webhook only in working time (工作时间)
    digest: bool = False              # one email a working day instead of single messages
    email_failing: bool = False       # set when mail bounced; cleared by setting an address
    webhook_disabled: bool = False    # set when the receiver answered 410 Gone


def channels_for(person: Person | None, prefs: Preferences) -> list[Channel]:
    """The channels one notice goes out on for this person, inbox first."""
    found = [Channel.INBOX]
    address = prefs.email_address or (person.email if person else None)
    if prefs.email and address and not prefs.email_failing:
        found.append(Channel.EMAIL)
    if prefs.webhook_url and not prefs.webhook_disabled:
        found.append(Channel.WEBHOOK)
    return found


def in_working_time(moment: datetime, workdays: WorkDays) -> bool:
    local = moment.astimezone(LOCAL)
    return workdays.is_workday(local.date()) and WORK_START <= local.time() < WORK_END


def next_working_start(moment: datetime, workdays: WorkDays) -> datetime:
    """The next start of working time at or after ``moment`` (e.g. after a holiday)."""
    local = moment.astimezone(LOCAL)
    day = local.date()
    if local.time() >= WORK_END or not workdays.is_workday(day):
        day += timedelta(days=1)
    elif local.time() < WORK_START:
        pass
    else:
        return moment
    while not workdays.is_workday(day):
        day += timedelta(days=1)
    return datetime.combine(day, WORK_START, tzinfo=LOCAL)


def send_at(notice: Notice, prefs: Preferences, now: datetime, workdays: WorkDays) -> datetime:
    """When a notice's email or webhook may go out: now, unless the person keeps quiet hours
    or it is a reminder and now is outside working time (then the next working start)."""
    if (prefs.quiet_hours or notice.reminder) and not in_working_time(now, workdays):
        return next_working_start(now, workdays)
    return now


def next_digest_at(now: datetime, workdays: WorkDays) -> datetime:
    """The next daily digest time after ``now`` (working days only)."""
    local = now.astimezone(LOCAL)
    day = local.date() if local.time() < DIGEST_AT else local.date() + timedelta(days=1)
    while not workdays.is_workday(day):
        day += timedelta(days=1)
    return datetime.combine(day, DIGEST_AT, tzinfo=LOCAL)


# --- retries --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Backoff:
    """Delays (seconds) before each retry; after the last the delivery is dead (死信) until
    ops replay it. Standard Webhooks suggests 5 s, 5 min, 30 min, 2 h, 5 h, 10 h."""

    delays: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000)

    @classmethod
    def parse(cls, text: str) -> "Backoff":
        return cls(tuple(float(x) for x in text.split(",") if x.strip()))

    def next_delay(self, attempts: int) -> float | None:
        """The delay after ``attempts`` failed attempts, or None: give up."""
        return self.delays[attempts - 1] if 0 < attempts <= len(self.delays) else None


@dataclass(frozen=True)
class Outcome:
    """What one attempt at a delivery came to."""

    ok: bool
    detail: str = ""
    permanent: bool = False  # never worth retrying (a bounced address, 4xx but 408/429)
    gone: bool = False       # the webhook receiver answered 410: disable it


def after_attempt(outcome: Outcome, attempts: int, backoff: Backoff) -> tuple[str, float | None]:
    """The delivery's next state and, when it is retried, the delay."""
    if outcome.ok:
        return "sent", None
    if outcome.gone:
        return "disabled", None
    if outcome.permanent:
        return "failed", None
    delay = backoff.next_delay(attempts)
    return ("pending", delay) if delay is not None else ("dead", None)


def webhook_outcome(status: int) -> Outcome:
    if 200 <= status < 300:
        return Outcome(True, f"HTTP {status}")
    if status == 410:
        return Outcome(False, "HTTP 410 Gone", gone=True)
    return Outcome(False, f"HTTP {status}")


def smtp_outcome(code: int | None, detail: str) -> Outcome:
    """An SMTP refusal: 5xx is permanent (the address bounced), anything else transient."""
    if code is not None and 500 <= code < 600:
        return Outcome(False, f"SMTP {code} {detail}"[:500], permanent=True)
    return Outcome(False, f"SMTP {code or ''} {detail}".strip()[:500])
