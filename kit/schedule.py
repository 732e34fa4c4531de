"""Scheduled work that survives restarts (定时催办): periods, a claim per (job, period), a clock.

Every process of a service ticks (nameko's ``timer`` fires in each one, and so does the loop
here), so a tick never acts on its own say-so: it first claims the (job, period) with a unique
row, ``INSERT … ON CONFLICT DO NOTHING`` (procrastinate's pattern), in the same transaction as
the job's effects and its outbox events. The process whose insert wrote the row does the work;
every other one finds the row taken and does nothing. A job that fails rolls its claim back,
so the period is tried again on the next tick. SQLite and PostgreSQL alike: a second claimer
waits for the first's transaction (SQLite's ``BEGIN IMMEDIATE``, PostgreSQL's unique index),
then sees the conflict.

Periods are strings that sort in time order (``2017-10-09``, ``2017-W40``). A schedule says
which periods are due at a moment; after a restart, the periods missed while down are caught
up once each, in order (from the last claimed one), never once per missed tick.

Time is injected: a ``Clock`` answers ``now()``; ``ManualClock`` lets a test run a month in
seconds, ``FileClock`` lets a test move the clock of a running process (development only).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Protocol

from sqlalchemy import Column, DateTime, MetaData, String, Table, func, select
from sqlalchemy.orm import Session

from kit.periods import WorkingDaily, Workdays, iso_week, week_bounds, weeks_between
from kit.store import insert_new

__all__ = ["Clock", "SystemClock", "ManualClock", "FileClock", "clock_from", "WorkingDaily",
           "Workdays", "iso_week", "week_bounds", "weeks_between", "add_schedule_claims",
           "Claims", "Job", "Scheduler", "ScheduleTimer", "schedule_timer", "ClockProvider"]

log = logging.getLogger(__name__)


# ── clocks ─────────────────────────────────────────────────────────────────────────────────
class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The real time (UTC, aware)."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class ManualClock:
    """A clock a test sets and moves."""

    def __init__(self, at: datetime):
        self.at = at

    def now(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at

    def advance(self, **delta) -> datetime:
        self.at += timedelta(**delta)
        return self.at


class FileClock:
    """The time written (ISO 8601, with its offset) in a file, else the real time: lets an
    end-to-end test move a running service's clock. Development only (``clock_from``)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def now(self) -> datetime:
        try:
            text = self.path.read_text().strip()
        except OSError:
            return datetime.now(timezone.utc)
        return datetime.fromisoformat(text) if text else datetime.now(timezone.utc)


def clock_from(config: dict) -> Clock:
    """``SCHEDULE_CLOCK_FILE`` (refused outside development), else the system's clock."""
    path = config.get("SCHEDULE_CLOCK_FILE")
    if not path:
        return SystemClock()
    if config.get("ENVIRONMENT", "development") != "development":
        raise RuntimeError("SCHEDULE_CLOCK_FILE moves the service's clock: development only")
    return FileClock(path)


# ── claims ─────────────────────────────────────────────────────────────────────────────────
def add_schedule_claims(metadata: MetaData) -> Table:
    """The claims table, added to a service's own metadata (and its migrations)."""
    return Table(
        "schedule_claims", metadata,
        Column("job", String(100), primary_key=True),
        Column("period", String(32), primary_key=True),
        Column("claimed_by", String(200), nullable=False),
        Column("claimed_at", DateTime(timezone=True), nullable=False),
    )


class Claims:
    """Claiming (job, period) rows in a service's store."""

    def __init__(self, table: Table):
        self.table = table
        self._claim = {dialect: insert_new(table, dialect).returning(table.c.period)
                       for dialect in ("postgresql", "sqlite")}

    def claim(self, session: Session, job: str, period: str, by: str, at: datetime) -> bool:
        """True if this transaction claimed the period (it acts), False if another did."""
        statement = self._claim[session.get_bind().dialect.name]
        row = session.execute(statement, {"job": job, "period": period, "claimed_by": by,
                                          "claimed_at": at}).first()
        return row is not None

    def last(self, session: Session, job: str) -> str | None:
        return session.execute(select(func.max(self.table.c.period))
                               .where(self.table.c.job == job)).scalar_one()

    def periods(self, session: Session, job: str) -> list[str]:
        return list(session.execute(select(self.table.c.period).where(self.table.c.job == job)
                                    .order_by(self.table.c.period)).scalars())


# ── jobs and the ticking ───────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class Job:
    """``run(uow, period, now)`` does the period's work inside the unit of work that claimed
    it (and does not commit: the tick commits claim and effects together)."""

    name: str
    schedule: WorkingDaily
    run: Callable


class Scheduler:
    """Ticks jobs: for each due period, one transaction claims it and, if the claim is this
    process's, runs the job and commits both. ``new_uow()`` gives units of work whose
    ``session`` is the service's store."""

    def __init__(self, jobs: list[Job], new_uow: Callable, claims: Claims, clock: Clock,
                 owner: str = "process"):
        self.jobs, self.new_uow, self.claims = jobs, new_uow, claims
        self.clock, self.owner = clock, owner

    def tick(self, now: datetime | None = None) -> list[tuple[str, str]]:
        """Run what is due at ``now`` (the clock's); returns the (job, period) this process ran."""
        now = now or self.clock.now()
        ran = []
        for job in self.jobs:
            with self.new_uow() as uow:
                since = self.claims.last(uow.session, job.name)
            for period in job.schedule.due(now, since):
                if self._run_once(job, period, now):
                    ran.append((job.name, period))
        return ran

    def _run_once(self, job: Job, period: str, now: datetime) -> bool:
        with self.new_uow() as uow:
            if not self.claims.claim(uow.session, job.name, period, self.owner, now):
                return False
            job.run(uow, period, now)
            uow.commit()
        log.info("scheduled job %s ran for %s", job.name, period)
        return True


# ── the nameko shell ───────────────────────────────────────────────────────────────────────
def _nameko():
    from nameko.extensions import DependencyProvider
    from nameko.timer import Timer
    return DependencyProvider, Timer


_DependencyProvider, _Timer = _nameko()


class ScheduleTimer(_Timer):
    """nameko's ``timer``, ticking every ``SCHEDULE_TICK_SECONDS`` of the service's config
    (default 30), eagerly at start so a restart catches up at once. It fires in every
    process: the claims make each period run once."""

    def __init__(self, **kwargs):
        super().__init__(interval=30.0, eager=True, **kwargs)

    def setup(self):
        self.interval = float(self.container.config.get("SCHEDULE_TICK_SECONDS", 30))
        super().setup()


schedule_timer = ScheduleTimer.decorator


class ClockProvider(_DependencyProvider):
    """Injects the service's ``Clock`` (``clock_from`` its config)."""

    def setup(self):
        self.clock = clock_from(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.clock
