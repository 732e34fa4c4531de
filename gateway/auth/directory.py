"""The account directory (账号目录) the gateway publishes: who belongs to which organization, in
which role, with which contact; for a partner platform (协作平台) also its channels and
webhook (``PartnerLink``: notify delivers to it, signed with the partner's own secret). The
gateway owns accounts; other services (notify) keep their own projection from
``AccountChanged`` events.

``announce(conn_or_engine, account)`` writes the account's event to a small outbox in the
gateway's own store (in the caller's transaction when given a connection); ``DirectoryRelay``
publishes what is there, confirmed by the broker, and removes it. Every account changed in
the gateway (created, changed, deactivated, its principal head recorded) calls ``announce``;
at start the gateway announces every account once (``announce_all``), so a consumer that is
new, or was reset, catches up. Consumers keep the newest message per account, so repeats
and reordering are harmless.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone

from sqlalchemy import (
    JSON, BigInteger, Column, DateTime, Integer, MetaData, String, Table, delete, insert, select,
)
from sqlalchemy.engine import Connection, Engine

from contracts.events import AccountChanged, PartnerLink

log = logging.getLogger(__name__)

metadata = MetaData()

directory_outbox = Table(
    "directory_outbox", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("body", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


def create_schema(engine: Engine) -> None:
    metadata.create_all(engine)


def event_for(account, *, principal_head: str | None = None,
              email: str | None = None, partner: PartnerLink | None = None) -> AccountChanged:
    """The directory's message for an account (any object with the Account's fields);
    ``partner``: a partner platform's channels and webhook (``gateway.auth.partners``)."""
    role = getattr(account.role, "value", account.role)
    return AccountChanged(
        account_id=account.id, username=account.username, display_name=account.display_name,
        role=str(role), org_code=account.org_code, active=bool(account.active),
        email=email if email is not None else getattr(account, "email", None),
        principal_head=principal_head if principal_head is not None
        else getattr(account, "principal_head", None), partner=partner)


def announce(target: Connection | Engine, account, *, principal_head: str | None = None,
             email: str | None = None, partner: PartnerLink | None = None) -> None:
    """Queue the account's current state for the directory (call after every change)."""
    event = event_for(account, principal_head=principal_head, email=email, partner=partner)
    row = {"event_id": event.event_id, "body": event.to_message(),
           "created_at": datetime.now(timezone.utc)}
    if isinstance(target, Engine):
        with target.begin() as conn:
            conn.execute(insert(directory_outbox), row)
    else:
        target.execute(insert(directory_outbox), row)


def announce_all(store, partners: dict | None = None) -> int:
    """Announce every account of the store (at start); ``partners``: account id → its
    ``PartnerLink`` (``PartnerStore.links``)."""
    from gateway.auth.accounts import _account, accounts

    with store.engine.begin() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(accounts))]
        heads = {org: store._head_account_id(conn, org)
                 for org in {row["org_code"] for row in rows if row["org_code"]}}
        for row in rows:
            announce(conn, _account(row), principal_head=heads.get(row["org_code"]),
                     partner=(partners or {}).get(row["id"]))
    return len(rows)


def pending(engine: Engine, limit: int = 200) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(directory_outbox).order_by(directory_outbox.c.id).limit(limit))]


def remove(engine: Engine, ids: list[int]) -> None:
    with engine.begin() as conn:
        conn.execute(delete(directory_outbox).where(directory_outbox.c.id.in_(ids)))


class DirectoryRelay:
    """Publishes the directory outbox through the gateway's broker, once a second (and at
    once when woken). A message is removed only after the broker confirmed it."""

    def __init__(self, engine: Engine, broker, interval: float = 1.0):
        self.engine = engine
        self.broker = broker
        self.interval = interval
        self._task: asyncio.Task | None = None
        self._wake = asyncio.Event()

    def start(self) -> "DirectoryRelay":
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - stopping
                pass

    async def relay_once(self) -> int:
        rows = await asyncio.to_thread(pending, self.engine)
        done = []
        for row in rows:
            await self.broker.publish_event(AccountChanged.model_validate(row["body"]))
            done.append(row["id"])
        if done:
            await asyncio.to_thread(remove, self.engine, done)
        return len(done)

    async def _run(self) -> None:
        while True:
            try:
                moved = await self.relay_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - broker trouble: try again later
                log.warning("account directory relay: %s; retrying", exc)
                moved = 0
            if moved:
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), self.interval)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()
