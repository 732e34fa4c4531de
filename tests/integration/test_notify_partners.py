"""notify and partner platforms (协作平台) on a real store (SQLite and PostgreSQL): the
gateway's directory entry of a partner sets its webhook, secret and channels (the newest
wins); a transfer to it and each step of its own requests are claimed once for its webhook,
with their payloads, and sent signed with its own secret; another partner gets nothing."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import functools

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from contracts.campaign import load_default_campaign
from contracts.events import AccountChanged, PartnerLink, ProblemTransitioned
from gateway.auth.partners import signing_secret
from kit.db import make_engine
from kit.migrate import upgrade
from kit.store import Inbox, Outbox
from kit.uow import UnitOfWork
from kit.webhooks import WebhookPolicy
from services.notify import domain, handlers
from services.notify.adapters import orm

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGN = load_default_campaign()
DISCIPLINE, CONDUCT = "partner_discipline_platform", "partner_conduct_platform"
T0 = datetime(2026, 12, 2, 2, 0, tzinfo=timezone.utc)


class Store:
    def __init__(self, url):
        upgrade(ROOT / "services" / "notify", url)
        self.factory = sessionmaker(make_engine(url), expire_on_commit=False)

    def __call__(self):
        return UnitOfWork(self.factory, Outbox(orm.outbox_table), Inbox(orm.inbox_table),
                          consumer="tests.notify")

    def rows(self, table, *where):
        with self.factory() as s:
            return [dict(r._mapping) for r in s.execute(select(table).where(*where))]


@pytest.fixture
def store(database_url):
    return Store(database_url)


@pytest.fixture
def ctx():
    return handlers.Context(campaign=CAMPAIGN, workdays=domain.WorkDays.of(CAMPAIGN),
                            clock=lambda: datetime(2026, 12, 2, 10, 0, tzinfo=domain.LOCAL))


KEY = Fernet(Fernet.generate_key())  # PARTNER_WEBHOOK_KEY, held by the gateway and notify
HOSTS = {"jw.example": ["93.184.216.34"], "zf.example": ["93.184.216.35"],
         "old.example": ["93.184.216.36"], "gone.example": ["93.184.216.37"],
         "intranet.example": ["10.0.0.5"]}


def unseal(token):
    try:
        return KEY.decrypt(token.encode()).decode()
    except InvalidToken:
        return None


def opener(allow_private=False):
    policy = WebhookPolicy(development=False, allow_private=allow_private,
                           resolve=lambda host: HOSTS[host])
    return functools.partial(domain.partner_webhook, unseal=unseal, check=policy.check)


def partner(store, account_id, channel, url, secret, at=T0, active=True, more=(), key=KEY,
            open_webhook=None):
    handlers.account_changed(store(), AccountChanged(
        account_id=account_id, username=f"partner-{account_id}", display_name=account_id,
        role="partner", active=active, occurred_at=at, partner=PartnerLink(
            channels=(channel, *more), webhook_url=url,
            webhook_secret_sealed=key.encrypt(signing_secret(secret).encode()).decode())),
        open_webhook or opener())


def step(name, to_state, *, requested_by="partner-jw", event_id="ev1", clue_id="c1", **data):
    return ProblemTransitioned(event_id=event_id, name=name, problem_id="p1", action=(
        "transfer_out" if name == "transferred" else name), from_state="dispatched",
        to_state=to_state, unit="org_sch_yanshan_high", actor="county",
        actor_role="county_office", history_seq=3, channel=DISCIPLINE, clue_id=clue_id,
        requested_by=requested_by, data=data)


def route(store, ctx, msg):
    return handlers.route(store(), handlers.occurrence_of(msg), ctx)


def webhooks(store):
    return {r["account_id"]: r for r in store.rows(orm.deliveries,
                                                   orm.deliveries.c.channel == "webhook")}


def test_the_directory_sets_a_partners_webhook_and_the_newest_entry_wins(store):
    partner(store, "jw", DISCIPLINE, "https://jw.example/hook", "a" * 200)
    partner(store, "jw", CONDUCT, "https://old.example/hook", "old-secret-0000000",
            at=T0 - timedelta(minutes=1))  # older: changes nothing
    [prefs] = store.rows(orm.preferences)
    assert prefs["webhook_url"] == "https://jw.example/hook"
    assert prefs["webhook_secret"] == signing_secret("a" * 200)  # long secrets fit
    assert store.rows(orm.partner_links)[0]["channels"] == [DISCIPLINE]
    partner(store, "jw", DISCIPLINE, None, "a" * 200, at=T0 + timedelta(minutes=1))
    assert store.rows(orm.preferences)[0]["webhook_url"] is None  # webhook taken away


def test_a_transfer_and_each_step_of_its_own_request_go_to_the_partners_webhook_only(
        store, ctx):
    partner(store, "jw", DISCIPLINE, "https://jw.example/hook", "jw-secret-0000000000")
    # zf may also use the discipline channel, but the request is jw's
    partner(store, "zf", CONDUCT, "https://zf.example/hook", "zf-secret-0000000000",
            more=(DISCIPLINE,))
    partner(store, "gone", DISCIPLINE, "https://gone.example/hook", "gone-secret-00000000",
            active=False)
    route(store, ctx, step("dispatched", "dispatched"))
    sent = webhooks(store)
    assert set(sent) == {"jw"}
    assert sent["jw"]["payload"]["data"]["service_request_id"] == "c1"
    assert sent["jw"]["payload"]["target"] == "https://jw.example/hook"
    shared = {"problem_id": "p1", "clue_id": "c1", "title": "t", "description": "d"}
    route(store, ctx, step("transferred", "closed", requested_by=None, event_id="ev2",
                           partner="partner-zf", to="zf", reason="r", shared=shared))
    to_zf = [r for r in store.rows(orm.deliveries, orm.deliveries.c.event_id == "ev2")
             if r["channel"] == "webhook"]
    assert [r["account_id"] for r in to_zf] == ["zf"]
    assert to_zf[0]["payload"]["data"] == {"transferred": shared}

    signed = []

    def webhook(row, secret):
        signed.append((row["account_id"], secret))
        return domain.Outcome(True)

    handlers.sweep(store, ctx, handlers.Senders(email=lambda row: domain.Outcome(True),
                                                webhook=webhook))
    assert sorted(signed) == [("jw", signing_secret("jw-secret-0000000000")),
                              ("zf", signing_secret("zf-secret-0000000000"))]


def test_two_partners_on_the_same_channel_each_hear_only_their_own_requests(store, ctx):
    # both were given the discipline channel first: the submitter decides, not the channel
    partner(store, "jw", DISCIPLINE, "https://jw.example/hook", "jw-secret-0000000000")
    partner(store, "zf", DISCIPLINE, "https://zf.example/hook", "zf-secret-0000000000")
    route(store, ctx, step("dispatched", "dispatched", requested_by="partner-jw",
                           event_id="ev-jw", clue_id="c-jw"))
    route(store, ctx, step("dispatched", "dispatched", requested_by="partner-zf",
                           event_id="ev-zf", clue_id="c-zf"))
    route(store, ctx, step("dispatched", "dispatched", requested_by=None,
                           event_id="ev-letter", clue_id="c-letter"))
    heard = {(r["account_id"], r["payload"]["data"]["service_request_id"])
             for r in store.rows(orm.deliveries, orm.deliveries.c.channel == "webhook")}
    assert heard == {("jw", "c-jw"), ("zf", "c-zf")}
    inbox = {(r["account_id"], r["event_id"]) for r in store.rows(
        orm.notices, orm.notices.c.account_id.in_(["jw", "zf"]))}
    assert inbox == {("jw", "ev-jw"), ("zf", "ev-zf")}


def test_notify_refuses_a_partners_webhook_in_a_private_range_unless_allowed(store):
    partner(store, "jw", DISCIPLINE, "https://intranet.example/hook", "jw-secret-0000000000")
    [prefs] = store.rows(orm.preferences)
    assert prefs["webhook_url"] is None and prefs["webhook_secret"] is None
    assert store.rows(orm.partner_links)[0]["channels"] == [DISCIPLINE]  # the rest is kept
    partner(store, "jw", DISCIPLINE, "https://intranet.example/hook", "jw-secret-0000000000",
            at=T0 + timedelta(minutes=1), open_webhook=opener(allow_private=True))
    assert store.rows(orm.preferences)[0]["webhook_url"] == "https://intranet.example/hook"


def test_a_secret_sealed_under_another_key_gives_no_webhook(store):
    partner(store, "jw", DISCIPLINE, "https://jw.example/hook", "jw-secret-0000000000",
            key=Fernet(Fernet.generate_key()))
    [prefs] = store.rows(orm.preferences)
    assert prefs["webhook_url"] is None and prefs["webhook_secret"] is None
