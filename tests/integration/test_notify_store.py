"""notify's use cases on a real store (SQLite and PostgreSQL): people from the directory,
exactly one inbox item and one claimed delivery per person, channel and event; retries,
the dead list, bounces, 410, quiet hours and the digest under an injected clock."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from contracts.campaign import load_default_campaign
from contracts.events import AccountChanged, ProblemTransitioned
from kit.db import make_engine
from kit.migrate import upgrade
from kit.store import Inbox, Outbox
from kit.uow import UnitOfWork
from services.notify import domain, handlers
from services.notify.adapters import orm

ROOT = Path(__file__).resolve().parents[2]
SCHOOL = "org_sch_yanshan_high"
CAMPAIGN = load_default_campaign()


class Clock:
    def __init__(self, moment):
        self.now = moment

    def __call__(self):
        return self.now


class Store:
    def __init__(self, url):
        upgrade(ROOT / "services" / "notify", url)
        self.factory = sessionmaker(make_engine(url), expire_on_commit=False)

    def __call__(self, consumer="tests.notify"):
        return UnitOfWork(self.factory, Outbox(orm.outbox_table), Inbox(orm.inbox_table),
                          consumer=consumer)

    def rows(self, table, *where):
        with self.factory() as s:
            return [dict(r._mapping) for r in s.execute(select(table).where(*where))]


@pytest.fixture
def store(database_url):
    return Store(database_url)


@pytest.fixture
def clock():
    return Clock(datetime(2026, 12, 2, 10, 0, tzinfo=domain.LOCAL))  # a Wednesday, 10:00


@pytest.fixture
def ctx(clock):
    return handlers.Context(campaign=CAMPAIGN, workdays=domain.WorkDays.of(CAMPAIGN),
                            backoff=domain.Backoff.parse("60,60"), lease_seconds=30,
                            clock=clock)


def person(store, account_id, role="unit_handler", org=SCHOOL, email=None, at=None, **kw):
    msg = AccountChanged(account_id=account_id, username=account_id, display_name=account_id,
                         role=role, org_code=org, email=email, **kw,
                         **({"occurred_at": at} if at else {}))
    handlers.account_changed(store(), msg)
    return msg


def dispatched(event_id="ev1", unit=SCHOOL):
    return ProblemTransitioned(event_id=event_id, name="dispatched", problem_id="p1",
                               action="dispatch", from_state="registered",
                               to_state="dispatched", unit=unit, actor="county",
                               actor_role="county_office", history_seq=1)


class Senders:
    def __init__(self, email=(), webhook=()):
        self.email_script, self.webhook_script = list(email), list(webhook)
        self.sent = []

    def email(self, row):
        self.sent.append(("email", row["payload"]["target"]))
        return self.email_script.pop(0) if self.email_script else domain.Outcome(True)

    def webhook(self, row, secret):
        self.sent.append(("webhook", secret))
        return self.webhook_script.pop(0) if self.webhook_script else domain.Outcome(True)

    def pair(self):
        return handlers.Senders(self.email, self.webhook)


def route(store, ctx, msg):
    return handlers.route(store(), handlers.occurrence_of(msg), ctx)


def test_a_dispatch_gives_each_handler_one_inbox_item_and_one_claimed_email(store, ctx):
    person(store, "h1", email="h1@example.org")
    person(store, "h2", email="h2@example.org")
    person(store, "edu", role="supervisor", org="org_education_bureau")
    assert route(store, ctx, dispatched()) == 2
    assert route(store, ctx, dispatched()) == 0  # redelivered: nothing more
    # even past the inbox mark, the unique claims hold: nothing doubles
    with store() as uow:
        handlers.record(uow.session, handlers.occurrence_of(dispatched()), ctx)
        uow.commit()
    assert sorted(r["account_id"] for r in store.rows(orm.notices)) == ["h1", "h2"]
    assert sorted((r["account_id"], r["channel"]) for r in store.rows(orm.deliveries)) == [
        ("h1", "email"), ("h2", "email")]


def test_sending_retries_on_the_schedule_and_stops_once_sent(store, ctx, clock):
    person(store, "h1", email="h1@example.org")
    route(store, ctx, dispatched())
    fail = domain.smtp_outcome(None, "ConnectionRefusedError")
    senders = Senders(email=[fail, fail])
    assert handlers.sweep(store, ctx, senders.pair()) == 1
    assert handlers.sweep(store, ctx, senders.pair()) == 0  # waits its delay
    clock.now += timedelta(seconds=61)
    assert handlers.sweep(store, ctx, senders.pair()) == 1
    clock.now += timedelta(seconds=61)
    assert handlers.sweep(store, ctx, senders.pair()) == 1
    clock.now += timedelta(hours=1)
    assert handlers.sweep(store, ctx, senders.pair()) == 0
    [row] = store.rows(orm.deliveries)
    assert (row["state"], row["attempts"]) == ("sent", 3)
    assert [a["ok"] for a in store.rows(orm.attempts)] == [False, False, True]


def test_what_keeps_failing_lands_in_the_dead_list_and_ops_can_replay_it(store, ctx, clock):
    person(store, "h1", email="h1@example.org")
    route(store, ctx, dispatched())
    fail = domain.Outcome(False, "SMTP 421")
    senders = Senders(email=[fail, fail, fail])
    for _ in range(3):
        handlers.sweep(store, ctx, senders.pair())
        clock.now += timedelta(seconds=61)
    [row] = store.rows(orm.deliveries)
    assert row["state"] == "dead"
    with store() as uow:
        assert [d["id"] for d in orm.listing(uow.session, states=("dead",), limit=10)] == [
            row["id"]]
        assert orm.replay(uow.session, row["id"], clock()) is True
        assert orm.replay(uow.session, row["id"], clock()) is False  # no longer dead
        uow.commit()
    assert handlers.sweep(store, ctx, senders.pair()) == 1
    assert store.rows(orm.deliveries)[0]["state"] == "sent"


def test_a_bounced_address_marks_email_failing_and_later_notices_stay_in_the_inbox(
        store, ctx):
    person(store, "h1", email="nobody@example.org")
    route(store, ctx, dispatched("ev1"))
    handlers.sweep(store, ctx, Senders(email=[domain.smtp_outcome(550, "no such user")]).pair())
    assert store.rows(orm.deliveries)[0]["state"] == "failed"
    assert store.rows(orm.preferences)[0]["email_failing"] is True
    route(store, ctx, dispatched("ev2"))
    assert len(store.rows(orm.notices)) == 2
    assert len(store.rows(orm.deliveries)) == 1  # no email for the second: inbox only


def test_a_webhook_receiver_answering_410_is_disabled(store, ctx):
    person(store, "sys", email=None)
    with store() as uow:
        orm.save_preferences(uow.session, "sys", domain.Preferences(
            webhook_url="https://hooks.example/h"), "whsec_c2VjcmV0")
        uow.commit()
    route(store, ctx, dispatched("ev1").model_copy(update={"unit": SCHOOL}))
    senders = Senders(webhook=[domain.webhook_outcome(410)])
    handlers.sweep(store, ctx, senders.pair())
    assert senders.sent == [("webhook", "whsec_c2VjcmV0")]
    assert store.rows(orm.deliveries)[0]["state"] == "disabled"
    assert store.rows(orm.preferences)[0]["webhook_disabled"] is True
    route(store, ctx, dispatched("ev2"))
    assert len(store.rows(orm.deliveries)) == 1


def test_a_leased_delivery_is_sent_by_one_process_and_retried_after_a_crash(store, ctx, clock):
    person(store, "h1", email="h1@example.org")
    route(store, ctx, dispatched())
    [row] = store.rows(orm.deliveries)
    with store() as uow:  # one process took it and died mid-send
        assert orm.lease(uow.session, row["id"], clock(), 30) is not None
        uow.commit()
    senders = Senders()
    assert handlers.sweep(store, ctx, senders.pair()) == 0  # the other waits for the lease
    clock.now += timedelta(seconds=31)
    assert handlers.sweep(store, ctx, senders.pair()) == 1
    assert store.rows(orm.deliveries)[0]["state"] == "sent"


def test_quiet_hours_hold_email_until_the_next_working_morning(store, ctx, clock):
    person(store, "h1", email="h1@example.org")
    with store() as uow:
        orm.save_preferences(uow.session, "h1", domain.Preferences(quiet_hours=True), None)
        uow.commit()
    clock.now = datetime(2026, 12, 4, 19, 0, tzinfo=domain.LOCAL)  # Friday evening
    route(store, ctx, dispatched())
    assert len(store.rows(orm.notices)) == 1  # the inbox has it at once
    senders = Senders()
    clock.now = datetime(2026, 12, 5, 10, 0, tzinfo=domain.LOCAL)  # Saturday
    assert handlers.sweep(store, ctx, senders.pair()) == 0
    clock.now = datetime(2026, 12, 7, 8, 31, tzinfo=domain.LOCAL)  # Monday
    assert handlers.sweep(store, ctx, senders.pair()) == 1


def test_the_daily_digest_sends_one_email_for_the_days_notices(store, ctx, clock):
    person(store, "h1", email="h1@example.org")
    with store() as uow:
        orm.save_preferences(uow.session, "h1", domain.Preferences(digest=True), None)
        uow.commit()
    for i in range(3):
        route(store, ctx, dispatched(f"ev{i}"))
    senders = Senders()
    assert handlers.sweep(store, ctx, senders.pair()) == 0
    assert handlers.digests(store, ctx) == 0  # not yet the digest time
    clock.now = datetime(2026, 12, 3, 8, 30, tzinfo=domain.LOCAL)
    assert handlers.digests(store, ctx) == 1
    assert handlers.digests(store, ctx) == 0
    assert handlers.sweep(store, ctx, senders.pair()) == 1
    assert senders.sent == [("email", "h1@example.org")]


def test_the_directory_keeps_the_newest_state_of_an_account(store, ctx):
    t0 = datetime(2026, 12, 1, tzinfo=timezone.utc)
    person(store, "h1", at=t0 + timedelta(minutes=2), active=False)
    person(store, "h1", at=t0, active=True)  # older, arriving late: ignored
    assert store.rows(orm.directory)[0]["active"] is False
    assert route(store, ctx, dispatched()) == 0
    person(store, "h2", at=t0, principal_head="head1")
    with store() as uow:
        assert orm.SqlDirectory(uow.session).head_of(SCHOOL) == "head1"
