"""notify's use cases on a unit of work: route an event to people (inbox items and claimed
deliveries, one transaction), send what is due (after the claim committed), the daily digest,
preferences and the inbox.

Delivery is at-least-once towards SMTP and webhook receivers, exactly once in notify's
records: a delivery row is claimed (unique event/account/channel) in the transaction that
consumes the event; a sweeper leases due rows (``lease_until``), sends, and settles them. A
process killed mid-send leaves the lease to run out and the next sweep sends again with the
same Message-ID / webhook-id, so a receiver can tell the repeat.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Callable

from contracts.events import (
    AccountabilityEvent, AccountChanged, ProblemClockAlert, ProblemRegistered,
    ProblemTransitioned, WorkPlanFiled,
)
from contracts.vocabulary import LADDER_STEP_LABELS, ClockAlert, LadderStep
from kit import metrics
from kit.uow import AlreadyProcessed, UnitOfWork
from services.notify import domain
from services.notify.adapters import orm
from services.notify.domain import Backoff, Channel, Occurrence, Outcome, WorkDays

log = logging.getLogger(__name__)


@dataclass
class Context:
    """What the use cases need besides a unit of work (wired once, in the service)."""

    campaign: object
    workdays: WorkDays
    grace_days: int = 2
    backoff: Backoff = field(default_factory=Backoff)
    lease_seconds: float = 60.0
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)


# --- events in -------------------------------------------------------------------------------

def account_changed(uow: UnitOfWork, msg: AccountChanged,
                    open_webhook: Callable[..., domain.PartnerWebhook] | None = None) -> None:
    """The directory's entry; a partner's channels and webhook, its webhook opened by
    ``open_webhook(link)`` (``domain.partner_webhook`` with the key and the URL rule:
    required for a partner's entry), before the transaction (it may look the host up)."""
    if msg.partner is not None and open_webhook is None:
        raise TypeError("a partner's directory entry needs open_webhook")
    webhook = open_webhook(msg.partner) if msg.partner is not None else None
    if webhook is not None and webhook.refused:
        log.warning("partner %s: its webhook is not used (%s)", msg.username, webhook.refused)
    with uow:
        try:
            uow.consume_once(msg.event_id)
        except AlreadyProcessed:
            return
        orm.upsert_account(uow.session, msg)
        if webhook is not None:  # a partner platform's channels and webhook (协作平台)
            orm.apply_partner(uow.session, msg.account_id, msg.partner.channels, webhook,
                              msg.occurred_at)
        uow.commit()


def occurrence_of(msg) -> Occurrence:
    """Any contract mapped to the shape the rules take."""
    if isinstance(msg, ProblemTransitioned):
        data = msg.data or {}
        return Occurrence(msg.event_id, msg.name, problem_id=msg.problem_id, unit=msg.unit,
                          supervisor=msg.supervisor, requested_by=msg.requested_by,
                          clue_id=msg.clue_id, state=msg.to_state, at=msg.occurred_at.isoformat(),
                          partner=data.get("partner") if msg.action == "transfer_out" else None,
                          shared=data.get("shared"))
    if isinstance(msg, ProblemRegistered):
        return Occurrence(msg.event_id, "problem_registered", problem_id=msg.problem_id,
                          unit=msg.unit, title=msg.title)
    if isinstance(msg, WorkPlanFiled):
        return Occurrence(msg.event_id, "work_plan_filed", unit=msg.unit,
                          supervisor=msg.supervisor)
    if isinstance(msg, ProblemClockAlert):
        return Occurrence(msg.event_id, domain.CLOCK_EVENT_NAMES[ClockAlert(msg.name)],
                          problem_id=msg.problem_id, unit=msg.unit, supervisor=msg.supervisor,
                          due=msg.due_on, title=msg.title)
    if isinstance(msg, AccountabilityEvent):
        try:
            title = LADDER_STEP_LABELS[LadderStep(msg.step)][0]
        except ValueError:
            title = None
        return Occurrence(msg.event_id, f"ladder_{msg.name}", unit=msg.unit,
                          supervisor=msg.supervisor, due=msg.due_on, title=title)
    # any other event in the documented shape (domain.py): e.g. the reporting rhythm's;
    # its name is its ``name`` field, else its event type
    name = getattr(msg, "name", None) or getattr(msg, "event_type", None)
    if not isinstance(name, str):
        raise TypeError(f"no occurrence for {type(msg).__name__}")
    return Occurrence(msg.event_id, name, problem_id=getattr(msg, "problem_id", None),
                      unit=getattr(msg, "unit", None),
                      supervisor=getattr(msg, "supervisor", None),
                      due=_day(getattr(msg, "due", None) or getattr(msg, "due_on", None)),
                      title=getattr(msg, "title", None))


def _day(value):
    """A due date as the rules take it (a date; a datetime's day in China)."""
    if isinstance(value, datetime):
        return value.astimezone(domain.LOCAL).date()
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value


def route(uow: UnitOfWork, occ: Occurrence, ctx: Context) -> int:
    """Every person who must hear of ``occ`` gets an inbox item, and a claimed delivery per
    further channel; returns how many people. A message seen before changes nothing."""
    with uow:
        try:
            uow.consume_once(occ.event_id)
        except AlreadyProcessed:
            return 0
        people = record(uow.session, occ, ctx)
        uow.commit()
        return people


def record(session, occ: Occurrence, ctx: Context) -> int:
    now = ctx.clock()
    directory = orm.SqlDirectory(session)
    notices = domain.notices_for(occ, ctx.campaign, directory, today=now.astimezone(
        domain.LOCAL).date(), grace=ctx.grace_days, workdays=ctx.workdays)
    if not notices:
        return 0
    ids = [n.account_id for n in notices]
    people = directory.people(ids)
    prefs = orm.preferences_of(session, ids, cached=True)
    inbox, claims = [], []
    for n in notices:
        inbox.append({"event_id": n.event_id, "account_id": n.account_id, "name": n.name,
                      "ref": n.ref, "problem_id": n.problem_id, "subject_zh": n.subject_zh,
                      "subject_en": n.subject_en, "created_at": now})
        pref, _secret = prefs[n.account_id]
        person = people.get(n.account_id)
        for channel in domain.channels_for(person, pref)[1:]:
            claims.append(claim_row(n, channel, pref, person, now, ctx))
    orm.add_notices(session, inbox)
    orm.claim_deliveries(session, claims)
    return len(notices)


def claim_row(n: domain.Notice, channel: Channel, pref: domain.Preferences, person, now,
              ctx: Context) -> dict:
    state, at = "pending", domain.send_at(n, pref, now, ctx.workdays)
    if channel is Channel.EMAIL and pref.digest:
        state, at = "digest", domain.next_digest_at(now, ctx.workdays)
    target = (pref.email_address or (person.email if person else None)
              if channel is Channel.EMAIL else pref.webhook_url)
    payload = {"name": n.name, "ref": n.ref, "problem_id": n.problem_id, "target": target,
               "subject_zh": n.subject_zh, "subject_en": n.subject_en,
               "at": now.isoformat()}
    if n.data:  # a partner platform's payload (domain.request_status, domain.shared_with)
        payload["data"] = n.data
    return {"event_id": n.event_id, "account_id": n.account_id, "channel": channel.value,
            "state": state, "attempts": 0, "next_at": at, "payload": payload,
            "created_at": now}


# --- sending ---------------------------------------------------------------------------------

class Senders:
    """The channels' transports (``adapters.channels``), injected: ``email(row) -> Outcome``,
    ``webhook(row, secret) -> Outcome``."""

    def __init__(self, email, webhook):
        self.email = email
        self.webhook = webhook


def sweep(new_uow, ctx: Context, senders: Senders, limit: int = 50) -> int:
    """Send what is due (pending, past ``next_at``, lease free); returns how many were tried."""
    now = ctx.clock()
    with new_uow() as uow:
        ids = orm.due_ids(uow.session, now, limit)
    tried = 0
    for delivery_id in ids:
        with new_uow() as uow:
            row = orm.lease(uow.session, delivery_id, ctx.clock(), ctx.lease_seconds)
            secret = None
            if row is not None and row["channel"] == Channel.WEBHOOK:
                secret = orm.preferences_of(uow.session, [row["account_id"]])[
                    row["account_id"]][1]
            uow.commit()
        if row is None:
            continue  # another process took it, or it is done
        tried += 1
        outcome = send_one(row, secret, senders)
        settle(new_uow, row, outcome, ctx)
    return tried


def send_one(row: dict, secret: str | None, senders: Senders) -> Outcome:
    try:
        if row["channel"] == Channel.EMAIL:
            return senders.email(row)
        if row["channel"] == Channel.WEBHOOK:
            if not secret:
                return Outcome(False, "no webhook secret", permanent=True)
            return senders.webhook(row, secret)
        return Outcome(False, f"unknown channel {row['channel']}", permanent=True)
    except Exception as exc:  # noqa: BLE001 - a transport's crash is a failed attempt
        log.warning("delivery %s: %s", row["id"], exc)
        return Outcome(False, f"{type(exc).__name__}: {exc}"[:500])


def settle(new_uow, row: dict, outcome: Outcome, ctx: Context) -> str:
    now = ctx.clock()
    state, delay = domain.after_attempt(outcome, row["attempts"], ctx.backoff)
    with new_uow() as uow:
        orm.settle(uow.session, row["id"], state=state, ok=outcome.ok, detail=outcome.detail,
                   now=now, next_at=now + timedelta(seconds=delay) if delay is not None
                   else None)
        if outcome.gone:
            orm.mark_preference(uow.session, row["account_id"], webhook_disabled=True)
        if row["channel"] == Channel.EMAIL and outcome.permanent:
            # the address bounced: the person's email is failing; the inbox keeps the notice
            orm.mark_preference(uow.session, row["account_id"], email_failing=True)
        uow.commit()
    metrics.delivered(row["channel"], state)
    if not outcome.ok:
        log.info("delivery %s (%s) attempt %s: %s -> %s", row["id"], row["channel"],
                 row["attempts"], outcome.detail, state)
    return state


def digests(new_uow, ctx: Context) -> int:
    """Gather each person's waiting digest items into one email (每日汇总), claimed once per
    person and day like any delivery."""
    now = ctx.clock()
    made = 0
    with new_uow() as uow:
        waiting = orm.waiting_digests(uow.session, now)
        day = now.astimezone(domain.LOCAL).date().isoformat()
        for account_id, items in waiting.items():
            lines = [f"- {i['payload']['subject_zh']} ({i['payload']['ref']})" for i in items]
            target = items[-1]["payload"].get("target")
            orm.claim_deliveries(uow.session, [{
                "event_id": f"digest-{day}", "account_id": account_id, "channel": "email",
                "state": "pending", "attempts": 0, "next_at": now, "created_at": now,
                "payload": {"name": "digest", "ref": "", "problem_id": None, "target": target,
                            "subject_zh": f"每日通知汇总（{len(items)} 条）",
                            "subject_en": f"Daily digest ({len(items)} notices)",
                            "lines": lines, "at": now.isoformat()}}])
            orm.mark_digested(uow.session, [i["id"] for i in items], now)
            made += 1
        uow.commit()
    return made


# --- preferences -----------------------------------------------------------------------------

def preferences_view(prefs: domain.Preferences, secret: str | None, *,
                     show_secret: bool = False) -> dict:
    view = {f: getattr(prefs, f) for f in orm.PREF_FIELDS}
    view["webhook_secret"] = secret if show_secret else None
    return view
