"""The gateway's account directory (gateway/auth/directory.py): every account created or
deactivated is announced; the relay publishes what is queued, confirmed, and only then
removes it; a start announces every account."""
from __future__ import annotations

import asyncio

from argon2 import PasswordHasher

from contracts.events import AccountChanged
from gateway.auth import directory
from gateway.auth.accounts import AccountStore
from kit.db import make_engine

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


class Broker:
    def __init__(self, fail=0):
        self.published: list[AccountChanged] = []
        self.fail = fail

    async def publish_event(self, event):
        if self.fail:
            self.fail -= 1
            raise ConnectionError("broker away")
        self.published.append(event)


def store(tmp_path) -> AccountStore:
    accounts = AccountStore(make_engine(f"sqlite:///{tmp_path / 'gw.db'}"), hasher=FAST)
    accounts.create_schema()
    return accounts


def test_creating_and_deactivating_an_account_announce_it(tmp_path):
    accounts = store(tmp_path)
    created = accounts.create("handler-a", "long enough password", "unit_handler",
                              "org_sch_yanshan_high", "承办人甲")
    accounts.deactivate("handler-a")
    queued = [AccountChanged.model_validate(r["body"])
              for r in directory.pending(accounts.engine)]
    assert [(m.account_id, m.role, m.org_code, m.active) for m in queued] == [
        (created.id, "unit_handler", "org_sch_yanshan_high", True),
        (created.id, "unit_handler", "org_sch_yanshan_high", False)]
    assert queued[0].occurred_at <= queued[1].occurred_at


def test_a_refused_account_announces_nothing(tmp_path):
    accounts = store(tmp_path)
    accounts.create("handler-a", "long enough password", "unit_handler", "org_x")
    try:
        accounts.create("handler-a", "long enough password", "unit_handler", "org_x")
    except ValueError:
        pass
    assert len(directory.pending(accounts.engine)) == 1


def test_the_relay_removes_only_what_the_broker_confirmed(tmp_path):
    accounts = store(tmp_path)
    accounts.create("handler-a", "long enough password", "unit_handler", "org_x")
    broker = Broker(fail=1)
    relay = directory.DirectoryRelay(accounts.engine, broker)

    async def go():
        try:
            await relay.relay_once()
        except ConnectionError:
            pass
        assert len(directory.pending(accounts.engine)) == 1  # kept for the next try
        assert await relay.relay_once() == 1
    asyncio.run(go())
    assert [m.username for m in broker.published] == ["handler-a"]
    assert directory.pending(accounts.engine) == []


def test_a_start_announces_every_account_with_an_optional_principal_head(tmp_path):
    accounts = store(tmp_path)
    a = accounts.create("handler-a", "long enough password", "unit_handler", "org_x")
    accounts.create("county", "long enough password", "county_office", "org_county_office")
    directory.remove(accounts.engine, [r["id"] for r in directory.pending(accounts.engine)])
    assert directory.announce_all(accounts) == 2
    assert len(directory.pending(accounts.engine)) == 2
    directory.announce(accounts.engine, a, principal_head="head-1", email="a@example.org")
    last = AccountChanged.model_validate(directory.pending(accounts.engine)[-1]["body"])
    assert (last.principal_head, last.email) == ("head-1", "a@example.org")


def test_recording_a_principal_head_tells_the_directory_whom_escalations_reach(tmp_path):
    accounts = store(tmp_path)
    head = accounts.create("head-a", "long enough password", "unit_handler",
                           "org_sch_yanshan_high", "校长")
    handler = accounts.create("handler-a", "long enough password", "unit_handler",
                              "org_sch_yanshan_high", "承办人甲")
    other = accounts.create("handler-b", "long enough password", "unit_handler", "org_x")
    directory.remove(accounts.engine, [r["id"] for r in directory.pending(accounts.engine)])

    accounts.set_principal_head("org_sch_yanshan_high", "王某", "校长", "head-a", "county-1")
    queued = [AccountChanged.model_validate(r["body"])
              for r in directory.pending(accounts.engine)]
    assert {m.account_id: m.principal_head for m in queued} == {
        head.id: head.id, handler.id: head.id}  # the other unit hears nothing

    accounts.deactivate("handler-a")  # later announcements keep naming the head
    assert AccountChanged.model_validate(
        directory.pending(accounts.engine)[-1]["body"]).principal_head == head.id
    directory.remove(accounts.engine, [r["id"] for r in directory.pending(accounts.engine)])
    directory.announce_all(accounts)
    everyone = {AccountChanged.model_validate(r["body"]).account_id:
                AccountChanged.model_validate(r["body"]).principal_head
                for r in directory.pending(accounts.engine)}
    assert everyone == {head.id: head.id, handler.id: head.id, other.id: None}
