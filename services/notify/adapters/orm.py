"""notify's own tables: the account directory (its projection of the gateway's accounts), each
person's preferences, the inbox (站内通知), and the deliveries by email and webhook with
their attempts.

Exactly once per person per event and channel: a delivery is claimed with ``INSERT … ON
CONFLICT DO NOTHING`` on the unique (event id, account id, channel) before anything is
sent, on SQLite and PostgreSQL alike; the inbox item likewise on (event id, account id).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from sqlalchemy import (
    JSON, BigInteger, Boolean, Column, DateTime, Index, Integer, MetaData, String, Table,
    UniqueConstraint, and_, func, or_, select, update,
)

from kit import deferred
from kit.store import add_outbox_and_inbox, insert_new_in
from services.notify.domain import Person, Preferences

metadata = MetaData()
ID = BigInteger().with_variant(Integer, "sqlite")

directory = Table(
    "directory", metadata,
    Column("account_id", String(64), primary_key=True),
    Column("username", String(64), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("role", String(32), nullable=False),
    Column("org_code", String(64), nullable=True, index=True),
    Column("email", String(320), nullable=True),
    Column("active", Boolean, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

org_heads = Table(
    "org_heads", metadata,
    Column("org_code", String(64), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

partner_links = Table(  # partner platforms (协作平台): their channels, the newest entry's time
    "partner_links", metadata,
    Column("account_id", String(64), primary_key=True),
    Column("channels", JSON, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

preferences = Table(
    "preferences", metadata,
    Column("account_id", String(64), primary_key=True),
    Column("email", Boolean, nullable=False, default=True),
    Column("email_address", String(320), nullable=True),
    Column("webhook_url", String(2000), nullable=True),
    Column("webhook_secret", String(400), nullable=True),  # a partner's may be long
    Column("quiet_hours", Boolean, nullable=False, default=False),
    Column("digest", Boolean, nullable=False, default=False),
    Column("email_failing", Boolean, nullable=False, default=False),
    Column("webhook_disabled", Boolean, nullable=False, default=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

notices = Table(  # the inbox
    "notices", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("name", String(64), nullable=False),
    Column("ref", String(64), nullable=False),
    Column("problem_id", String(64), nullable=True),
    Column("subject_zh", String(400), nullable=False),
    Column("subject_en", String(400), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("read_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("event_id", "account_id", name="uq_notice_event_account"),
    Index("ix_notices_account", "account_id", "id"),
)

deliveries = Table(
    "deliveries", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("channel", String(16), nullable=False),
    # pending (to send at next_at) | digest (waits for the daily digest) | sent | digested |
    # failed (permanent) | disabled (410) | dead (retries spent; ops may replay)
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_at", DateTime(timezone=True), nullable=False),
    Column("lease_until", DateTime(timezone=True), nullable=True),
    Column("last_error", String(500), nullable=True),
    Column("payload", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("done_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("event_id", "account_id", "channel", name="uq_delivery_once"),
    Index("ix_deliveries_due", "state", "next_at"),
)

attempts = Table(
    "delivery_attempts", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("delivery_id", ID, nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("detail", String(500), nullable=False),
)

outbox_table, inbox_table = add_outbox_and_inbox(metadata)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def aware(moment: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back; they were written in UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


# --- the directory ---------------------------------------------------------------------------

def upsert_account(session, msg) -> bool:
    """Keep the newest state of an account; an older message changes nothing."""
    row = {"account_id": msg.account_id, "username": msg.username,
           "display_name": msg.display_name, "role": msg.role, "org_code": msg.org_code,
           "email": msg.email, "active": msg.active, "changed_at": msg.occurred_at}
    held = session.execute(select(directory.c.changed_at).where(
        directory.c.account_id == msg.account_id)).scalar_one_or_none()
    if held is None:
        session.execute(insert_new_in(session, directory), row)
    elif aware(held) <= msg.occurred_at:
        session.execute(update(directory).where(directory.c.account_id == msg.account_id)
                        .values(**row))
    else:
        return False
    if msg.principal_head and msg.org_code:
        session.execute(insert_new_in(session, org_heads), {
            "org_code": msg.org_code, "account_id": msg.principal_head,
            "changed_at": msg.occurred_at})
        session.execute(update(org_heads).where(and_(
            org_heads.c.org_code == msg.org_code, org_heads.c.changed_at <= msg.occurred_at))
            .values(account_id=msg.principal_head, changed_at=msg.occurred_at))
    return True


def apply_partner(session, account_id: str, channels, webhook, occurred_at: datetime) -> bool:
    """A partner's channels and webhook (``domain.PartnerWebhook``: opened and checked) as
    the gateway sent them; an older message changes nothing. Its webhook becomes its
    notification preference, signed with its own secret; a new URL is enabled again (a 410
    disabled the old one)."""
    held = session.execute(select(partner_links.c.changed_at).where(
        partner_links.c.account_id == account_id)).scalar_one_or_none()
    if held is not None and aware(held) > occurred_at:
        return False
    row = {"channels": list(channels), "changed_at": occurred_at}
    session.execute(insert_new_in(session, partner_links), {"account_id": account_id, **row})
    session.execute(update(partner_links).where(partner_links.c.account_id == account_id)
                    .values(**row))
    prefs, _ = preferences_of(session, [account_id])[account_id]
    url = webhook.url if webhook.secret else None
    changes = {"webhook_url": url}
    if url != prefs.webhook_url:
        changes["webhook_disabled"] = False
    save_preferences(session, account_id, replace(prefs, **changes),
                     webhook.secret if url else None)
    return True


def _person(r) -> Person:
    return Person(account_id=r.account_id, role=r.role, org_code=r.org_code,
                  active=bool(r.active), email=r.email, display_name=r.display_name)


class SqlDirectory:
    """The rules' ``Directory`` over this store, each organization read once per
    transaction (a batch of events to one unit reads its people once)."""

    def __init__(self, session):
        self.session = session
        cache = deferred.scratch(session)
        self._members: dict[str, list[Person]] = cache.setdefault("notify.members", {})
        self._people: dict[str, Person] = cache.setdefault("notify.people", {})

    def members(self, org_code: str) -> list[Person]:
        if org_code not in self._members:
            self._members[org_code] = [_person(r) for r in self.session.execute(
                select(directory).where(directory.c.org_code == org_code))]
            self._people.update((p.account_id, p) for p in self._members[org_code])
        return self._members[org_code]

    def with_role(self, role: str) -> list[Person]:
        key = f"role:{role}"
        if key not in self._members:
            self._members[key] = [_person(r) for r in self.session.execute(
                select(directory).where(directory.c.role == role))]
        return self._members[key]

    def partners(self, *, username: str) -> list[Person]:
        """The active partner account named ``username`` (none, or one)."""
        key = f"partner:{username}"
        if key not in self._members:
            self._members[key] = [_person(r) for r in self.session.execute(select(
                directory).where(directory.c.username == username,
                                 directory.c.role == "partner", directory.c.active.is_(True)))]
        return self._members[key]

    def head_of(self, org_code: str) -> str | None:
        return self.session.execute(select(org_heads.c.account_id).where(
            org_heads.c.org_code == org_code)).scalar_one_or_none()

    def people(self, account_ids: list[str]) -> dict[str, Person]:
        missing = [a for a in account_ids if a not in self._people]
        if missing:
            self._people.update((r.account_id, _person(r)) for r in self.session.execute(
                select(directory).where(directory.c.account_id.in_(missing))))
        return {a: self._people[a] for a in account_ids if a in self._people}


def directory_size(session) -> int:
    return session.execute(select(func.count()).select_from(directory)).scalar_one()


# --- preferences -----------------------------------------------------------------------------

PREF_FIELDS = ("email", "email_address", "webhook_url", "quiet_hours", "digest",
               "email_failing", "webhook_disabled")


def preferences_of(session, account_ids: list[str], *, cached: bool = False
                   ) -> dict[str, tuple[Preferences, str | None]]:
    """Each account's preferences and webhook secret (defaults where none are stored);
    ``cached``: read each account once per transaction (routing a batch)."""
    cache = deferred.scratch(session).setdefault("notify.prefs", {}) if cached else {}
    missing = [a for a in account_ids if a not in cache]
    if missing:
        found = {r.account_id: (Preferences(**{f: getattr(r, f) for f in PREF_FIELDS}),
                                r.webhook_secret)
                 for r in session.execute(select(preferences).where(
                     preferences.c.account_id.in_(missing)))}
        cache.update({a: found.get(a, (Preferences(), None)) for a in missing})
    return {a: cache[a] for a in account_ids}


def save_preferences(session, account_id: str, prefs: Preferences,
                     webhook_secret: str | None) -> None:
    row = {**{f: getattr(prefs, f) for f in PREF_FIELDS}, "webhook_secret": webhook_secret,
           "updated_at": utcnow()}
    session.execute(insert_new_in(session, preferences), {"account_id": account_id, **row})
    session.execute(update(preferences).where(preferences.c.account_id == account_id)
                    .values(**row))


def mark_preference(session, account_id: str, **values) -> None:
    session.execute(insert_new_in(session, preferences), {
        "account_id": account_id, **{f: getattr(Preferences(), f) for f in PREF_FIELDS},
        "updated_at": utcnow()})
    session.execute(update(preferences).where(preferences.c.account_id == account_id)
                    .values(**values, updated_at=utcnow()))


# --- the inbox -------------------------------------------------------------------------------

def add_notices(session, rows: list[dict]) -> None:
    """Written at the commit with the batch's other items, one statement (kit.deferred)."""
    statement = insert_new_in(session, notices)
    for row in rows:
        deferred.defer(session, statement, row)


