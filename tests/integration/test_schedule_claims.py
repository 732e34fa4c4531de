"""Claiming (job, period) on a real store, SQLite and PostgreSQL: two claimers racing on the
same periods each run every period exactly once; a failed job gives its period back; the
sweeps read indexes."""
from __future__ import annotations

import threading
from datetime import date, datetime, time

import pytest
from sqlalchemy import func, select, text

from contracts.events import ReportCycleEvent
from kit.schedule import Job, ManualClock, Scheduler, WorkingDaily
from services.ledger.adapters import orm
from services.ledger.adapters.orm import CLOCK_RUNS, PROGRESS_CLOCK_RUNS, problems
from services.ledger.adapters.reports import SWEPT
from services.ledger.domain import LOCAL_TZ
from services.ledger.domain.workdays import LIBRARY
from services.ledger.handlers.schedule import CLAIMS
from tests.integration.test_ledger_store import ledger  # noqa: F401 (the fixture)

START = datetime(2017, 9, 25, 9, 0, tzinfo=LOCAL_TZ)


def daily(**kw) -> WorkingDaily:
    return WorkingDaily(calendar=LIBRARY, tz=LOCAL_TZ, at=time(8, 30), **kw)


def counting_job(name: str, ran: list, hold: threading.Event | None = None) -> Job:
    """Writes an outbox row per run (a fresh event id each time: a second run would show)."""
    def run(uow, period, now):
        ran.append(period)
        uow.emit(ReportCycleEvent(name="phase_started", what="test", period=period))
        if hold is not None:
            hold.wait(0.3)   # keep the claim uncommitted while the other claimer arrives
    return Job(name, daily(), run)


def outbox_periods(ledger) -> list[str]:
    with ledger() as uow:
        rows = uow.session.execute(select(orm.outbox_table.c.body)).scalars()
        return sorted(body["period"] for body in rows)


def test_two_claimers_racing_run_each_period_once(ledger):
    ran_a, ran_b = [], []
    clock = ManualClock(START)
    a = Scheduler([counting_job("race", ran_a, threading.Event())], ledger, CLAIMS, clock, "a")
    b = Scheduler([counting_job("race", ran_b, threading.Event())], ledger, CLAIMS, clock, "b")
    days = ["2017-09-25", "2017-09-26", "2017-09-27", "2017-09-28", "2017-09-29",
            "2017-09-30", "2017-10-09"]
    for day in days:
        clock.set(datetime.combine(date.fromisoformat(day), time(9), tzinfo=LOCAL_TZ))
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=lambda s=s: (barrier.wait(), s.tick()))
                   for s in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert sorted(ran_a + ran_b) == days
    assert outbox_periods(ledger) == days
    with ledger() as uow:
        assert CLAIMS.periods(uow.session, "race") == days
        owners = uow.session.execute(select(orm.schedule_claims.c.claimed_by, func.count())
                                     .group_by(orm.schedule_claims.c.claimed_by)).all()
    assert sum(n for _, n in owners) == len(days)


def test_a_claim_is_the_transactions_own_and_a_failed_job_runs_again(ledger):
    attempts = []

    def flaky(uow, period, now):
        attempts.append(period)
        uow.emit(ReportCycleEvent(name="phase_started", what="test", period=period))
        if len(attempts) == 1:
            raise RuntimeError("the database went away")

    scheduler = Scheduler([Job("flaky", daily(), flaky)], ledger, CLAIMS, ManualClock(START))
    with pytest.raises(RuntimeError):
        scheduler.tick()
    with ledger() as uow:
        assert CLAIMS.periods(uow.session, "flaky") == []
    assert outbox_periods(ledger) == []
    assert scheduler.tick() == [("flaky", "2017-09-25")]
    assert scheduler.tick() == []
    assert outbox_periods(ledger) == ["2017-09-25"]


def test_a_restart_after_days_down_catches_up_each_missed_day_once(ledger):
    ran = []
    first = Scheduler([counting_job("catch", ran)], ledger, CLAIMS, ManualClock(START), "p1")
    first.tick()
    # down from Tuesday 26 September to Tuesday 10 October (国庆 in between); a new process
    again = Scheduler([counting_job("catch", ran)], ledger, CLAIMS,
                      ManualClock(datetime(2017, 10, 10, 9, 5, tzinfo=LOCAL_TZ)), "p2")
    for _ in range(3):   # ticks every few seconds: the missed days run once, not per tick
        again.tick()
    assert ran == ["2017-09-25", "2017-09-26", "2017-09-27", "2017-09-28", "2017-09-29",
                   "2017-09-30", "2017-10-09", "2017-10-10"]


def test_the_sweeps_read_the_open_clock_indexes_not_the_whole_ledger(ledger):
    """The daily sweeps ask for date ranges of problems whose clock runs: each query is
    answered from an index (PostgreSQL with sequential scans off, as on a big ledger)."""
    day = date(2017, 10, 9)
    queries = {
        "due_soon": select(*SWEPT).where(CLOCK_RUNS, problems.c.due_on >= day,
                                         problems.c.due_on <= day),
        "overdue": select(*SWEPT).where(CLOCK_RUNS, problems.c.due_on < day),
        "stalled": select(*SWEPT).where(PROGRESS_CLOCK_RUNS,
                                        problems.c.last_progress_on <= day)}
    with ledger() as uow:
        engine = uow.session.get_bind()
        postgres = engine.dialect.name == "postgresql"
        if postgres:
            uow.session.execute(text("SET LOCAL enable_seqscan = off"))
        for name, query in queries.items():
            sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
            plan = " ".join(str(row[-1]) for row in uow.session.execute(
                text(("EXPLAIN " if postgres else "EXPLAIN QUERY PLAN ") + sql)))
            assert "ix_problems_" in plan, (name, plan)
