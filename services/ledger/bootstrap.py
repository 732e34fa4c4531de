"""The ledger wired once: its store (units of work offering the ledger's repositories),
its campaign, and the unit-of-work factory that handlers are given.

The nameko shell (``service.py``) takes its dependencies from ``store()`` and
``campaign()``; a script, a benchmark or a test that calls the handlers directly takes
``bootstrap(...)`` (or ``unit_of_work_factory`` on a session factory it already has), so
everyone hands the handlers the same kind of unit of work. The unit tests hand them
``tests/fakes/ledger.FakeLedgerUnitOfWork`` instead."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from nameko.extensions import DependencyProvider
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from contracts.campaign import Campaign as CampaignConfig
from contracts.campaign import load_campaign
from kit.db import make_engine
from kit.nameko_ext import Store
from kit.settings import Settings
from kit.store import Inbox, Outbox
from services.ledger.adapters import orm
from services.ledger.adapters.signing import Signer, signing_key_from
from services.ledger.adapters.uow import LedgerUnitOfWork

NewUnitOfWork = Callable[[], LedgerUnitOfWork]


class Campaign(DependencyProvider):
    """The campaign configuration, loaded and validated once at start."""

    def setup(self):
        self.campaign = load_campaign(Path(self.container.config["CAMPAIGN_FILE"]))

    def get_dependency(self, worker_ctx):
        return self.campaign


class SigningKey(DependencyProvider):
    """Signs the chain's head as a checkpoint (``LEDGER_SIGNING_KEY``; refused unset or
    the development key outside development)."""

    def setup(self):
        config = self.container.config
        self.signer = Signer(signing_key_from(config.get("LEDGER_SIGNING_KEY"),
                                              config.get("ENVIRONMENT", "development")))

    def get_dependency(self, worker_ctx):
        return self.signer


def signer() -> SigningKey:
    return SigningKey()


def store() -> Store:
    """The service's store: its database, outbox relay, and ledger units of work."""
    return Store(orm.outbox_table, orm.inbox_table, unit_of_work=LedgerUnitOfWork)


def campaign() -> Campaign:
    return Campaign()


def unit_of_work_factory(session_factory: sessionmaker, on_commit=None,
                         consumer: str | None = None) -> NewUnitOfWork:
    """New ledger units of work on ``session_factory`` (one outbox and inbox for all)."""
    outbox, inbox = Outbox(orm.outbox_table), Inbox(orm.inbox_table)
    return lambda: LedgerUnitOfWork(session_factory, outbox, inbox, on_commit=on_commit,
                                    consumer=consumer)


@dataclass
class Ledger:
    """The ledger outside nameko: what its handlers need, wired."""

    engine: Engine
    campaign: CampaignConfig
    new_uow: NewUnitOfWork


def bootstrap(database_url: str | None = None, campaign_file: str | Path | None = None,
              *, engine: Engine | None = None) -> Ledger:
    """Wire the ledger from settings (or the URL, engine and campaign file given)."""
    settings = Settings()
    if engine is None:
        engine = make_engine(database_url or settings.database_url("ledger"))
    config = load_campaign(Path(campaign_file or settings.campaign_file))
    return Ledger(engine=engine, campaign=config, new_uow=unit_of_work_factory(
        sessionmaker(engine, expire_on_commit=False)))