def inbox(session, account_id: str, *, limit: int, unread_only: bool = False,
          before: int | None = None) -> list[dict]:
    query = select(notices).where(notices.c.account_id == account_id)
    if unread_only:
        query = query.where(notices.c.read_at.is_(None))
    if before:
        query = query.where(notices.c.id < before)
    rows = session.execute(query.order_by(notices.c.id.desc()).limit(limit))
    return [{"id": r.id, "event": r.name, "ref": r.ref, "problem_id": r.problem_id,
             "subject_zh": r.subject_zh, "subject_en": r.subject_en,
             "created_at": aware(r.created_at).isoformat(),
             "read": r.read_at is not None} for r in rows]


def unread_count(session, account_id: str) -> int:
    return session.execute(select(func.count()).select_from(notices).where(
        notices.c.account_id == account_id, notices.c.read_at.is_(None))).scalar_one()


def mark_read(session, account_id: str, ids: list[int] | None) -> int:
    query = update(notices).where(notices.c.account_id == account_id,
                                  notices.c.read_at.is_(None))
    if ids is not None:
        query = query.where(notices.c.id.in_(ids))
    return session.execute(query.values(read_at=utcnow())).rowcount


def notice_count(session) -> int:
    return session.execute(select(func.count()).select_from(notices)).scalar_one()


