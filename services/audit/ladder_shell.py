"""The ladder's nameko plumbing: the context (campaign and its working-day calendar), the
refusals as ``kit.errors``, the daily job and the ledger's hash chain (``append_record``).

The working-day calendar is the ledger's (``services.ledger.domain.workdays.WorkCalendar``:
the official calendar and the campaign's listed years), reused rather than copied."""
from __future__ import annotations

import logging
from datetime import date, time
from pathlib import Path
from typing import Callable, Protocol

from nameko.extensions import DependencyProvider

from contracts.campaign import load_campaign
from contracts.vocabulary import ChainRecord
from kit.schedule import Job, WorkingDaily
from services.audit import ladder_handlers as handlers
from services.ledger.domain.workdays import WorkCalendar

log = logging.getLogger(__name__)
SWEEP_JOB = "audit.ladder_sweep"


def context_of(campaign) -> handlers.Context:
    return handlers.Context(campaign=campaign, calendar=WorkCalendar.listing(campaign.calendar))


class LadderContext(DependencyProvider):
    """The campaign (loaded and validated once at start) and its calendar."""

    def setup(self):
        self.context = context_of(load_campaign(Path(self.container.config["CAMPAIGN_FILE"])))

    def get_dependency(self, worker_ctx):
        return self.context


def jobs(ctx: handlers.Context) -> list[Job]:
    """The daily sweep, on the campaign's working days at 08:30 China time."""
    daily = WorkingDaily(calendar=ctx.calendar, tz=handlers.LOCAL, at=time(8, 30),
                         start=ctx.campaign.campaign.start)
    return [Job(SWEEP_JOB, daily, lambda uow, period, now: handlers.sweep(
        uow, ctx, date.fromisoformat(period), now))]


class Chain(Protocol):
    """The ledger's hash chain: ``append_record(actor, kind, key, record)`` →
    ``{"seq", "hash", "kind", "key"}``, idempotent per (kind, key)."""

    def __call__(self, actor: dict, kind: str, key: str, record: dict) -> dict: ...


def write_chain(new_uow: Callable, append: Chain, limit: int = 50) -> int:
    """Write the chain entries of confirmed steps not yet chained; returns how many were
    written. A failure (the ledger away, or not offering ``append_record`` yet) leaves the
    rest for the next tick: the entry is idempotent per (kind, key), so a retry after a
    lost answer writes nothing twice."""
    written = 0
    for step_id, key, record in handlers.chain_pending(new_uow(), limit):
        actor = {"username": record["decided_by"], "role": "county_office", "org_code": None}
        try:
            answer = append(actor=actor, kind=ChainRecord.ACCOUNTABILITY_STEP.value, key=key,
                            record=record)
        except Exception as exc:  # noqa: BLE001 - retried on the next tick
            log.warning("chain entry %s not written yet (%s); retried later", key,
                        type(exc).__name__)
            return written
        handlers.chained(new_uow(), step_id, int(answer["seq"]), str(answer["hash"]))
        written += 1
    return written