# --- deliveries ------------------------------------------------------------------------------

def claim_deliveries(session, rows: list[dict]) -> None:
    """Claim (event, account, channel) rows; one already there stays as it is. Written
    at the commit with the batch's other claims, one statement (kit.deferred)."""
    statement = insert_new_in(session, deliveries)
    for row in rows:
        deferred.defer(session, statement, row)


def due_ids(session, now: datetime, limit: int) -> list[int]:
    return list(session.execute(select(deliveries.c.id).where(
        deliveries.c.state == "pending", deliveries.c.next_at <= now,
        or_(deliveries.c.lease_until.is_(None), deliveries.c.lease_until < now))
        .order_by(deliveries.c.next_at).limit(limit)).scalars())


def lease(session, delivery_id: int, now: datetime, seconds: float) -> dict | None:
    """Take a due delivery for ``seconds``; None if another process holds it or it is done."""
    taken = session.execute(update(deliveries).where(
        deliveries.c.id == delivery_id, deliveries.c.state == "pending",
        or_(deliveries.c.lease_until.is_(None), deliveries.c.lease_until < now))
        .values(lease_until=now + timedelta(seconds=seconds),
                attempts=deliveries.c.attempts + 1)).rowcount
    if taken != 1:
        return None
    row = session.execute(select(deliveries).where(deliveries.c.id == delivery_id)).first()
    return dict(row._mapping)


def settle(session, delivery_id: int, *, state: str, ok: bool, detail: str, now: datetime,
           next_at: datetime | None = None) -> None:
    session.execute(attempts.insert(), {"delivery_id": delivery_id, "at": now, "ok": ok,
                                        "detail": detail[:500]})
    values = {"state": state, "lease_until": None, "last_error": None if ok else detail[:500]}
    if next_at is not None:
        values["next_at"] = next_at
    if state != "pending":
        values["done_at"] = now
    session.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(**values))


def waiting_digests(session, now: datetime) -> dict[str, list[dict]]:
    rows = session.execute(select(deliveries).where(
        deliveries.c.state == "digest", deliveries.c.next_at <= now)
        .order_by(deliveries.c.id))
    found: dict[str, list[dict]] = {}
    for r in rows:
        found.setdefault(r.account_id, []).append(dict(r._mapping))
    return found


def mark_digested(session, ids: list[int], now: datetime) -> None:
    session.execute(update(deliveries).where(deliveries.c.id.in_(ids), deliveries.c.state
                                             == "digest").values(state="digested", done_at=now))


def listing(session, *, states: tuple[str, ...], limit: int) -> list[dict]:
    rows = session.execute(select(deliveries).where(deliveries.c.state.in_(states))
                           .order_by(deliveries.c.id.desc()).limit(limit))
    return [_delivery(r) for r in rows]


def _delivery(r) -> dict:
    return {"id": r.id, "event_id": r.event_id, "account_id": r.account_id,
            "channel": r.channel, "state": r.state, "attempts": r.attempts,
            "last_error": r.last_error, "subject_zh": (r.payload or {}).get("subject_zh"),
            "created_at": aware(r.created_at).isoformat(),
            "done_at": aware(r.done_at).isoformat() if r.done_at else None}


def deliveries_of(session, event_id: str) -> list[dict]:
    rows = session.execute(select(deliveries).where(deliveries.c.event_id == event_id))
    return [_delivery(r) for r in rows]


def attempts_of(session, delivery_id: int) -> list[dict]:
    return [{"at": aware(r.at).isoformat(), "ok": r.ok, "detail": r.detail}
            for r in session.execute(select(attempts).where(
                attempts.c.delivery_id == delivery_id).order_by(attempts.c.id))]


def replay(session, delivery_id: int, now: datetime) -> bool:
    """A dead delivery goes out again, with a fresh budget of retries."""
    return session.execute(update(deliveries).where(
        deliveries.c.id == delivery_id, deliveries.c.state == "dead").values(
        state="pending", attempts=0, next_at=now, lease_until=None, done_at=None)).rowcount == 1


def counts(session) -> dict:
    return {state: n for state, n in session.execute(
        select(deliveries.c.state, func.count()).group_by(deliveries.c.state))}
